/* die.h - fatal errors that say which call failed and why.
 *
 * Every message names the failing call and errno's symbolic name, so a
 * student can look both up:  "shm_counter: shmget: EACCES (Permission denied)".
 * The program name comes first because several processes often share one
 * terminal.
 */
#ifndef IPCLAB_DIE_H
#define IPCLAB_DIE_H

#include <stdarg.h>

/* The name used at the start of every message; cli_parse() sets it from
 * argv[0].  Defaults to "ipclab". */
extern const char *program_name;

/* "EACCES" for EACCES; "E#123" for a number the C library cannot name. */
const char *errno_name(int errnum);

/* "SIGTERM" for SIGTERM, "SIGRTMIN+2" for a real-time signal, "signal 99"
 * for a number that names none.  The one signal-naming helper of ipclab. */
const char *signal_name(int sig);

/* Writes "<program>: <what>: <ENAME> (<strerror>)\n" to stderr, where <what>
 * is fmt formatted: one line, in one write() retried on EINTR and short
 * counts, cut (still ending in a newline) past 1023 bytes.  errno is left
 * as it was.  Returns nothing; the caller decides what happens next. */
void warn_errnum(int errnum, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Fatal forms: they print as warn_errnum() and exit(1), so exit handlers
 * (cleanup.h) still remove what the program created.
 *   die():        for calls that report failure through errno;
 *   die_errnum(): for calls that return the error number (pthread_*);
 *   fatal():      for failures that have no errno, e.g. a bad frame. */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die_errnum(int errnum, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
