/* io.c - see io.h. */
#include "io.h"

#include "die.h"

#include <errno.h>
#include <unistd.h>

ssize_t read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    size_t done = 0;

    while (done < n) {
        ssize_t got = read(fd, p + done, n - done);
        if (got == 0)
            break;                 /* end-of-file: report what we have */
        if (got < 0) {
            if (errno == EINTR)
                continue;          /* a signal handler ran; nothing was lost */
            return -1;
        }
        done += (size_t)got;
    }
    return (ssize_t)done;
}

ssize_t write_full(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    size_t done = 0;

    while (done < n) {
        ssize_t put = write(fd, p + done, n - done);
        if (put < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t)put;
    }
    return (ssize_t)done;
}

size_t read_full_or_die(int fd, void *buf, size_t n)
{
    ssize_t got = read_full(fd, buf, n);

    if (got < 0)
        die("read");
    return (size_t)got;
}

void write_full_or_die(int fd, const void *buf, size_t n)
{
    if (write_full(fd, buf, n) < 0)
        die("write");
}
