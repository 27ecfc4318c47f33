/* config.c - see config.h. */
#include "config.h"

#include "parse.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* region: settings */
static const struct setting {
    const char *name;
    long min, max;              /* for the numbers */
    size_t offset;
} settings[] = {
    { "log-level", 0, 0, offsetof(struct serve_config, log_level) },
    { "reply-delay-ms", 0, 1000, offsetof(struct serve_config, reply_delay_ms) },
    { "max-request-bytes", (long)REQ_HEADER, (long)sizeof(struct req_body),
      offsetof(struct serve_config, max_request_bytes) },
    { "max-file-bytes", 0, 1L << 30, offsetof(struct serve_config, max_file_bytes) },
};
#define NSETTINGS (sizeof settings / sizeof settings[0])
/* end region: settings */

static bool refuse(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool refuse(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return false;
}

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

/* Reads the whole file (a regular file, at most CONFIG_FILE_MAX bytes). */
static bool slurp(const char *path, char *text, char *why, size_t why_size)
{
    struct stat st;
    size_t used = 0;
    ssize_t got;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0)
        return refuse(why, why_size, "cannot open it: %s", strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size >= CONFIG_FILE_MAX) {
        close(fd);
        return refuse(why, why_size, "%s", S_ISREG(st.st_mode) ? "larger than 64 KiB"
                                                               : "not a regular file");
    }
    while (used < CONFIG_FILE_MAX - 1 &&
           ((got = read(fd, text + used, CONFIG_FILE_MAX - 1 - used)) > 0 ||
            (got < 0 && errno == EINTR)))
        if (got > 0)
            used += (size_t)got;
    close(fd);
    if (got < 0)
        return refuse(why, why_size, "read: %s", strerror(errno));
    if (memchr(text, '\0', used) != NULL)
        return refuse(why, why_size, "it holds a NUL byte: not a text file");
    text[used] = '\0';
    return true;
}

/* region: parse */
bool config_read(const char *path, const struct serve_config *base,
                 struct serve_config *out, char *why, size_t why_size)
{
    static char text[CONFIG_FILE_MAX];    /* called by one thread at a time */
    struct serve_config c = *base;
    bool seen[NSETTINGS] = { false };
    char *line, *next;
    int number = 0;

    if (!slurp(path, text, why, why_size))
        return false;
    for (line = text; line != NULL; line = next) {
        char *eq, *name, *value;
        size_t i;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        number++;
        if (strlen(line) > CONFIG_LINE_MAX)
            return refuse(why, why_size, "line %d: longer than %d characters", number,
                          CONFIG_LINE_MAX);
        line = trim(line);
        if (line[0] == '\0' || line[0] == '#')
            continue;
        eq = strchr(line, '=');
        if (eq == NULL)
            return refuse(why, why_size, "line %d: '%s' is not 'name = value'", number, line);
        *eq = '\0';
        name = trim(line);
        value = trim(eq + 1);
        for (i = 0; i < NSETTINGS && strcmp(settings[i].name, name) != 0; i++)
            ;
        if (i == NSETTINGS)
            return refuse(why, why_size, "line %d: unknown setting '%s' (log-level, "
                          "reply-delay-ms, max-request-bytes, max-file-bytes)", number, name);
        if (seen[i])
            return refuse(why, why_size, "line %d: %s is set twice", number, name);
        seen[i] = true;
        if (strcmp(name, "log-level") == 0) {
            if (strcmp(value, "info") == 0)
                c.log_level = LOG_LEVEL_INFO;
            else if (strcmp(value, "debug") == 0)
                c.log_level = LOG_LEVEL_DEBUG;
            else
                return refuse(why, why_size, "line %d: log-level: '%s' is neither info nor debug",
                              number, value);
        } else {
            long v;
            if (parse_long(value, settings[i].min, settings[i].max, &v) != 0)
                return refuse(why, why_size, "line %d: %s: '%s' is not a whole number from %ld to %ld",
                              number, name, value, settings[i].min, settings[i].max);
            *(long *)((char *)&c + settings[i].offset) = v;
        }
    }
    *out = c;
    return true;
}
/* end region: parse */

void config_format(const struct serve_config *c, char *buf, size_t size)
{
    snprintf(buf, size, "log-level=%s reply-delay-ms=%ld max-request-bytes=%ld max-file-bytes=%ld",
             c->log_level == LOG_LEVEL_DEBUG ? "debug" : "info", c->reply_delay_ms,
             c->max_request_bytes, c->max_file_bytes);
}
