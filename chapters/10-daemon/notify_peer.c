/* notify_peer.c - plays systemd's side of sd_notify: prints what a daemon reports.
 *
 * Lesson: Type=notify is a datagram protocol small enough to watch without
 * systemd.  This peer binds the Unix datagram socket systemd would make,
 * the daemon finds it in $NOTIFY_SOCKET and sends "READY=1",
 * "RELOADING=1", "STOPPING=1" datagrams.  With SO_PASSCRED the kernel
 * tells the peer which pid sent each one (systemd uses that for
 * NotifyAccess=main).  With --key, on READY=1 the peer looks at once for
 * the daemon's System V queue: "ready" must mean it exists.  (A look can
 * be late; the certain proof is the order of the datagrams: the daemon's
 * "STATUS=... created" comes before READY=1.)  Given a
 * COMMAND, it runs it with $NOTIFY_SOCKET set, as systemd runs ExecStart=.
 *
 * Run:  notify_peer --socket "$PWD/notify" --key key A -- \
 *           sh -c 'qdaemon --daemon --pid-file qd.pid --key key A &&
 *                  kill -HUP "$(cat qd.pid)" && qstop qd.pid' > /dev/null
 *
 * You should see one line per datagram, until STOPPING=1:
 *       listening on /home/you/notify
 *       from pid 4242: STATUS=System V queue 3 created
 *       from pid 4242: READY=1 MAINPID=4242 STATUS=serving System V queue 3 [queue of the key: exists]
 *       from pid 4242: RELOADING=1 MONOTONIC_USEC=123456789
 *       from pid 4242: READY=1 STATUS=serving (settings reread) [queue of the key: exists]
 *       from pid 4242: STOPPING=1 STATUS=stopping (SIGTERM)
 */
#define _GNU_SOURCE     /* struct ucred, SO_PASSCRED, SCM_CREDENTIALS: Linux */
#include "ipclab.h"
#include "common/keyopt.h"
#include "common/notify.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *address, *until = "STOPPING=1", *key_path;
static long timeout_ms = 10000;

static const struct cli_option options[] = {
    CLI_OPTION_STRING("socket", &address, "ADDR", "the socket to bind: a path, or @name (abstract)"),
    CLI_OPTION_STRING("key", &key_path, "PATH PROJ",
                      "on READY=1, check that the queue of ftok(PATH, PROJ) exists"),
    CLI_OPTION_STRING("until", &until, "LINE", "stop after a datagram holding this line"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "give up after MS without it"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Binds a Unix datagram socket as systemd does for Type=notify and prints\n"
               "every state a daemon sends to it ($NOTIFY_SOCKET).",
    .options = options,
    .operands = "[-- COMMAND [ARG]...]",
    .operands_min = 0,
    .operands_max = 64,
    .details = "--socket is required.  COMMAND runs with NOTIFY_SOCKET set.  Exit status\n"
               "0 once --until's line came (and COMMAND exited 0), 1 otherwise.",
};

/* Whether the datagram text holds line as one of its lines. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; p != NULL; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

/* Waits for COMMAND until the deadline (then stops it); 0 if it exited 0. */
static int reap(pid_t child, int handle, uint64_t deadline)
{
    const struct timespec pause = { 0, 5000000 };
    char how[64];
    int status;
    pid_t got;

    while ((got = waitpid(child, &status, WNOHANG)) == 0 || (got < 0 && errno == EINTR)) {
        if (got == 0 && monotonic_ns() >= deadline) {
            kill(child, SIGTERM);
            deadline = UINT64_MAX;
            continue;
        }
        nanosleep(&pause, NULL);
    }
    if (got < 0)
        die("waitpid");
    cleanup_forget(handle);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    wait_status_describe(status, how, sizeof how);
    fprintf(stderr, "%s: the command %s\n", program_name, how);
    return 1;
}

int main(int argc, char **argv)
{
    struct sockaddr_un addr;
    socklen_t len;
    key_t key = 0;
    int fd, on = 1, proj = 0;
    uint64_t deadline;

    pid_t child = 0;
    int child_handle = -1;

    argc = key_option_take(&cli, argc, argv);
    int first = cli_parse(&cli, argc, argv);
    if (address == NULL)
        usage_error("--socket ADDR is required");
    if (!notify_address(address, &addr, &len))
        usage_error("--socket: '%s' is neither an absolute path nor @name, or too long", address);
    if (key_path != NULL) {
        proj = key_option_proj(key_path);
        int err = ipc_key_from_path(key_path, proj, &key);
        if (err != 0)
            die_errnum(err, "ftok %s", key_path);
    }
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
        die("setsockopt SO_PASSCRED");
    /* A path is a file: removed at every exit.  An abstract name is not. */
    sigset_t saved;
    cleanup_block_signals(&saved);
    int rc = bind(fd, (struct sockaddr *)&addr, len);
    if (rc == 0 && address[0] == '/')
        cleanup_check(cleanup_add_path(address), "the socket");
    cleanup_unblock_signals(&saved);
    if (rc != 0)
        die("bind %s", address);
    printf("listening on %s\n", address);
    if (first < argc) {           /* the socket exists: now start the daemon */
        if (setenv("NOTIFY_SOCKET", address, 1) != 0)
            die("setenv");
        child = fork_child_or_die(&child_handle);
        if (child == 0) {
            execvp(argv[first], argv + first);
            fprintf(stderr, "%s: exec %s: %s\n", program_name, argv[first], strerror(errno));
            fflush(stderr);
            _exit(127);
        }
    }

    deadline = monotonic_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        char text[4096], control[CMSG_SPACE(sizeof(struct ucred))];
        struct iovec iov = { text, sizeof text - 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                              .msg_control = control, .msg_controllen = sizeof control };
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint64_t now = monotonic_ns();
        long pid = 0;
        ssize_t got;

        if (now >= deadline)
            break;
        rc = poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            die("poll");
        if (rc == 0)
            continue;
        got = recvmsg(fd, &msg, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            die("recvmsg");
        }
        text[got] = '\0';
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred cred;
                memcpy(&cred, CMSG_DATA(c), sizeof cred);
                pid = (long)cred.pid;
            }
        printf("from pid %ld: ", pid);
        for (ssize_t i = 0; i < got; i++)    /* one datagram, one line */
            putchar(text[i] == '\n' ? ' ' : text[i]);
        /* Looked at the moment READY=1 is read: the daemon has said it, so
         * the queue must already be there. */
        if (key_path != NULL && has_line(text, "READY=1"))
            printf(" [queue of the key: %s]", msgget(key, 0) >= 0 ? "exists" : "missing");
        putchar('\n');
        if (has_line(text, until))
            return child == 0 ? 0 : reap(child, child_handle, deadline);
    }
    fprintf(stderr, "%s: no %s within %ld ms\n", program_name, until, timeout_ms);
    if (child != 0)
        reap(child, child_handle, monotonic_ns());
    return 1;
}
