/* fifo.c - see fifo.h. */
#include "fifo.h"

#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* region: private-dir */
void private_dir_make(char *dir, size_t size, const char *what)
{
    const char *tmp = getenv("TMPDIR");
    int n;

    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    n = snprintf(dir, size, "%s/ipclab-%s-XXXXXX", tmp, what);
    if (n < 0 || (size_t)n >= size || (size_t)n >= FIFO_PATH_MAX)
        fatal("TMPDIR is too long: %s", tmp);
    if (mkdtemp(dir) == NULL)            /* mode 0700: ours alone */
        die("mkdtemp %s", dir);
    cleanup_check(cleanup_add_dir(dir), dir);
}

void fifo_make(char *path, size_t size, const char *dir, const char *name)
{
    int n = snprintf(path, size, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= size || (size_t)n >= FIFO_PATH_MAX)
        fatal("path too long: %s/%s", dir, name);
    if (mkfifo(path, 0600) != 0)
        die("mkfifo %s", path);
    cleanup_check(cleanup_add_path(path), path);
}
/* end region: private-dir */

static int wait_for(int fd, short events, long timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = events };
    int n;

    do
        n = poll(&pfd, 1, (int)timeout_ms);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno;
    return n == 0 ? ETIMEDOUT : 0;
}

int fifo_write_record(int fd, const void *record, size_t size, long timeout_ms)
{
    for (;;) {
        ssize_t n = write(fd, record, size);
        if (n == (ssize_t)size)
            return 0;
        if (n >= 0)
            return EPROTO;      /* a partial write: impossible for <= PIPE_BUF */
        if (errno != EAGAIN && errno != EINTR)
            return errno;
        if (errno == EAGAIN) {
            int err = wait_for(fd, POLLOUT, timeout_ms);
            if (err != 0)
                return err;
        }
    }
}

int fifo_read_record(int fd, void *record, size_t size, long timeout_ms)
{
    for (;;) {
        ssize_t n = read(fd, record, size);
        if (n == (ssize_t)size)
            return 0;
        if (n > 0)
            return EPROTO;
        if (n == 0 || errno == EAGAIN) {
            /* Nothing there yet (0: no writer has the FIFO open just now). */
            int err = wait_for(fd, POLLIN, timeout_ms);
            if (err != 0)
                return err;
            continue;
        }
        if (errno != EINTR)
            return errno;
    }
}

/* region: client */
int fifo_client_run(const char *label, const char *server_path, long requests,
                    long timeout_ms)
{
    char dir[PATH_MAX], reply_path[PATH_MAX];
    int to_server, from_server, keep_open, err, good = 0;

    /* 1. Our own FIFO for the replies, opened for reading before the server
     *    needs it.  Holding a write end of our own as well means a read
     *    never sees end-of-file when the server closes its end. */
    private_dir_make(dir, sizeof dir, "client");
    fifo_make(reply_path, sizeof reply_path, dir, "reply");
    from_server = open(reply_path, O_RDONLY | O_NONBLOCK);
    if (from_server < 0)
        die("open %s", reply_path);
    keep_open = open(reply_path, O_WRONLY);
    if (keep_open < 0)
        die("open %s", reply_path);

    /* 2. The server's FIFO.  O_NONBLOCK: fail at once (ENXIO) if no server
     *    has it open for reading, instead of blocking until one does. */
    to_server = open(server_path, O_WRONLY | O_NONBLOCK);
    if (to_server < 0 && errno == ENXIO)
        fatal("%s: no server is reading %s (ENXIO)", label, server_path);
    if (to_server < 0)
        die("open %s", server_path);

    for (long seq = 1; seq <= requests; seq++) {
        struct fifo_request req;
        struct fifo_reply reply;

        memset(&req, 0, sizeof req);
        req.client_pid = (int32_t)getpid();
        req.seq = (int32_t)seq;
        memcpy(req.reply_path, reply_path, strlen(reply_path) + 1);
        snprintf(req.text, sizeof req.text, "hello %ld from %ld", seq, (long)getpid());

        /* 3. One write() of the whole record: it cannot interleave. */
        err = fifo_write_record(to_server, &req, sizeof req, timeout_ms);
        if (err != 0)
            die_errnum(err, "%s: write %s", label, server_path);
        err = fifo_read_record(from_server, &reply, sizeof reply, timeout_ms);
        if (err == ETIMEDOUT)
            fatal("%s: no reply to request %ld within %ld ms", label, seq, timeout_ms);
        if (err != 0)
            die_errnum(err, "%s: read %s", label, reply_path);
        reply.text[sizeof reply.text - 1] = '\0';
        if (reply.seq == seq) {
            good++;
            printf("%s: reply to request %ld: %s\n", label, seq, reply.text);
        } else {
            printf("%s: reply for request %d, expected %ld\n", label, (int)reply.seq, seq);
        }
    }
    close(to_server);
    close(keep_open);
    close(from_server);
    return good;
}
/* end region: client */
