/* qdaemon.c - a daemon that serves a System V queue and is run by signals.
 *
 * Lesson: what a long-running Unix service needs beyond its loop: it starts
 * in the foreground (what a service manager wants) or detaches (--daemon)
 * and reports ready only when it is; a locked pid file keeps a second
 * instance out and recognises a stale one; SIGTERM and SIGINT drain and
 * remove everything, SIGHUP reopens the log and rereads the settings file,
 * SIGUSR1 logs the counters; under systemd it says READY=1 by hand.
 * The System V queue cannot be polled, so a thread waits on it; everything
 * that can be polled (signals, a control socket, a POSIX queue) is served
 * by one libev event loop.  epoll_loop.c is the same daemon on plain epoll.
 *
 * Run:  touch key && qdaemon --pid-file qd.pid --log qd.log --daemon --key key A
 *       qclient --count 3 --key key A
 *       kill -TERM "$(cat qd.pid)"
 *
 * You should see the daemon's ready line, printed by the process you
 * started once the daemon is ready:
 *       ready: pid 4242, System V queue 3 (key 0x4101abcd), control socket
 *       /tmp/ipclab-qdaemon-Xy12Ab/control, POSIX queue /ipclab-qdaemon-...
 * then the client's summary, and in qd.log a timestamped line per event.
 */
#include "ipclab.h"
#include "common/channels.h"
#include "common/keyopt.h"
#include "common/proto.h"
#include "common/setup.h"

#include <ev.h>

static bool foreground = false;
static struct daemon_settings settings = {
    .base = { .log_level = LOG_LEVEL_INFO, .reply_delay_ms = 0,
              .max_request_bytes = (long)sizeof(struct req_body), .max_file_bytes = 16L << 20 },
};

static const struct cli_option options[] = {
    CLI_OPTION_STRING("key", &settings.key_path, "PATH PROJ",
                      "serve the System V queue of key ftok(PATH, PROJ)"),
    CLI_OPTION_FLAG("foreground", &foreground, "stay in the foreground (the default)"),
    CLI_OPTION_FLAG("daemon", &settings.detach,
                    "detach: fork, setsid, fork; exit once the daemon is ready"),
    CLI_OPTION_STRING("pid-file", &settings.pid_path, "PATH", "lock PATH and write the pid into it"),
    CLI_OPTION_STRING("log", &settings.log_path, "PATH", "log to PATH (default: stderr)"),
    CLI_OPTION_STRING("config", &settings.config_path, "FILE",
                      "settings file (name = value lines), reread on SIGHUP"),
    CLI_OPTION_LONG("max-file-bytes", &settings.base.max_file_bytes, 0, 1L << 30, "N",
                    "the largest file a checksum request may read"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Serves echo, checksum and counter requests on the System V queue of key\n"
               "ftok(PATH, PROJ) and on a POSIX queue; controlled by signals and a\n"
               "control socket (status, stop).  The event loop is libev's.",
    .options = options,
    .details = "--key is required; PROJ is a number from 1 to 255 or one character, as\n"
               "PHP's ftok() takes it.  Settings file (--config): log-level = info|debug,\n"
               "reply-delay-ms = 0..1000, max-request-bytes = 16..1040, max-file-bytes =\n"
               "0..1073741824; '#' starts a comment line; what it leaves out keeps the\n"
               "command line's value.  Signals: TERM, INT drain and stop; HUP reopens the\n"
               "log and rereads the settings (a bad file is refused, the old settings\n"
               "stay); USR1 logs the counters.  Under systemd (Type=notify) it sends\n"
               "READY=1, RELOADING=1 and STOPPING=1 to $NOTIFY_SOCKET.  With --daemon and\n"
               "no --log the log goes to /dev/null: give --log.",
};

static struct daemon_state st;

/* region: callbacks */
/* Ordinary functions called by the loop, not signal handlers: they may
 * log, allocate and take locks.  libev reads the signals from a signalfd. */
static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    if (w->signum == SIGHUP)
        daemon_on_hup();
    else if (w->signum == SIGUSR1)
        daemon_on_usr1();
    else if (daemon_begin_stop(signal_name(w->signum)))
        ev_break(loop, EVBREAK_ALL);
}

static void on_control(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    if (control_accept_all(w->fd) && daemon_begin_stop("control socket: stop"))
        ev_break(loop, EVBREAK_ALL);
}

static void on_mq(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    request_mq_drain(st.mq);
}
/* end region: callbacks */

int main(int argc, char **argv)
{
    argc = key_option_take(&cli, argc, argv);    /* --key PATH PROJ: two words */
    cli_parse(&cli, argc, argv);
    settings.proj = key_option_proj(settings.key_path);
    if (settings.detach && foreground)
        usage_error("--daemon and --foreground exclude each other");
    daemon_setup(&settings, &st);

    /* region: loop */
    /* EVFLAG_SIGNALFD: libev takes the (blocked) signals from a signalfd,
     * as epoll_loop does by hand; no handler runs in any thread. */
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_SIGNALFD);
    const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
    ev_signal sig_watchers[4];
    ev_io control_watcher, mq_watcher;

    if (loop == NULL)
        fatal("ev_loop_new failed");
    for (int i = 0; i < 4; i++) {
        ev_signal_init(&sig_watchers[i], on_signal, sigs[i]);
        ev_signal_start(loop, &sig_watchers[i]);
    }
    ev_io_init(&control_watcher, on_control, st.listen_fd, EV_READ);
    ev_io_start(loop, &control_watcher);
    ev_io_init(&mq_watcher, on_mq, (int)st.mq, EV_READ);   /* Linux: an mqd_t is an fd */
    ev_io_start(loop, &mq_watcher);

    daemon_report_ready(&settings, &st);
    ev_run(loop, 0);              /* until a callback calls ev_break */
    ev_loop_destroy(loop);
    /* end region: loop */

    daemon_finish(&st);
    return 0;
}
