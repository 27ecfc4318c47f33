/* channels.c - see channels.h. */
#include "channels.h"

#include "cleanup.h"
#include "die.h"
#include "dlog.h"
#include "io.h"
#include "ipc_names.h"
#include "proto.h"
#include "serve.h"
#include "setup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* region: control */
int control_listen_or_die(char *path, size_t size)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    char dir[PATH_MAX];
    sigset_t saved;
    int fd, rc;

    /* 0700: only our user can even reach the socket inside; the socket's
     * own mode is not checked by every system, the directory's is. */
    ipc_private_dir_create_or_die(dir, sizeof dir, "qdaemon");
    if ((size_t)snprintf(path, size, "%s/control", dir) >= size ||
        strlen(path) >= sizeof addr.sun_path)
        fatal("the control socket path %s/control is too long", dir);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    cleanup_block_signals(&saved);
    rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
    if (rc == 0)
        cleanup_check(cleanup_add_path(path), "the control socket");
    cleanup_unblock_signals(&saved);
    if (rc != 0)
        die("bind %s", path);
    if (listen(fd, 8) != 0)
        die("listen");
    return fd;
}
/* end region: control */

void control_answer(const char *line, char *reply, size_t size, bool *stop)
{
    char counts[256];

    *stop = false;
    if (strcmp(line, "status") == 0) {
        counters_format(counts, sizeof counts);
        snprintf(reply, size, "%s pid %ld: %s\n",
                 atomic_load(&stopping) ? "stopping" : "running", (long)getpid(), counts);
    } else if (strcmp(line, "reload") == 0) {
        char summary[1024];
        bool ok = daemon_reload("control socket: reload", summary, sizeof summary);
        snprintf(reply, size, "%s: %s\n", ok ? "reloaded" : "reload refused", summary);
    } else if (strcmp(line, "stop") == 0) {
        snprintf(reply, size, "stopping pid %ld\n", (long)getpid());
        *stop = true;
    } else {
        snprintf(reply, size, "unknown command '%.*s' (status, reload, stop)\n", CONTROL_LINE_MAX, line);
    }
}

bool control_serve(int conn)
{
    /* A client that connects and says nothing must not hold the loop up
     * for long: 200 ms to send its line. */
    struct timeval limit = { 0, 200000 };
    char line[CONTROL_LINE_MAX + 1], reply[1200];
    size_t used = 0;
    bool stop = false;

    int flags = fcntl(conn, F_GETFL);
    if (flags >= 0)
        fcntl(conn, F_SETFL, flags & ~O_NONBLOCK);
    setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    while (used < CONTROL_LINE_MAX) {
        ssize_t got = read(conn, line + used, CONTROL_LINE_MAX - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        used += (size_t)got;
        if (memchr(line, '\n', used) != NULL)
            break;
    }
    line[used] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    control_answer(line, reply, sizeof reply, &stop);
    write_full(conn, reply, strlen(reply));
    close(conn);
    dlog("control: '%s'", line);
    return stop;
}

bool control_accept_all(int listen_fd)
{
    bool stop = false;
    int conn;

    while ((conn = accept(listen_fd, NULL, NULL)) >= 0 || errno == EINTR)
        if (conn >= 0 && control_serve(conn))
            stop = true;
    return stop;
}

/* region: mq */
mqd_t request_mq_open_or_die(char *name, size_t size)
{
    struct mq_attr attr = { .mq_maxmsg = 10, .mq_msgsize = sizeof(struct req_body) };
    sigset_t saved;
    mqd_t mq;

    ipc_name_make_or_die(name, size, "qdaemon");
    cleanup_block_signals(&saved);
    mq = mq_open(name, O_RDONLY | O_CREAT | O_EXCL | O_NONBLOCK | O_CLOEXEC, 0600, &attr);
    if (mq != (mqd_t)-1)
        cleanup_check(cleanup_add_posix_mq(name), "the POSIX queue");
    cleanup_unblock_signals(&saved);
    if (mq == (mqd_t)-1)
        die("mq_open %s", name);
    return mq;
}
/* end region: mq */

void request_mq_drain(mqd_t mq)
{
    struct req_body body;
    ssize_t got;

    /* Non-blocking: take what is there; EAGAIN means empty. */
    while ((got = mq_receive(mq, (char *)&body, sizeof body, NULL)) >= 0 ||
           errno == EINTR)
        if (got >= 0)
            serve_request(&body, (size_t)got, "posix");
    if (errno != EAGAIN)
        dlog("mq_receive: %s", strerror(errno));
}
