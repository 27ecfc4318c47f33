/* zh.c - see zh.h. */
#include "zh.h"

#include "ipclab.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

const char *const zh_transport_names[] = { "tcp", "ipc", "inproc", NULL };

static volatile sig_atomic_t stop_signal;
static int done_pipe[2] = { -1, -1 };
static char private_dir[PATH_MAX];

/* libzmq's own errno values lie above the system's (ZMQ_HAUSNUMERO):
 * errno_name() does not know them. */
static const char *zmq_errno_name(int err)
{
    switch (err) {
    case ETERM: return "ETERM";
    case EFSM: return "EFSM";
    case EMTHREAD: return "EMTHREAD";
    case ENOCOMPATPROTO: return "ENOCOMPATPROTO";
    default: return errno_name(err);
    }
}

_Noreturn void zh_die(const char *what)
{
    int err = errno;

    fatal("%s: %s (%s)", what, zmq_errno_name(err), zmq_strerror(err));
}

void *zh_context(void)
{
    void *ctx = zmq_ctx_new();

    if (ctx == NULL)
        zh_die("zmq_ctx_new");
    return ctx;
}

void zh_setint(void *sock, int option, int value, const char *name)
{
    if (zmq_setsockopt(sock, option, &value, sizeof value) != 0)
        zh_die(name);
}

void *zh_socket(void *ctx, int type)
{
    void *sock = zmq_socket(ctx, type);
    int64_t max = ZH_MAXMSGSIZE;

    if (sock == NULL)
        zh_die("zmq_socket");
    zh_setint(sock, ZMQ_LINGER, 0, "zmq_setsockopt ZMQ_LINGER");
    if (zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0)
        zh_die("zmq_setsockopt ZMQ_MAXMSGSIZE");
    return sock;
}

/* An ipc:// file is registered before the bind makes it, with the stop
 * signals blocked, so no signal finds it made and unregistered. */
static void bind_ipc_file(void *sock, const char *endpoint)
{
    sigset_t saved;
    int rc;

    cleanup_block_signals(&saved);
    cleanup_check(cleanup_add_path(endpoint + strlen("ipc://")), "the socket file");
    rc = zmq_bind(sock, endpoint);
    cleanup_unblock_signals(&saved);
    if (rc != 0)
        zh_die(endpoint);
}

/* region: bind */
void zh_bind(void *sock, int transport, const char *name, const char *endpoint,
             char *out, size_t size)
{
    char want[ZH_ENDPOINT_MAX];
    size_t len = size;

    if (endpoint != NULL) {
        if (snprintf(want, sizeof want, "%s", endpoint) >= (int)sizeof want)
            fatal("endpoint too long: %s", endpoint);
    } else if (transport == ZH_TCP) {
        snprintf(want, sizeof want, "tcp://127.0.0.1:*");
    } else if (transport == ZH_IPC) {
        if (private_dir[0] == '\0')
            ipc_private_dir_create_or_die(private_dir, sizeof private_dir, "zmq");
        if (snprintf(want, sizeof want, "ipc://%s/%s", private_dir, name) >= (int)sizeof want)
            fatal("ipc path too long in %s", private_dir);
    } else {
        snprintf(want, sizeof want, "inproc://%s", name);
    }
    if (strncmp(want, "ipc://", 6) == 0)
        bind_ipc_file(sock, want);
    else if (zmq_bind(sock, want) != 0)
        zh_die(want);
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, out, &len) != 0)
        zh_die("zmq_getsockopt ZMQ_LAST_ENDPOINT");
}
/* end region: bind */

void zh_connect(void *sock, const char *endpoint)
{
    if (zmq_connect(sock, endpoint) != 0)
        zh_die(endpoint);
}

void *zh_connected(void *ctx, int type, const char *endpoint, long timeout_ms)
{
    void *sock = zh_socket(ctx, type);

    zh_setint(sock, ZMQ_RCVTIMEO, (int)timeout_ms, "zmq_setsockopt ZMQ_RCVTIMEO");
    zh_connect(sock, endpoint);
    return sock;
}

/* region: stop */
static void on_stop(int sig)
{
    int saved = errno;

    stop_signal = sig;
    /* Wakes zh_done_wait() even if the signal came before its read(). */
    if (done_pipe[1] >= 0 && write(done_pipe[1], "s", 1) < 0) {
        /* full or closed: the flag is set anyway */
    }
    errno = saved;
}

void zh_stop_on_signals(void)
{
    static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;       /* no SA_RESTART: zmq calls return EINTR */
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], &sa, NULL) != 0)
            die("sigaction");
}

/* end region: stop */

bool zh_stopping(void)
{
    return stop_signal != 0;
}

int zh_stop_signal(void)
{
    return stop_signal;
}

void zh_thread(pthread_t *thread, void *(*fn)(void *), void *arg)
{
    sigset_t saved;
    int rc;

    cleanup_block_signals(&saved);    /* the new thread inherits the mask */
    rc = pthread_create(thread, NULL, fn, arg);
    cleanup_unblock_signals(&saved);
    if (rc != 0)
        die_errnum(rc, "pthread_create");
}

void zh_done_init(void)
{
    if (pipe(done_pipe) != 0)
        die("pipe");
}

void zh_done_signal(void)
{
    write_full_or_die(done_pipe[1], "d", 1);
}

bool zh_done_wait(int n)
{
    char byte;

    while (n > 0 && !zh_stopping()) {
        ssize_t got = read(done_pipe[0], &byte, 1);

        if (got == 1 && byte == 'd')
            n--;
        else if (got < 0 && errno != EINTR)
            die("read");
    }
    return !zh_stopping();
}

int zh_send(void *sock, const char *text, bool more)
{
    return zmq_send(sock, text, strlen(text), more ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
}

long zh_recv(void *sock, char *buf, size_t size, bool *more)
{
    int rc = zmq_recv(sock, buf, size - 1, 0);
    int flag = 0;
    size_t len = sizeof flag;

    if (rc < 0)
        return -1;
    buf[(size_t)rc < size - 1 ? (size_t)rc : size - 1] = '\0';
    if (more != NULL) {
        if (zmq_getsockopt(sock, ZMQ_RCVMORE, &flag, &len) != 0)
            return -1;
        *more = flag != 0;
    }
    return rc;
}

int zh_drain(void *sock)
{
    int flag = 1, dropped = 0;
    size_t len = sizeof flag;
    char scrap[16];

    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &flag, &len) == 0 && flag) {
        if (zmq_recv(sock, scrap, sizeof scrap, 0) < 0)
            break;
        dropped++;
        len = sizeof flag;
    }
    return dropped;
}

void zh_exit_if_stopped(void)
{
    int sig = stop_signal;

    if (sig == 0)
        return;
    cleanup_run();
    signal(sig, SIG_DFL);
    raise(sig);
}
