/* uds.c - see uds.h. */
#include "uds.h"

#include "ipclab.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

_Static_assert(sizeof ((struct sockaddr_un *)0)->sun_path == UDS_PATH_MAX,
               "UDS_PATH_MAX must match sun_path");

void uds_place_make(struct uds_place *place, const char *name)
{
    int n;

    /* $TMPDIR/ipclab-uds-XXXXXX, mode 0700 (ours alone), registered. */
    ipc_private_dir_create_or_die(place->dir, sizeof place->dir, "uds");
    n = snprintf(place->path, sizeof place->path, "%s/%s", place->dir, name);
    if (n < 0 || (size_t)n >= sizeof place->path)
        die_errnum(ENAMETOOLONG, "socket path %s/%s (sun_path holds %d bytes)",
                   place->dir, name, UDS_PATH_MAX - 1);
}

static struct sockaddr_un address_of(const char *path)
{
    struct sockaddr_un addr;

    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        addr.sun_family = AF_UNSPEC;
        return addr;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    return addr;
}

int uds_listen_or_die(const char *path, int backlog, int *handle)
{
    struct sockaddr_un addr = address_of(path);
    sigset_t saved;
    int fd, h = -1, err = 0;

    if (addr.sun_family != AF_UNIX)
        die("socket path %s", path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    /* bind() makes the file: it and its registration are one step for the
     * stop signals, or a SIGTERM in between would leave the file. */
    cleanup_block_signals(&saved);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        err = errno;
    else
        h = cleanup_check(cleanup_add_path(path), path);
    cleanup_unblock_signals(&saved);
    if (err != 0)
        die_errnum(err, "bind %s", path);
    /* The file's mode came from the umask (world-writable under umask 000); set it.
     * Connecting needs write permission on the file. */
    if (chmod(path, 0600) != 0)
        die("chmod %s", path);
    if (handle != NULL)
        *handle = h;
    if (listen(fd, backlog) != 0)
        die("listen");
    return fd;
}

int uds_connect(const char *path)
{
    struct sockaddr_un addr = address_of(path);
    int fd, saved;

    if (addr.sun_family != AF_UNIX)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    while (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        if (errno == EINTR)
            continue;
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int wait_readable(int fd, long timeout_ms)
{
    uint64_t deadline = monotonic_ns() + (uint64_t)timeout_ms * 1000000u;

    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint64_t now = monotonic_ns();
        int left = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
        int ready = poll(&p, 1, left);

        if (ready >= 0 || errno != EINTR)
            return ready > 0 ? 1 : ready;
    }
}

void line_reader_init(struct line_reader *r, int fd)
{
    r->fd = fd;
    r->len = 0;
}

ssize_t line_take(struct line_reader *r, char *out, size_t size)
{
    char *nl = memchr(r->buf, '\n', r->len);
    size_t len, copy;

    if (nl == NULL)
        return -1;
    len = (size_t)(nl - r->buf);
    copy = len < size - 1 ? len : size - 1;
    memcpy(out, r->buf, copy);
    out[copy] = '\0';
    r->len -= len + 1;
    memmove(r->buf, nl + 1, r->len);
    return (ssize_t)copy;
}

ssize_t line_fill(struct line_reader *r)
{
    ssize_t got;

    if (r->len == sizeof r->buf) {
        errno = ENOBUFS;             /* a line longer than the buffer */
        return -1;
    }
    do
        got = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
    while (got < 0 && errno == EINTR);
    if (got > 0)
        r->len += (size_t)got;
    return got;
}

ssize_t line_read(struct line_reader *r, char *out, size_t size, long timeout_ms)
{
    for (;;) {
        ssize_t len = line_take(r, out, size);
        int ready;

        if (len >= 0)
            return len;
        ready = wait_readable(r->fd, timeout_ms);
        if (ready < 0)
            return -1;
        if (ready == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        len = line_fill(r);
        if (len < 0)
            return -1;
        if (len == 0)
            return -2;
    }
}
