/* zpool_child.c - a prefork child of a pool worker: one process for many jobs.
 *
 * Forking a child per job costs a fork, an exit and a wait every time: the
 * worker would spend more on that than on a short job.  So, as chapter
 * 07's pool does, the worker keeps one child and feeds it over a
 * socketpair: a job is a small struct written to it, the answer one byte
 * back.  The fault isolation stays: a job that crashes or exits takes only
 * the child down (the worker reads end-of-file and reaps it), one that
 * overruns its limit is killed, and either way a new child is forked for
 * the next job.
 *
 * The worker runs zmq's threads, so its child may only make
 * async-signal-safe calls (another thread may have held a lock at the
 * fork): the loop below is read, nanosleep, write and _exit, and the job
 * was parsed by the worker before it was sent. */
#include "zpool.h"

#include "ipclab.h"
#include "zh.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#define ZPOOL_CHILD_FD_MAX 1024          /* fds the child closes, from 3 up */

void zpool_child_init(struct zpool_child *c)
{
    c->pid = 0;
    c->fd = -1;
    c->handle = -1;
    c->forks = 0;
}

/* region: child */
static _Noreturn void child_loop(int fd)
{
    struct zpool_job job;
    const char done = 'd';

    zpool_job_signals();
    /* Nothing of the worker's (zmq's sockets, the other end of this pair)
     * stays open here: the child sees end-of-file when the worker goes. */
    for (int other = 3; other < ZPOOL_CHILD_FD_MAX; other++)
        if (other != fd)
            close(other);
    for (;;) {
        if (read_full(fd, &job, sizeof job) != (ssize_t)sizeof job)
            _exit(0);                    /* end-of-file: the worker is done */
        zpool_job_body(job);             /* returns only for an ok job */
        if (write_full(fd, &done, 1) != 1)
            _exit(0);
    }
}
/* end region: child */

static void fork_new(struct zpool_child *c)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        die("socketpair");
    c->pid = (int)fork_child_or_die(&c->handle);
    if (c->pid == 0) {
        close(sv[0]);
        child_loop(sv[1]);
    }
    close(sv[1]);
    c->fd = sv[0];
    c->forks++;
}

/* Reaps the child (it has ended or was killed) and returns its status. */
static int reap(struct zpool_child *c)
{
    int status;

    close(c->fd);
    status = zpool_reap(c->pid, c->handle);
    c->pid = 0;
    c->fd = -1;
    return status;
}

static bool send_job(struct zpool_child *c, const struct zpool_job *job)
{
    ssize_t n;

    do                                   /* MSG_NOSIGNAL: a dead child is EPIPE, not SIGPIPE */
        n = send(c->fd, job, sizeof *job, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EPIPE && errno != ECONNRESET)
        die("send");
    return n == (ssize_t)sizeof *job;    /* 16 bytes into an empty pair: all or none */
}

/* region: run */
enum zpool_outcome zpool_child_run(struct zpool_child *c, const char *spec, long limit_ms,
                                   int *code, int *pid)
{
    struct zpool_job job = zpool_parse(spec);
    uint64_t deadline = monotonic_ns() + (uint64_t)limit_ms * 1000000u;
    bool timed_out = false;
    int status;

    if (c->pid == 0)
        fork_new(c);
    if (!send_job(c, &job)) {            /* it died between jobs (killed from outside) */
        reap(c);
        fork_new(c);
        if (!send_job(c, &job))
            die("send to a new child");
    }
    *pid = c->pid;
    *code = 0;
    for (;;) {
        int ready = zpool_wait_readable(c->fd, deadline);
        char answer;
        ssize_t n;

        if (ready < 0) {
            kill(c->pid, SIGKILL);
            reap(c);
            return ZPOOL_KILLED;         /* the caller sees the stop and leaves */
        }
        if (ready == 0) {
            timed_out = true;
            break;
        }
        n = read(c->fd, &answer, 1);
        if (n == 1)
            return ZPOOL_DONE;           /* the child lives on for the next job */
        if (n < 0 && errno == EINTR)
            continue;
        break;                           /* end-of-file: the job ended the child */
    }
    if (timed_out)
        kill(c->pid, SIGKILL);
    status = reap(c);
    fork_new(c);                         /* ready for the next job */
    return zpool_outcome_of(status, timed_out, code);
}
/* end region: run */

void zpool_child_stop(struct zpool_child *c)
{
    /* Closing its end is the child's signal to go; SIGKILL makes sure of
     * it, should a job still hold the child: the worker never waits. */
    if (c->pid != 0) {
        kill(c->pid, SIGKILL);
        reap(c);
    }
}
