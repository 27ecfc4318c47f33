/* qdaemon.c - a daemon that serves a System V queue and is run by signals.
 *
 * Lesson: what a long-running Unix service needs beyond its loop: it starts
 * in the foreground (what a service manager wants) or detaches (--daemon)
 * and reports ready only when it is; a locked pid file keeps a second
 * instance out and recognises a stale one; SIGTERM and SIGINT drain and
 * remove everything, SIGHUP reopens the log, SIGUSR1 logs the counters.
 * The System V queue cannot be polled, so a thread waits on it; everything
 * that can be polled (signals, a control socket, a POSIX queue) is served
 * by one libev event loop.
 *
 * Run:  touch key && qdaemon --pid-file qd.pid --log qd.log --daemon key A
 *       qclient --count 3 key A
 *       kill -TERM "$(cat qd.pid)"
 *
 * You should see the daemon's ready line, printed by the process you
 * started once the daemon is ready:
 *       ready: pid 4242, System V queue 3 (key 0x4101abcd), control socket
 *       /tmp/ipclab-qdaemon-Xy12Ab/control, POSIX queue /ipclab-qdaemon-...
 * then the client's replies, and in qd.log a timestamped line per event.
 */
#include "ipclab.h"
#include "common/channels.h"
#include "common/daemonize.h"
#include "common/dlog.h"
#include "common/pidfile.h"
#include "common/proto.h"
#include "common/receiver.h"
#include "common/serve.h"

#include <errno.h>
#include <ev.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

static bool daemon_mode = false, foreground = false;
static const char *pid_path, *log_path;
static long max_file_bytes = 16L << 20;

static const struct cli_option options[] = {
    CLI_OPTION_FLAG("foreground", &foreground, "stay in the foreground (the default)"),
    CLI_OPTION_FLAG("daemon", &daemon_mode, "detach: fork, setsid, fork; exit once the daemon is ready"),
    CLI_OPTION_STRING("pid-file", &pid_path, "PATH", "lock PATH and write the pid into it"),
    CLI_OPTION_STRING("log", &log_path, "PATH", "log to PATH (default: stderr)"),
    CLI_OPTION_LONG("max-file-bytes", &max_file_bytes, 0, 1L << 30, "N",
                    "the largest file a checksum request may read"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Serves echo, checksum and counter requests on the System V queue of key\n"
               "ftok(PATH, PROJ) and on a POSIX queue; controlled by signals and a\n"
               "control socket (status, stop).",
    .options = options,
    .operands = "PATH PROJ",
    .operands_min = 2,
    .operands_max = 2,
    .details = "PROJ is a number from 1 to 255 or one character, as PHP's ftok() takes it.\n"
               "Signals: TERM, INT drain and stop; HUP reopens the log; USR1 logs the counters.",
};

/* An absolute form of path: --daemon changes to "/" before using it. */
static const char *absolute(const char *path)
{
    static char bufs[3][PATH_MAX];
    static int next;
    char cwd[PATH_MAX], *buf = bufs[next++ % 3];

    if (path == NULL || path[0] == '/')
        return path;
    if (getcwd(cwd, sizeof cwd) == NULL)
        die("getcwd");
    if ((size_t)snprintf(buf, PATH_MAX, "%s/%s", cwd, path) >= PATH_MAX)
        usage_error("%s: the path is too long", path);
    return buf;
}

/* region: queue */
/* The queue of our key.  One left behind by a daemon that was killed is
 * removed and made anew: it may hold requests whose clients gave up and
 * replies to clients that are gone.  We may only do so because we hold the
 * pid file's lock (no other instance is running) and it is our user's. */
static int queue_create_or_die(key_t key, int *handle)
{
    sigset_t saved;
    int msqid;

    for (int attempt = 0; attempt < 2; attempt++) {
        cleanup_block_signals(&saved);
        msqid = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
        if (msqid >= 0)
            *handle = cleanup_check(cleanup_add_sysv_msg(msqid), "the queue");
        cleanup_unblock_signals(&saved);
        if (msqid >= 0)
            return msqid;
        if (errno != EEXIST)
            die("msgget key 0x%08lx", (unsigned long)key);
        struct msqid_ds ds;
        int old = msgget(key, 0);
        if (old < 0 || msgctl(old, IPC_STAT, &ds) != 0)
            die("msgget/IPC_STAT of the existing queue");
        if (pid_path == NULL || ds.msg_perm.uid != getuid())
            fatal("a queue already exists for key 0x%08lx (id %d): another daemon's? "
                  "Use --pid-file, or remove it: ipcrm -q %d", (unsigned long)key, old, old);
        dlog("removing the leftover queue id %d (%lu messages) of a daemon that died",
             old, (unsigned long)ds.msg_qnum);
        if (msgctl(old, IPC_RMID, NULL) != 0)
            die("msgctl IPC_RMID %d", old);
    }
    fatal("the queue for key 0x%08lx keeps coming back", (unsigned long)key);
}
/* end region: queue */

static int listen_fd;
static mqd_t request_mq;

static void begin_stop(struct ev_loop *loop, const char *why)
{
    if (atomic_exchange(&stopping, true))
        return;
    dlog("stopping (%s): refusing new requests, draining the queues", why);
    if (serve_wake() != 0)
        dlog("could not send the wake-up message; the queue is full");
    ev_break(loop, EVBREAK_ALL);
}

/* region: callbacks */
static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    char counts[256];

    (void)revents;
    /* This is an ordinary function called by the loop, not a signal
     * handler: it may log, allocate and take locks. */
    switch (w->signum) {
    case SIGHUP:
        if (dlog_reopen() == 0)
            dlog("SIGHUP: log reopened");
        else
            dlog("SIGHUP: could not reopen the log: %s", strerror(errno));
        break;
    case SIGUSR1:
        counters_format(counts, sizeof counts);
        dlog("counters: %s", counts);
        break;
    default:
        begin_stop(loop, signal_name(w->signum));
    }
}

static void on_control(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    if (control_accept_all(w->fd))
        begin_stop(loop, "control socket: stop");
}

static void on_mq(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    request_mq_drain(request_mq);
}
/* end region: callbacks */

int main(int argc, char **argv)
{
    int first = cli_parse(&cli, argc, argv), proj, ready_fd = -1, msqid, qhandle, err;
    const char *key_path = absolute(argv[first]);
    char sock_path[PATH_MAX], mq_name[IPC_NAME_SIZE], line[PATH_MAX + 512];
    long stale = 0;
    uint32_t token;
    sigset_t stop_set;
    pthread_t receiver;
    key_t key;

    proj = parse_proj_id_option("PROJ", argv[first + 1]);
    if (daemon_mode && foreground)
        usage_error("--daemon and --foreground exclude each other");
    pid_path = absolute(pid_path);
    log_path = absolute(log_path);
    err = ipc_key_from_path(key_path, proj, &key);
    if (err != 0)
        die_errnum(err, "ftok %s", key_path);

    /* The signals the loop serves stay blocked from here on, in every
     * thread: they wait as pending until the loop's signalfd reads them,
     * so one that arrives during start-up is served, not lost. */
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM), sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGHUP), sigaddset(&stop_set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);     /* a control client that hangs up early */

    if (daemon_mode)
        ready_fd = daemonize_or_die();
    dlog_open(log_path);
    if (pid_path != NULL) {
        pidfile_take_or_die(pid_path, &stale);
        if (stale != 0)
            dlog("took over the stale pid file %s (pid %ld no longer holds it)", pid_path, stale);
    }
    msqid = queue_create_or_die(key, &qhandle);
    listen_fd = control_listen_or_die(sock_path, sizeof sock_path);
    request_mq = request_mq_open_or_die(mq_name, sizeof mq_name);
    token = (uint32_t)monotonic_ns() ^ (uint32_t)getpid() << 16;
    serve_init(msqid, max_file_bytes, token);
    receiver_start_or_die(&receiver, msqid, qhandle);

    /* region: loop */
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_SIGNALFD);
    ev_signal sig_watchers[4];
    const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
    ev_io control_watcher, mq_watcher;

    if (loop == NULL)
        fatal("ev_loop_new failed");
    for (int i = 0; i < 4; i++) {
        ev_signal_init(&sig_watchers[i], on_signal, sigs[i]);
        ev_signal_start(loop, &sig_watchers[i]);
    }
    ev_io_init(&control_watcher, on_control, listen_fd, EV_READ);
    ev_io_start(loop, &control_watcher);
    ev_io_init(&mq_watcher, on_mq, (int)request_mq, EV_READ);   /* Linux: an mqd_t is an fd */
    ev_io_start(loop, &mq_watcher);
    /* end region: loop */

    snprintf(line, sizeof line, "ready: pid %ld, System V queue %d (key 0x%08lx), "
             "control socket %s, POSIX queue %s", (long)getpid(), msqid,
             (unsigned long)key, sock_path, mq_name);
    dlog("%s", line);
    daemon_ready(ready_fd, log_path != NULL ? dlog_fd() : -1, line);

    ev_run(loop, 0);

    /* region: stop */
    err = pthread_join(receiver, NULL);   /* it drains, then removes the queue */
    if (err != 0)
        die_errnum(err, "pthread_join");
    request_mq_drain(request_mq);         /* refuses what is left there */
    ev_loop_destroy(loop);
    close(listen_fd);
    counters_format(line, sizeof line);
    cleanup_run();                        /* socket, its directory, queues, pid file */
    dlog("stopped: %s", line);
    return 0;
    /* end region: stop */
}
