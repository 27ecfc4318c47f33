/* setup.h - start-up and shut-down of chapter 10's daemon, for either event loop.
 *
 * qdaemon (libev) and epoll_loop (plain epoll) differ only in their loop;
 * everything before it and after it is here, in the order it must happen.
 */
#ifndef DAEMON10_SETUP_H
#define DAEMON10_SETUP_H

#include <limits.h>
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "ipc_names.h"

struct daemon_settings {
    const char *key_path;      /* made absolute by setup */
    int proj;
    const char *pid_path;      /* may be NULL */
    const char *log_path;      /* NULL: stderr */
    const char *config_path;   /* --config: read at start and on SIGHUP; may be NULL */
    struct serve_config base;  /* the defaults and the command line: what the file overlays */
    bool detach;               /* --daemon */
};

struct daemon_state {
    sigset_t signals;          /* TERM, INT, HUP, USR1: blocked in every thread */
    int ready_fd;              /* the readiness pipe, -1 in the foreground */
    key_t key;
    int msqid, queue_handle;
    int listen_fd;
    mqd_t mq;
    char sock_path[PATH_MAX];
    char mq_name[IPC_NAME_SIZE];
    pthread_t receiver;
};

/* Everything up to the loop: reads the settings file, blocks the signals,
 * detaches if asked, opens the log, takes the pid file (and removes what a
 * killed predecessor left), creates the queues and the socket, starts the
 * receiver thread.  Dies on any failure. */
void daemon_setup(struct daemon_settings *settings, struct daemon_state *st);

/* Reports ready: the ready line on stdout or through the pipe, and
 * READY=1 to systemd ($NOTIFY_SOCKET). */
void daemon_report_ready(const struct daemon_settings *settings, struct daemon_state *st);

/* Starts the drain once: sets stopping, wakes the receiver.  Returns false
 * if it had started already. */
bool daemon_begin_stop(const char *why);

/* What SIGHUP (reopen the log, reread the settings) and SIGUSR1 (log the
 * counters) do. */
void daemon_on_hup(void);

/* What SIGHUP and the control command `reload` do: reopens the log, rereads
 * the settings file (all or nothing), tells systemd RELOADING=1 then
 * READY=1.  why names the cause in the log; summary gets one line for the
 * answer.  Returns false if the settings file was refused. */
bool daemon_reload(const char *why, char *summary, size_t size);
void daemon_on_usr1(void);

/* After the loop: waits for the receiver to drain and remove the queue,
 * refuses what is left on the POSIX queue, removes the rest. */
void daemon_finish(struct daemon_state *st);

#endif
