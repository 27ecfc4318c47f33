/* pass_fd.c - the parent accepts a connection and passes the descriptor to a worker that serves it.
 *
 * Lesson: a descriptor can travel between processes.  sendmsg() with an
 * SCM_RIGHTS control message over a Unix-domain socket gives the receiver a
 * new descriptor (usually with a different number) for the same open
 * connection, as if it had been dup()ed across processes.  The parent can
 * then close its own copy: the connection stays open in the worker.  This
 * is how a server hands connections to workers that were started before the
 * connections existed.
 *
 * Run:  pass_fd
 *       pass_fd --clients 5
 *       pass_fd --clients 3 --mute 2 --vanish 3   # clients that misbehave
 *
 * You should see, for each client: the parent accepting it, the worker
 * receiving the descriptor under another number and seeing the client's pid
 * as its peer, and the client getting its answer from the worker's pid:
 *       parent (pid 100): accepted client 1 as descriptor 5; passing it on, closing it
 *       worker (pid 101): client 1 arrived as descriptor 4; its peer is pid 102
 *       client (pid 102): client 1 got "HELLO FROM CLIENT 1, served by pid 101", then end-of-file
 * A client that sends nothing gets "(no request: end-of-file), served by ...".
 */
#define _GNU_SOURCE   /* Linux: struct ucred for SO_PEERCRED, MSG_CMSG_CLOEXEC */
#include "ipclab.h"
#include "common/uds.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long clients = 2, delay_ms = 0, timeout_ms = 2000, mute = 0, vanish = 0;

/* region: send-fd */
/* Sends the descriptor fd, with the client number as the one data item a
 * stream socket needs to carry the control message. */
static void send_fd(int channel, int fd, int client)
{
    union {                          /* aligned room for one cmsghdr + int */
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = &client, .iov_len = sizeof client };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof control.buf,
    };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

    memset(&control, 0, sizeof control);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    while (sendmsg(channel, &msg, 0) < 0)
        if (errno != EINTR)
            die("sendmsg SCM_RIGHTS");
}
/* end region: send-fd */

/* region: recv-fd */
/* Receives a descriptor and its client number.  Returns the descriptor, or
 * -1 at end-of-file (the parent closed the channel). */
static int recv_fd(int channel, int *client)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = client, .iov_len = sizeof *client };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof control.buf,
    };
    struct cmsghdr *cmsg;
    ssize_t got;
    int fd;

    while ((got = recvmsg(channel, &msg, MSG_CMSG_CLOEXEC)) < 0)
        if (errno != EINTR)
            die("recvmsg");
    if (got == 0)
        return -1;
    cmsg = CMSG_FIRSTHDR(&msg);
    if (got != sizeof *client || cmsg == NULL || cmsg->cmsg_level != SOL_SOCKET ||
        cmsg->cmsg_type != SCM_RIGHTS || (msg.msg_flags & MSG_CTRUNC))
        fatal("worker: a message without a descriptor");
    memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
    return fd;
}
/* end region: recv-fd */

/* region: worker */
static _Noreturn void worker(int channel)
{
    int client, fd;

    /* A client that closed at once must not kill the worker: write() then
     * fails with EPIPE instead of raising SIGPIPE. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die("worker: signal SIGPIPE");

    while ((fd = recv_fd(channel, &client)) >= 0) {
        struct line_reader reader;
        struct ucred peer;
        socklen_t len = sizeof peer;
        char line[LINE_MAX_BYTES], answer[LINE_MAX_BYTES + 64];
        ssize_t n;
        int alen;

        /* Proof that this is the client's connection: the kernel names the
         * process at the other end. */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0)
            die("worker: getsockopt SO_PEERCRED");
        printf("worker (pid %ld): client %d arrived as descriptor %d; its peer is pid %ld\n",
               (long)getpid(), client, fd, (long)peer.pid);
        line_reader_init(&reader, fd);
        n = line_read(&reader, line, sizeof line, timeout_ms);
        if (n >= 0) {
            for (ssize_t i = 0; i < n; i++)
                line[i] = (char)toupper((unsigned char)line[i]);
            alen = snprintf(answer, sizeof answer, "%s, served by pid %ld\n", line, (long)getpid());
        } else {
            /* No line: say why, never format the buffer (it holds nothing). */
            alen = snprintf(answer, sizeof answer, "(no request: %s), served by pid %ld\n",
                            n == -2 ? "end-of-file" : errno_name(errno), (long)getpid());
        }
        if (write_full(fd, answer, (size_t)alen) < 0)
            warn_errnum(errno, "worker: write to client %d", client);
        close(fd);
    }
    exit(0);
}
/* end region: worker */

static void pause_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/* After the answer, the end of the stream: it comes only once the worker
 * and the parent have both closed their copies of the connection. */
static void expect_eof(struct line_reader *reader, int i)
{
    char more[LINE_MAX_BYTES];
    ssize_t got = line_read(reader, more, sizeof more, timeout_ms);

    if (got >= 0)
        fatal("client %d: an unexpected second line \"%s\"", i, more);
    if (got == -1 && errno == ETIMEDOUT)
        fatal("client %d: no end-of-file within %ld ms: a copy of the connection is still open",
              i, timeout_ms);
    if (got == -1)
        die("client %d: read", i);
}

/* The clients: one process that connects --clients times, one after the
 * other.  Client --mute sends nothing (it shuts down its writing half at
 * once); client --vanish closes its connection at once. */
static _Noreturn void client_process(const char *path)
{
    for (int i = 1; i <= clients; i++) {
        struct line_reader reader;
        char request[64], answer[LINE_MAX_BYTES];
        int fd, len;

        pause_ms(delay_ms);
        fd = uds_connect(path);
        if (fd < 0)
            die("client %d: connect %s", i, path);
        if (i == vanish) {
            close(fd);
            printf("client (pid %ld): client %d closed its connection at once\n", (long)getpid(), i);
            continue;
        }
        if (i == mute) {
            if (shutdown(fd, SHUT_WR) != 0)
                die("client %d: shutdown", i);
        } else {
            len = snprintf(request, sizeof request, "hello from client %d\n", i);
            write_full_or_die(fd, request, (size_t)len);
        }
        line_reader_init(&reader, fd);
        if (line_read(&reader, answer, sizeof answer, timeout_ms) < 0)
            fatal("client %d: no answer within %ld ms", i, timeout_ms);
        expect_eof(&reader, i);
        printf("client (pid %ld): client %d got \"%s\", then end-of-file\n", (long)getpid(), i, answer);
        close(fd);
    }
    exit(0);
}

static void reap(pid_t pid, int handle, const char *who)
{
    int status;

    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    cleanup_forget(handle);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char how[64];
        wait_status_describe(status, how, sizeof how);
        fatal("the %s %s", who, how);
    }
}

static const struct cli_option options[] = {
    CLI_OPTION_LONG("clients", &clients, 1, 1000, "N", "connections, one after another"),
    CLI_OPTION_LONG("delay-ms", &delay_ms, 0, 10000, "MS", "pause before each connection"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "longest wait for a connection or an answer"),
    CLI_OPTION_LONG("mute", &mute, 0, 1000, "K", "client K sends nothing (0: none)"),
    CLI_OPTION_LONG("vanish", &vanish, 0, 1000, "K", "client K closes its connection at once (0: none)"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "A parent accepts connections on a Unix-domain socket and passes\n"
               "each descriptor (SCM_RIGHTS) to a worker process that serves it.",
    .options = options,
};

int main(int argc, char **argv)
{
    struct uds_place place;
    int channel[2], listener, worker_handle, client_handle;
    pid_t worker_pid, client_pid;

    cli_parse(&cli, argc, argv);
    if (clients * (delay_ms + 2 * timeout_ms) > 600000)
        usage_error("--clients %ld with --delay-ms %ld and --timeout-ms %ld could take over 10 minutes",
                    clients, delay_ms, timeout_ms);

    uds_place_make(&place, "pass.sock");
    listener = uds_listen_or_die(place.path, 16, NULL);
    printf("parent (pid %ld): listening on %s\n", (long)getpid(), place.path);

    /* region: start */
    /* The channel that carries descriptors to the worker: any Unix-domain
     * socket can, a socketpair is the simplest. */
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, channel) != 0)
        die("socketpair");
    worker_pid = fork_child_or_die(&worker_handle);
    if (worker_pid == 0) {
        close(listener);           /* the worker never accepts by itself */
        close(channel[0]);
        worker(channel[1]);
    }
    close(channel[1]);
    /* end region: start */

    client_pid = fork_child_or_die(&client_handle);
    if (client_pid == 0) {
        close(listener);
        close(channel[0]);
        client_process(place.path);
    }

    /* region: accept */
    for (int i = 1; i <= clients; i++) {
        int ready = wait_readable(listener, timeout_ms + delay_ms);
        int fd;

        if (ready < 0)
            die("poll");
        if (ready == 0)
            fatal("no connection within %ld ms", timeout_ms + delay_ms);
        while ((fd = accept(listener, NULL, NULL)) < 0)
            if (errno != EINTR)
                die("accept");
        printf("parent (pid %ld): accepted client %d as descriptor %d; passing it on, closing it\n",
               (long)getpid(), i, fd);
        send_fd(channel[0], fd, i);
        close(fd);                 /* the worker's copy keeps the connection open */
    }
    close(channel[0]);             /* end-of-file: the worker stops */
    /* end region: accept */

    reap(client_pid, client_handle, "client");
    reap(worker_pid, worker_handle, "worker");
    return 0;                      /* exit removes the socket file and its directory */
}
