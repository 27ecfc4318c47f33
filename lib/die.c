/* die.c - see die.h.  strerrorname_np() (glibc 2.32) and sigabbrev_np()
 * are GNU extensions. */
#define _GNU_SOURCE
#include "die.h"

#include "io.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *program_name = "ipclab";

const char *errno_name(int errnum)
{
    static _Thread_local char unknown[24];
    const char *name = strerrorname_np(errnum);

    if (name != NULL)
        return name;
    snprintf(unknown, sizeof unknown, "E#%d", errnum);
    return unknown;
}

const char *signal_name(int sig)
{
    static _Thread_local char buf[24];
    const char *abbrev;

    if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
        if (sig == SIGRTMIN)
            return "SIGRTMIN";
        snprintf(buf, sizeof buf, "SIGRTMIN+%d", sig - SIGRTMIN);
        return buf;
    }
    abbrev = sigabbrev_np(sig);
    if (abbrev == NULL) {
        snprintf(buf, sizeof buf, "signal %d", sig);
        return buf;
    }
    snprintf(buf, sizeof buf, "SIG%s", abbrev);
    return buf;
}

static void vreport(int errnum, const char *fmt, va_list ap)
{
    /* The whole line is formatted first and written with one write() (and
     * write_full's retries): one fprintf per piece would let another
     * process's output land in the middle of the line, and stdio gives up
     * on a write interrupted by a signal, losing the message. */
    char what[512], line[1024];
    int saved = errno, n;

    vsnprintf(what, sizeof what, fmt, ap);
    if (errnum != 0)
        n = snprintf(line, sizeof line, "%s: %s: %s (%s)\n", program_name, what,
                     errno_name(errnum), strerror(errnum));
    else
        n = snprintf(line, sizeof line, "%s: %s\n", program_name, what);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) {      /* cut: still one whole line */
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    fflush(stderr);                      /* anything the program put there first */
    write_full(STDERR_FILENO, line, (size_t)n);
    errno = saved;                       /* a warning changes nothing */
}

void warn_errnum(int errnum, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(errnum, fmt, ap);
    va_end(ap);
}

void die(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    vreport(saved, fmt, ap);
    va_end(ap);
    exit(EXIT_FAILURE);
}

void die_errnum(int errnum, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(errnum, fmt, ap);
    va_end(ap);
    exit(EXIT_FAILURE);
}

void fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(0, fmt, ap);
    va_end(ap);
    exit(EXIT_FAILURE);
}
