/* config.h - the daemon's settings file, read at start and again on SIGHUP.
 *
 * The format: one setting a line, `name = value`; blank lines and lines
 * whose first non-blank character is '#' are ignored.  Nothing else is
 * accepted: an unknown name, a name given twice, a value out of range or a
 * line without '=' refuses the whole file, naming the line.  A daemon that
 * guessed would run with settings nobody wrote.  The settings:
 *
 *   log-level = info | debug     debug: one log line per request served
 *   reply-delay-ms = 0..1000     a pause before each reply (slow work)
 *   max-request-bytes = 16..1040 the largest request body (header 16 + data)
 *   max-file-bytes = 0..1073741824  the largest file checksum reads
 *
 * A setting the file leaves out keeps the value it had at start (from the
 * command line, or the default): reloading a file never keeps a value that
 * is no longer written anywhere.
 */
#ifndef DAEMON10_CONFIG_H
#define DAEMON10_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum { LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

struct serve_config {
    int log_level;
    long reply_delay_ms;
    long max_request_bytes;
    long max_file_bytes;
};

#define CONFIG_FILE_MAX 65536   /* bytes: a settings file is small */
#define CONFIG_LINE_MAX 256

/* The settings from base, with what the file at path sets.  Returns true,
 * or false with one line saying why in why ("line 3: unknown setting
 * 'colour'"); *out is then untouched. */
bool config_read(const char *path, const struct serve_config *base,
                 struct serve_config *out, char *why, size_t why_size);

/* "log-level=info reply-delay-ms=0 max-request-bytes=1040 max-file-bytes=N" */
void config_format(const struct serve_config *c, char *buf, size_t size);

#endif
