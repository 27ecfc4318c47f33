/* raw_roundtrip.c - the floor under zmq_roundtrip: the same round trips over a bare Unix or TCP socket.
 *
 * Lesson: ZeroMQ's ipc:// is a Unix stream socket and tcp:// a TCP
 * connection; what it adds (framing, its I/O thread, the hand-off between
 * that thread and yours) is what a round trip costs beyond this program,
 * which writes a fixed-size request on the socket and reads the echo back
 * with write_full()/read_full(), to an echo thread of its own.
 *
 * Run:  raw_roundtrip --transport unix --count 10000
 *
 * You should see exactly one line, in zmq_roundtrip's format:
 *       raw_roundtrip: 10000 round trips over unix: 12.3 us median, 30.1 us p99, 70000 per second
 */
#include "ipclab.h"
#include "stats.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int transport = 0;
static const char *const transports[] = { "unix", "tcp", NULL };
static long count = 10000, size = 100;

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("transport", &transport, transports, "KIND", "a Unix stream socket or TCP on 127.0.0.1"),
    CLI_OPTION_LONG("count", &count, 1, 1000000, "N", "round trips to time"),
    CLI_OPTION_LONG("size", &size, 1, 65536, "BYTES", "bytes of each request and reply"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Times N round trips to an echo thread over a bare Unix or TCP socket, in\n"
               "zmq_roundtrip's one-line format.",
    .options = options,
};

static void *echo_main(void *arg)
{
    int fd = *(int *)arg;
    unsigned char *buf = malloc((size_t)size);

    if (buf == NULL)
        die("malloc");
    while (read_full(fd, buf, (size_t)size) == (ssize_t)size && write_full(fd, buf, (size_t)size) >= 0)
        ;
    free(buf);
    close(fd);
    return NULL;
}

/* A listening socket, and a client connected to it; *server gets the
 * accepted end. */
static int connect_pair(int *server)
{
    int lfd, cfd, one = 1;

    if (transport == 0) {
        char dir[PATH_MAX];
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        sigset_t saved;

        ipc_private_dir_create_or_die(dir, sizeof dir, "raw");
        if (snprintf(sun.sun_path, sizeof sun.sun_path, "%s/echo", dir) >= (int)sizeof sun.sun_path)
            fatal("socket path too long in %s", dir);
        if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
            die("socket");
        cleanup_block_signals(&saved);
        cleanup_check(cleanup_add_path(sun.sun_path), "the socket file");
        if (bind(lfd, (struct sockaddr *)&sun, sizeof sun) != 0)
            die("bind %s", sun.sun_path);
        cleanup_unblock_signals(&saved);
        if (listen(lfd, 1) != 0 || (cfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
            die("listen");
        if (connect(cfd, (struct sockaddr *)&sun, sizeof sun) != 0)
            die("connect");
    } else {
        struct sockaddr_in sin = { .sin_family = AF_INET };
        socklen_t len = sizeof sin;

        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
            die("socket");
        if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) != 0 ||   /* port 0: the system picks */
            getsockname(lfd, (struct sockaddr *)&sin, &len) != 0 || listen(lfd, 1) != 0)
            die("bind");
        if ((cfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
            connect(cfd, (struct sockaddr *)&sin, sizeof sin) != 0)
            die("connect");
        /* As ZeroMQ does: no Nagle delay on small messages. */
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if ((*server = accept(lfd, NULL, NULL)) < 0)
        die("accept");
    if (transport == 1)
        setsockopt(*server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    close(lfd);
    return cfd;
}

int main(int argc, char **argv)
{
    int fd, server;
    pthread_t echo;
    uint64_t *ns, start;
    unsigned char *buf;
    double secs;
    sigset_t saved;
    int rc;

    cli_parse(&cli, argc, argv);
    ns = malloc((size_t)count * sizeof *ns);
    buf = calloc(1, (size_t)size);
    if (ns == NULL || buf == NULL)
        die("malloc");
    fd = connect_pair(&server);
    cleanup_block_signals(&saved);        /* the stop signals go to main */
    rc = pthread_create(&echo, NULL, echo_main, &server);
    cleanup_unblock_signals(&saved);
    if (rc != 0)
        die_errnum(rc, "pthread_create");
    start = monotonic_ns();
    for (long i = 0; i < count; i++) {
        uint64_t t0 = monotonic_ns();

        write_full_or_die(fd, buf, (size_t)size);
        if (read_full_or_die(fd, buf, (size_t)size) != (size_t)size)
            fatal("the echo thread closed its end");
        ns[i] = monotonic_ns() - t0;
    }
    secs = (double)(monotonic_ns() - start) / 1e9;
    close(fd);                            /* the echo thread reads end-of-file */
    pthread_join(echo, NULL);
    stats_print_round_trips(transports[transport], ns, (size_t)count, secs);
    free(ns);
    free(buf);
    return 0;
}
