/* dlog.c - see dlog.h. */
#include "dlog.h"

#include "die.h"
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *log_path;
static int log_fd = 2;

static int open_log(const char *path)
{
    /* 0600 like every object here: logs can hold paths and client pids. */
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

void dlog_open(const char *path)
{
    log_path = path;
    if (path != NULL) {
        log_fd = open_log(path);
        if (log_fd < 0)
            die("open %s", path);
    }
}

/* region: reopen */
int dlog_reopen(void)
{
    int fd, old;

    if (log_path == NULL)
        return 0;               /* stderr: nothing to reopen */
    fd = open_log(log_path);
    if (fd < 0)
        return errno;
    pthread_mutex_lock(&lock);
    old = log_fd;
    log_fd = fd;                /* lines from now on go to the new file */
    pthread_mutex_unlock(&lock);
    close(old);
    return 0;
}
/* end region: reopen */

int dlog_fd(void)
{
    return log_fd;
}

void dlog(const char *fmt, ...)
{
    char line[1536];
    struct timespec now;
    struct tm tm;
    size_t n;
    int len;
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    len = snprintf(line + n, sizeof line - n, ".%03ldZ %s[%ld]: ",
                   now.tv_nsec / 1000000, program_name, (long)getpid());
    n += len > 0 ? (size_t)len : 0;
    va_start(ap, fmt);
    len = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    n += len > 0 ? (size_t)len : 0;
    if (n > sizeof line - 2)
        n = sizeof line - 2;      /* cut short, but still one line */
    line[n++] = '\n';
    pthread_mutex_lock(&lock);
    (void)write_full(log_fd, line, n);   /* under the lock: lines never interleave */
    pthread_mutex_unlock(&lock);
}
