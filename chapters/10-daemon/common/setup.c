/* setup.c - see setup.h. */
#include "setup.h"

#include "channels.h"
#include "cleanup.h"
#include "clock.h"
#include "cli.h"
#include "daemonize.h"
#include "die.h"
#include "dlog.h"
#include "leftovers.h"
#include "notify.h"
#include "pidfile.h"
#include "proto.h"
#include "receiver.h"
#include "serve.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

/* An absolute form of path: --daemon changes to "/" before using it. */
static const char *absolute(const char *path)
{
    static char bufs[4][PATH_MAX];   /* one per path: key, pid file, log, settings */
    static int next;
    char cwd[PATH_MAX], *buf = bufs[next++ % 4];

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
static int queue_create_or_die(key_t key, const char *pid_path, int *handle)
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

static int queue_handle = -1;
static const struct daemon_settings *the_settings;

/* The directory part of path, into dir. */
static void dir_of(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash != NULL ? (size_t)(slash - path) : 0;

    if (n >= size)
        n = size - 1;
    memcpy(dir, path, n);
    dir[n] = '\0';
}

/* region: setup */
void daemon_setup(struct daemon_settings *s, struct daemon_state *st)
{
    long stale = 0;
    int err;

    s->key_path = absolute(s->key_path);
    s->pid_path = absolute(s->pid_path);
    s->log_path = absolute(s->log_path);
    s->config_path = absolute(s->config_path);
    the_settings = s;
    /* A bad settings file stops the start, before anything exists. */
    struct serve_config config = s->base;
    if (s->config_path != NULL) {
        char why[CONFIG_LINE_MAX + 128];
        if (!config_read(s->config_path, &s->base, &config, why, sizeof why))
            fatal("%s: %s", s->config_path, why);
    }
    err = ipc_key_from_path(s->key_path, s->proj, &st->key);
    if (err != 0)
        die_errnum(err, "ftok %s", s->key_path);

    /* The signals the loop serves stay blocked from here on, in every
     * thread: they wait as pending until the loop takes them (signalfd),
     * so one that arrives during start-up is served, not lost. */
    sigemptyset(&st->signals);
    sigaddset(&st->signals, SIGTERM);
    sigaddset(&st->signals, SIGINT);
    sigaddset(&st->signals, SIGHUP);
    sigaddset(&st->signals, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &st->signals, NULL);
    signal(SIGPIPE, SIG_IGN);     /* a control client that hangs up early */

    st->ready_fd = s->detach ? daemonize_or_die() : -1;
    dlog_open(s->log_path);
    if (s->pid_path != NULL) {    /* after the forks: fcntl locks are not inherited */
        pidfile_take_or_die(s->pid_path, &stale);
        if (stale != 0)
            dlog("took over the stale pid file %s (pid %ld no longer holds it)", s->pid_path, stale);
        leftovers_take_over(s->pid_path);
    }
    st->msqid = queue_create_or_die(st->key, s->pid_path, &st->queue_handle);
    queue_handle = st->queue_handle;
    /* A status for `systemctl status`, sent the moment the queue exists.
     * It also dates the queue for a test: datagrams from one sender reach
     * the socket in the order they were sent, so READY=1 arriving after
     * this line proves it was sent after the queue was made, whatever the
     * timing (a peer looking for the queue on READY=1 could be too late
     * to catch an early one). */
    notify_send("STATUS=System V queue %d created", st->msqid);
    st->listen_fd = control_listen_or_die(st->sock_path, sizeof st->sock_path);
    char dir[PATH_MAX];
    dir_of(st->sock_path, dir, sizeof dir);
    leftovers_record("socket-dir", dir);
    st->mq = request_mq_open_or_die(st->mq_name, sizeof st->mq_name);
    leftovers_record("posix-queue", st->mq_name);
    serve_init(st->msqid, &config, (uint32_t)monotonic_ns() ^ (uint32_t)getpid() << 16);
    receiver_start_or_die(&st->receiver, st->msqid, st->queue_handle);
}
/* end region: setup */

/* region: ready */
void daemon_report_ready(const struct daemon_settings *s, struct daemon_state *st)
{
    char line[PATH_MAX + 512], config[256];
    struct serve_config c;
    int err;

    snprintf(line, sizeof line, "ready: pid %ld, System V queue %d (key 0x%08lx), "
             "control socket %s, POSIX queue %s", (long)getpid(), st->msqid,
             (unsigned long)st->key, st->sock_path, st->mq_name);
    dlog("%s", line);
    serve_config_get(&c);
    config_format(&c, config, sizeof config);
    dlog("settings: %s", config);
    /* Everything exists now: the queue, the socket, the thread that serves.
     * Only now may systemd start what depends on us. */
    err = notify_send("READY=1\nMAINPID=%ld\nSTATUS=serving System V queue %d",
                      (long)getpid(), st->msqid);
    if (err != 0)
        dlog("could not notify systemd: %s", strerror(err));
    daemon_ready(st->ready_fd, s->log_path != NULL ? dlog_fd() : -1, line);
}
/* end region: ready */

bool daemon_begin_stop(const char *why)
{
    if (atomic_exchange(&stopping, true))
        return false;
    notify_send("STOPPING=1\nSTATUS=stopping (%s)", why);
    dlog("stopping (%s): refusing new requests, draining the queues", why);
    if (serve_wake() != 0) {
        /* A queue full of replies nobody takes: removing it wakes the
         * receiver too (EIDRM); clients waiting see EIDRM: refused. */
        dlog("could not send the wake-up message: removing the queue now");
        cleanup_remove(queue_handle);
    }
    return true;
}

/* region: hup */
bool daemon_reload(const char *why, char *summary, size_t size)
{
    const char *path = the_settings->config_path;
    struct serve_config c;
    char refusal[CONFIG_LINE_MAX + 128], text[256], reopened[160];
    bool ok = true;
    int err;

    notify_send("RELOADING=1\nMONOTONIC_USEC=%llu", notify_monotonic_usec());
    err = dlog_reopen();
    snprintf(reopened, sizeof reopened, "%s%s", err == 0 ? "log reopened" : "could not reopen the log: ",
             err == 0 ? "" : strerror(err));
    dlog("%s: %s", why, reopened);
    if (path == NULL) {
        snprintf(summary, size, "%s; no settings file", reopened);
    } else if (config_read(path, &the_settings->base, &c, refusal, sizeof refusal)) {
        /* All or nothing: config_read changed nothing unless every line was good. */
        serve_config_set(&c);
        config_format(&c, text, sizeof text);
        dlog("%s: settings reread from %s: %s", why, path, text);
        snprintf(summary, size, "%s; settings reread: %s", reopened, text);
    } else {
        serve_config_get(&c);
        config_format(&c, text, sizeof text);
        dlog("%s: %s refused: %s; keeping %s", why, path, refusal, text);
        snprintf(summary, size, "%s; %s refused: %s; keeping %s", reopened, path, refusal, text);
        ok = false;
    }
    notify_send("READY=1\nSTATUS=serving (settings reread)");
    return ok;
}

void daemon_on_hup(void)
{
    char summary[1024];

    daemon_reload("SIGHUP", summary, sizeof summary);
}
/* end region: hup */

void daemon_on_usr1(void)
{
    char counts[256];

    counters_format(counts, sizeof counts);
    dlog("counters: %s", counts);
}

/* region: finish */
void daemon_finish(struct daemon_state *st)
{
    char counts[256];
    int err = pthread_join(st->receiver, NULL);   /* it drains, then removes the queue */

    if (err != 0)
        die_errnum(err, "pthread_join");
    request_mq_drain(st->mq);             /* refuses what is left there */
    close(st->listen_fd);
    counters_format(counts, sizeof counts);
    dlog("stopped: %s", counts);
    /* The POSIX queue, the socket, its directory and, last of all (it was
     * registered first), the pid file: once the pid file is gone, so is
     * everything else. */
    cleanup_run();
}
/* end region: finish */
