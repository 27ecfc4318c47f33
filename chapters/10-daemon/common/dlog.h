/* dlog.h - the daemon's log: one timestamped line per event, reopened on SIGHUP.
 *
 * A daemon has no terminal: what it did must go to a file (--log) or, in
 * the foreground, to stderr, where a service manager collects it.  Each
 * line is written with one write() on an O_APPEND descriptor, so lines from
 * two threads never mix.  Log rotation works by renaming the file and
 * sending SIGHUP: the daemon keeps writing into the renamed file until it
 * reopens the path, which then makes a new file.
 */
#ifndef DAEMON10_DLOG_H
#define DAEMON10_DLOG_H

/* path NULL: log to stderr.  Dies if the file cannot be opened. */
void dlog_open(const char *path);

/* Opens the path again (after a rename).  Returns 0 or an errno value; on
 * failure the old descriptor stays in use. */
int dlog_reopen(void);

/* The descriptor in use (for a daemon's stderr). */
int dlog_fd(void);

void dlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
