/* mech_fd.c - the mechanisms that are file descriptors: pipe, FIFO,
 * socketpair (stream, seqpacket), Unix-domain stream and datagram sockets,
 * TCP over loopback.
 *
 * Two layouts.  One-way pairs (pipe, FIFO): fd[0]/fd[1] carry driver ->
 * echo (read end, write end), fd[2]/fd[3] echo -> driver.  Sockets are
 * two-way: fd[0] is the echo side's, fd[1] the driver's.  Everything that
 * needs a rendezvous (bind, listen, opening a FIFO) happens in the parent
 * before the fork, so neither side can race the other at start-up; a
 * stream server accepts on its first receive.
 */
#include "bench.h"

#include "ipclab.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

extern char bench_dir[PATH_MAX];

/* --- one-way pairs: pipe and FIFO ---------------------------------------- */

static void pipe_create(struct mctx *c)
{
    if (pipe(c->fd) != 0 || pipe(c->fd + 2) != 0)
        die("pipe");
}

/* Opening a FIFO blocks until the other end is open, unless the read end
 * is opened O_NONBLOCK first: then both opens return at once. */
static void fifo_open_pair(const char *path, int *rd, int *wr)
{
    *rd = open(path, O_RDONLY | O_NONBLOCK);
    if (*rd < 0)
        die("open %s", path);
    *wr = open(path, O_WRONLY);
    if (*wr < 0)
        die("open %s", path);
    if (fcntl(*rd, F_SETFL, 0) != 0)    /* back to blocking reads */
        die("fcntl");
}

static void fifo_create(struct mctx *c)
{
    sigset_t saved;

    for (int i = 0; i < 2; i++) {
        int n = snprintf(c->path[i], sizeof c->path[i], "%s/fifo%d", bench_dir, i);
        if (n < 0 || (size_t)n >= sizeof c->path[i])
            fatal("the FIFO path is too long");
        cleanup_block_signals(&saved);
        if (mkfifo(c->path[i], 0600) == 0)
            c->handle[i] = cleanup_check(cleanup_add_path(c->path[i]), "the FIFO");
        cleanup_unblock_signals(&saved);
        if (c->handle[i] < 0)
            die("mkfifo %s", c->path[i]);
    }
    fifo_open_pair(c->path[0], &c->fd[0], &c->fd[1]);
    fifo_open_pair(c->path[1], &c->fd[2], &c->fd[3]);
}

static void oneway_open(struct mctx *c, enum side s)
{
    close_fd(&c->fd[s == ECHO ? 1 : 0]);
    close_fd(&c->fd[s == ECHO ? 2 : 3]);
}

static void oneway_send(struct mctx *c, enum side s, const void *buf, size_t n)
{
    write_full_or_die(c->fd[s == ECHO ? 3 : 1], buf, n);
}

static void oneway_recv(struct mctx *c, enum side s, void *buf, size_t n)
{
    if (read_full_or_die(c->fd[s == ECHO ? 0 : 2], buf, n) != n)
        fatal("the other side closed the channel");
}

static void fds_close(struct mctx *c, enum side s)
{
    (void)s;
    close_all_fds(c);
}

/* --- two-way sockets -------------------------------------------------------- */

static void sp_stream_create(struct mctx *c)
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, c->fd) != 0)
        die("socketpair");
}

static void sp_seqpacket_create(struct mctx *c)
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, c->fd) != 0)
        die("socketpair");
}

static int my_sock(struct mctx *c, enum side s)
{
    if (s == ECHO && c->fd[0] < 0) {    /* a stream server: accept now */
        do
            c->fd[0] = accept(c->listen_fd, NULL, NULL);
        while (c->fd[0] < 0 && errno == EINTR);
        if (c->fd[0] < 0)
            die("accept");
        close_fd(&c->listen_fd);
        if (c->port > 0 && setsockopt(c->fd[0], IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int)) != 0)
            die("setsockopt TCP_NODELAY");
    }
    return c->fd[s == ECHO ? 0 : 1];
}

static void sock_open(struct mctx *c, enum side s)
{
    close_fd(&c->fd[s == ECHO ? 1 : 0]);
}

static void stream_send(struct mctx *c, enum side s, const void *buf, size_t n)
{
    write_full_or_die(my_sock(c, s), buf, n);
}

static void stream_recv(struct mctx *c, enum side s, void *buf, size_t n)
{
    if (read_full_or_die(my_sock(c, s), buf, n) != n)
        fatal("the other side closed the connection");
}

/* Datagrams and sequenced packets: one call moves one whole message. */
static void dgram_send(struct mctx *c, enum side s, const void *buf, size_t n)
{
    ssize_t r;

    do
        r = send(my_sock(c, s), buf, n, 0);
    while (r < 0 && errno == EINTR);
    if (r != (ssize_t)n)
        die("send");
}

static void dgram_recv(struct mctx *c, enum side s, void *buf, size_t n)
{
    ssize_t r;

    do
        r = recv(my_sock(c, s), buf, n, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        die("recv");
    if (r != (ssize_t)n)
        fatal("a message of %zd bytes, expected %zu", r, n);
}

/* --- named sockets: Unix stream and datagram, TCP --------------------------- */

static void unix_addr(struct sockaddr_un *a, struct mctx *c, int i, const char *leaf)
{
    int n = snprintf(c->path[i], sizeof c->path[i], "%s/%s", bench_dir, leaf);

    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (n < 0 || (size_t)n >= sizeof a->sun_path)
        fatal("the socket path %s is too long for sun_path", c->path[i]);
    memcpy(a->sun_path, c->path[i], (size_t)n + 1);
}

/* A socket bound to path[i], registered for removal in the same breath. */
static int unix_bound(struct mctx *c, int i, int type, const char *leaf, struct sockaddr_un *a)
{
    sigset_t saved;
    int fd = socket(AF_UNIX, type, 0), r;

    if (fd < 0)
        die("socket");
    unix_addr(a, c, i, leaf);
    cleanup_block_signals(&saved);
    r = bind(fd, (struct sockaddr *)a, sizeof *a);
    if (r == 0)
        c->handle[i] = cleanup_check(cleanup_add_path(c->path[i]), "the socket file");
    cleanup_unblock_signals(&saved);
    if (r != 0)
        die("bind %s", c->path[i]);
    return fd;
}

static void unix_stream_create(struct mctx *c)
{
    struct sockaddr_un a;

    c->listen_fd = unix_bound(c, 0, SOCK_STREAM, "stream.sock", &a);
    if (listen(c->listen_fd, 1) != 0)
        die("listen");
}

static void unix_dgram_create(struct mctx *c)
{
    struct sockaddr_un a[2];

    c->fd[0] = unix_bound(c, 0, SOCK_DGRAM, "echo.sock", &a[0]);
    c->fd[1] = unix_bound(c, 1, SOCK_DGRAM, "driver.sock", &a[1]);
    if (connect(c->fd[0], (struct sockaddr *)&a[1], sizeof a[1]) != 0 ||
        connect(c->fd[1], (struct sockaddr *)&a[0], sizeof a[0]) != 0)
        die("connect");
}

static void tcp_create(struct mctx *c)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    socklen_t len = sizeof a;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->listen_fd < 0)
        die("socket");
    if (bind(c->listen_fd, (struct sockaddr *)&a, sizeof a) != 0)      /* port 0: any free one */
        die("bind 127.0.0.1");
    if (listen(c->listen_fd, 1) != 0)
        die("listen");
    if (getsockname(c->listen_fd, (struct sockaddr *)&a, &len) != 0)
        die("getsockname");
    c->port = ntohs(a.sin_port);
}

/* The driver connects; the connection waits in the backlog until the echo
 * side's first receive accepts it. */
static void client_open(struct mctx *c, enum side s)
{
    if (s == ECHO)
        return;
    close_fd(&c->listen_fd);
    if (c->port > 0) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)c->port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        c->fd[1] = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd[1] < 0 || connect(c->fd[1], (struct sockaddr *)&a, sizeof a) != 0)
            die("connect 127.0.0.1:%d", c->port);
        if (setsockopt(c->fd[1], IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int)) != 0)
            die("setsockopt TCP_NODELAY");     /* no waiting to batch small writes */
    } else {
        struct sockaddr_un a;
        unix_addr(&a, c, 0, "stream.sock");
        c->fd[1] = socket(AF_UNIX, SOCK_STREAM, 0);
        if (c->fd[1] < 0 || connect(c->fd[1], (struct sockaddr *)&a, sizeof a) != 0)
            die("connect %s", c->path[0]);
    }
}

/* region: bare */
/* The references: k round trips of the bare calls, nothing else. */
void bare_write_read(int wfd, int rfd, enum side s, long k)
{
    unsigned char b[LAT_SIZE] = { 1 };  /* never 0: an eventfd must be woken */

    if (s == DRIVER)
        for (long i = 0; i < k; i++) {
            bare_check(write(wfd, b, sizeof b), sizeof b, "write");
            bare_check(read(rfd, b, sizeof b), sizeof b, "read");
        }
    else
        for (long i = 0; i < k; i++) {
            bare_check(read(rfd, b, sizeof b), sizeof b, "read");
            bare_check(write(wfd, b, sizeof b), sizeof b, "write");
        }
}

static void oneway_bare(struct mctx *c, enum side s, long k)
{
    if (s == DRIVER)
        bare_write_read(c->fd[1], c->fd[2], s, k);
    else
        bare_write_read(c->fd[3], c->fd[0], s, k);
}

static void stream_bare(struct mctx *c, enum side s, long k)
{
    int fd = my_sock(c, s);

    bare_write_read(fd, fd, s, k);
}

static void dgram_bare(struct mctx *c, enum side s, long k)
{
    unsigned char b[LAT_SIZE] = { 1 };
    int fd = my_sock(c, s);

    if (s == DRIVER)
        for (long i = 0; i < k; i++) {
            bare_check(send(fd, b, sizeof b, 0), sizeof b, "send");
            bare_check(recv(fd, b, sizeof b, 0), sizeof b, "recv");
        }
    else
        for (long i = 0; i < k; i++) {
            bare_check(recv(fd, b, sizeof b, 0), sizeof b, "recv");
            bare_check(send(fd, b, sizeof b, 0), sizeof b, "send");
        }
}
/* end region: bare */

#define FD_OPS(cr, op, se, re, ba) cr, op, se, re, fds_close, NULL, ba

const struct mech mech_pipe = { "pipe", "two pipes", 0, true, false,
    FD_OPS(pipe_create, oneway_open, oneway_send, oneway_recv, oneway_bare) };
const struct mech mech_fifo = { "fifo", "two FIFOs", 0, true, false,
    FD_OPS(fifo_create, oneway_open, oneway_send, oneway_recv, oneway_bare) };
const struct mech mech_sp_stream = { "socketpair-stream", "socketpair SOCK_STREAM", 0, true, false,
    FD_OPS(sp_stream_create, sock_open, stream_send, stream_recv, stream_bare) };
const struct mech mech_sp_seqpacket = { "socketpair-seqpacket", "socketpair SOCK_SEQPACKET",
    65536, true, false, FD_OPS(sp_seqpacket_create, sock_open, dgram_send, dgram_recv, dgram_bare) };
const struct mech mech_unix_stream = { "unix-stream", "Unix socket, stream", 0, true, false,
    FD_OPS(unix_stream_create, client_open, stream_send, stream_recv, stream_bare) };
const struct mech mech_unix_dgram = { "unix-dgram", "Unix socket, datagrams", 65536, true, false,
    FD_OPS(unix_dgram_create, sock_open, dgram_send, dgram_recv, dgram_bare) };
const struct mech mech_tcp = { "tcp", "TCP over loopback", 0, true, false,
    FD_OPS(tcp_create, client_open, stream_send, stream_recv, stream_bare) };
