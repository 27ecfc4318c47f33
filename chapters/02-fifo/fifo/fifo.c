/* fifo.c - see fifo.h. */
#include "fifo.h"

#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

/* region: make-fifo */
void fifo_make(char *path, size_t size, const char *dir, const char *name)
{
    sigset_t saved;
    int n = snprintf(path, size, "%s/%s", dir, name), rc, err;

    if (n < 0 || (size_t)n >= size || (size_t)n >= FIFO_PATH_MAX)
        fatal("path too long: %s/%s", dir, name);
    /* Create and register with the stop signals held back: a SIGTERM that
     * comes in between is delivered at the unblock, and the cleanup it runs
     * knows the FIFO by then. */
    cleanup_block_signals(&saved);
    rc = mkfifo(path, 0600);
    err = errno;
    if (rc == 0 && cleanup_add_path(path) < 0) {
        err = errno;
        unlink(path);
        rc = -1;
    }
    cleanup_unblock_signals(&saved);
    if (rc != 0)
        die_errnum(err, "mkfifo %s", path);
}
/* end region: make-fifo */

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

static const char *file_kind(mode_t mode)
{
    if (S_ISREG(mode))  return "a regular file";
    if (S_ISDIR(mode))  return "a directory";
    if (S_ISCHR(mode))  return "a character device";
    if (S_ISBLK(mode))  return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a FIFO";
}

/* region: open-writer */
int fifo_open_writer(const char *path, const char **what)
{
    struct stat st;
    int fd;

    /* O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO) instead of
     * blocking us until someone opens it.  O_NOFOLLOW: no symbolic link.
     * No O_CREAT, no O_TRUNC: opening a file that is not a FIFO changes
     * nothing in it, and we close it again before writing a byte. */
    fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    if (!S_ISFIFO(st.st_mode)) {
        close(fd);
        if (what != NULL)
            *what = file_kind(st.st_mode);
        errno = EINVAL;
        return -1;
    }
    return fd;
}
/* end region: open-writer */

/* Opens the server's FIFO, or dies saying why not. */
static int open_server(const char *label, const char *server_path)
{
    const char *what = NULL;
    int fd = fifo_open_writer(server_path, &what);

    if (fd < 0 && errno == ENXIO)
        fatal("%s: no server is reading %s (ENXIO)", label, server_path);
    if (fd < 0 && what != NULL)
        fatal("%s: %s is %s, not a FIFO: nothing written to it", label, server_path, what);
    if (fd < 0)
        die("open %s", server_path);
    return fd;
}

static void request_fill(struct fifo_request *req, long seq, const char *reply_path)
{
    memset(req, 0, sizeof *req);
    req->client_pid = (int32_t)getpid();
    req->seq = (int32_t)seq;
    snprintf(req->reply_path, sizeof req->reply_path, "%s", reply_path);
    snprintf(req->text, sizeof req->text, "hello %ld from %ld", seq, (long)getpid());
}

void fifo_client_forge(const char *label, const char *server_path, const char *reply_path,
                       long timeout_ms)
{
    struct fifo_request req;
    int to_server = open_server(label, server_path), err;

    if (strlen(reply_path) >= sizeof req.reply_path)
        fatal("%s: reply path too long: %s", label, reply_path);
    request_fill(&req, 1, reply_path);
    err = fifo_write_record(to_server, &req, sizeof req, timeout_ms);
    if (err != 0)
        die_errnum(err, "%s: write %s", label, server_path);
    printf("%s: sent request 1 naming %s as its reply FIFO; not waiting for a reply\n",
           label, reply_path);
    close(to_server);
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
    ipc_private_dir_create_or_die(dir, sizeof dir, FIFO_CLIENT_DIR);
    fifo_make(reply_path, sizeof reply_path, dir, FIFO_REPLY_NAME);
    from_server = open(reply_path, O_RDONLY | O_NONBLOCK);
    if (from_server < 0)
        die("open %s", reply_path);
    keep_open = open(reply_path, O_WRONLY);
    if (keep_open < 0)
        die("open %s", reply_path);

    /* 2. The server's FIFO.  O_NONBLOCK: fail at once (ENXIO) if no server
     *    has it open for reading, instead of blocking until one does; and
     *    refuse a path that is not a FIFO at all. */
    to_server = open_server(label, server_path);

    for (long seq = 1; seq <= requests; seq++) {
        struct fifo_request req;
        struct fifo_reply reply;

        request_fill(&req, seq, reply_path);

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
