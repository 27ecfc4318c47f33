/* pool_worker.c - a worker's life in the process pool (pool.h): its states
 * and their transitions, forking it, signalling it, time limits, reaping
 * it and settling the jobs it held.
 */
#include "pool_impl.h"

#include "cleanup.h"
#include "clock.h"
#include "die.h"
#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* region: transitions */
/* The one place a worker changes state (the diagram is in pool_impl.h and
 * the book).  A transition not in the table is a bug in the pool. */
void worker_enter(struct worker *w, enum worker_state to)
{
    static const bool allowed[5][5] = {
        /* to:          FREE   TAKING DRAINING DEAF   REAPED */
        [W_FREE]     = { false, true,  false,  false, false },
        [W_TAKING]   = { false, false, true,   true,  true  },
        [W_DRAINING] = { false, false, true,   true,  true  },
        [W_DEAF]     = { false, false, false,  true,  true  },
        [W_REAPED]   = { true,  false, false,  false, false },
    };

    if (w->state == W_REAPED && to != W_FREE)
        return;                          /* gone: only freeing the slot is left */
    if (!allowed[w->state][to])
        fatal("pool: worker %ld: no transition from state %d to %d", (long)w->pid,
              (int)w->state, (int)to);
    w->state = to;
}

/* The pool signals a worker: from then on its death is not the fault of
 * the job it holds (unless that job is `doomed`), and it gets no more
 * jobs.  A reaped worker is not signalled: its pid may be reused. */
void worker_signal(struct worker *w, int sig)
{
    w->signal_sent = sig;
    if (w->state == W_REAPED)
        return;
    kill(w->pid, sig);
    if (w->state == W_TAKING)
        worker_enter(w, W_DRAINING);
}
/* end region: transitions */

bool running_job(const struct worker *w, uint64_t *id, uint64_t *since_ns)
{
    if (w->progress == NULL) {           /* fork-per-job: its one job */
        if (w->inflight.head == NULL)
            return false;
        *id = w->inflight.head->id;
        *since_ns = w->started_ns;
        return true;
    }
    if (!atomic_load(&w->progress->busy))
        return false;
    *since_ns = atomic_load(&w->progress->started_ns);
    *id = atomic_load(&w->progress->current);
    return true;
}

void set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);

    if (flags >= 0)
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

/* region: spawn */
/* Forks a worker into a free slot: for `job` alone (fork-per-job), or to
 * serve jobs (job == NULL, prefork).  Returns 0 or an errno value. */
int spawn(struct pool *p, struct job *job)
{
    struct timeval stall = { p->opt.stall_ms / 1000, (p->opt.stall_ms % 1000) * 1000 };
    struct worker *w = NULL;
    struct progress *slot = NULL;
    int sv[2], handle, i;
    pid_t pid;

    for (i = 0; i < p->opt.workers; i++)
        if (p->w[i].state == W_FREE)
            break;
    if (i == p->opt.workers)
        return EAGAIN;
    w = &p->w[i];
    if (p->shared != NULL) {
        slot = (struct progress *)(p->shared + (size_t)i * p->slot_bytes);
        atomic_store(&slot->current, 0);
        atomic_store(&slot->busy, 0);
        atomic_store(&slot->filled, 0);
    }
    w->progress = slot;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return errno;
    set_cloexec(sv[0]);          /* a job that execs keeps neither end */
    set_cloexec(sv[1]);
    /* A read of a frame that stalls half-way fails after stall_ms with
     * EAGAIN, instead of hanging the whole pool on one broken worker. */
    if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &stall, sizeof stall) != 0) {
        int err = errno;
        close(sv[0]);
        close(sv[1]);
        return err;
    }
    /* fork_child() (workers.h) flushes stdio (or a child calling exit()
     * would print it again) and registers the child with cleanup.h with
     * the stop signals blocked, so a SIGTERM to us cannot land between
     * the fork and the registration and leave this child running. */
    pid = fork_child(&handle);
    if (pid < 0) {
        int err = errno;
        close(sv[0]);
        close(sv[1]);
        return err;
    }
    if (pid == 0) {
        close(sv[0]);
        run_worker(p, i, sv[1], job);
    }
    close(sv[1]);
    p->forks++;
    if (p->opt.after_fork != NULL)
        p->opt.after_fork(pid, p->opt.hook_data);
    /* Only now does the pool know the child.  If it died already, it is a
     * zombie waiting for our waitpid(), and its SIGCHLD left a byte in the
     * pipe: the loop will look. */
    *w = (struct worker){ .state = W_FREE, .pid = pid, .fd = sv[0], .cleanup = handle,
                          .progress = slot };
    worker_enter(w, W_TAKING);
    p->live++;
    if (job != NULL) {
        jobq_push(&w->inflight, job);
        p->running++;
        w->started_ns = monotonic_ns();
    }
    return 0;
}
/* end region: spawn */

/* Stops trusting a worker's stream: blames the job it was running, kills
 * it; whatever else it held goes back to the queue when it is reaped. */
void bad_frame(struct pool *p, struct worker *w, const char *fmt, ...)
{
    struct job *job = take_oldest(p, w);
    char what[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    w->doomed = 0;
    if (w->signal_sent != SIGKILL)
        worker_signal(w, SIGKILL);
    worker_enter(w, W_DEAF);
    if (job != NULL && job->discard)
        free(job);
    else if (job != NULL)
        complete(p, job, w->pid, POOL_BAD_FRAME, 0, NULL, 0, "sent a malformed frame: %s",
                 what);
}

/* region: settle */
/* The worker is reaped (status -1: someone else reaped it): read what it
 * sent before dying, take from its progress slot the results of the jobs
 * it finished but never sent, then settle every job it still holds.  The
 * one it was running takes the death as its result, unless the pool
 * killed the worker for another reason; jobs it had not started go back
 * to the front of the queue (or are cancelled by pool_kill_all).
 * Queued again, not cancelled: they did nothing wrong, and a caller should
 * not see a job fail because of how jobs happened to be batched. */
static void finish_worker(struct pool *p, struct worker *w, int status)
{
    struct jobq again = { NULL, NULL, 0 };
    struct job *job;
    uint64_t culprit = 0, since;
    bool was_reading = worker_reads(w);
    char why[64];

    worker_enter(w, W_REAPED);
    if (was_reading && readable_now(w->fd))
        read_results(p, w);
    if (w->progress != NULL) {
        uint32_t filled = atomic_load(&w->progress->filled);
        if (filled <= (size_t)p->opt.batch * RESULT_RECORD_MAX)
            take_results(p, w, w->progress->frame + LEN_BYTES, filled, false, why, sizeof why);
    }
    if (!running_job(w, &culprit, &since))
        culprit = 0;
    while ((job = w->inflight.head) != NULL) {
        bool was_discarded = job->discard;
        take_oldest(p, w);
        if (was_discarded) {
            free(job);
        } else if (job->id == culprit &&
                   (w->signal_sent == 0 || w->cancel_rest || job->id == w->doomed)) {
            char how[64];
            if (status == -1) {
                complete(p, job, w->pid, POOL_EXITED, -1, NULL, 0,
                         "reaped by someone else: status unknown");
            } else if (WIFSIGNALED(status)) {
                wait_status_describe(status, how, sizeof how);
                complete(p, job, w->pid, POOL_KILLED, WTERMSIG(status), NULL, 0, "%s", how);
            } else {
                wait_status_describe(status, how, sizeof how);
                complete(p, job, w->pid, POOL_EXITED, WEXITSTATUS(status), NULL, 0,
                         "%s without a result", how);
            }
        } else if (w->cancel_rest) {
            complete(p, job, 0, POOL_CANCELLED, 0, NULL, 0, "cancelled before it started");
        } else {
            jobq_push(&again, job);
        }
    }
    jobq_prepend(&p->pending, &again);
    close(w->fd);
    cleanup_forget(w->cleanup);
    worker_enter(w, W_FREE);
    *w = (struct worker){ .state = W_FREE, .fd = -1 };
    p->live--;
}
/* end region: settle */

/* region: reap */
/* waitpid() for each child the pool knows, never waitpid(-1): other
 * children of the program are not ours to reap. */
void reap(struct pool *p)
{
    for (int i = 0; i < p->opt.workers; i++) {
        struct worker *w = &p->w[i];
        pid_t got;
        int status;

        if (w->state == W_FREE)
            continue;
        got = waitpid(w->pid, &status, WNOHANG);
        if (got == w->pid)
            finish_worker(p, w, status);
        else if (got < 0 && errno == ECHILD)
            finish_worker(p, w, -1);     /* someone's waitpid(-1) took it */
    }
}
/* end region: reap */

/* pool_kill_all's last word: SIGKILL to whoever survived its signal for a
 * second, and wait for each. */
void reap_all_blocking(struct pool *p)
{
    for (int i = 0; i < p->opt.workers; i++) {
        struct worker *w = &p->w[i];
        int status;

        if (w->state == W_FREE)
            continue;
        worker_signal(w, SIGKILL);
        while (waitpid(w->pid, &status, 0) < 0) {
            if (errno != EINTR) {
                status = -1;
                break;
            }
        }
        finish_worker(p, w, status);
    }
}

/* Kills the workers whose oldest job ran past the time limit, and the
 * signalled workers that hold nothing any more. */
void enforce_limits(struct pool *p)
{
    uint64_t limit = (uint64_t)p->opt.time_limit_ms * 1000000u;

    for (int i = 0; i < p->opt.workers; i++) {
        struct worker *w = &p->w[i];
        struct job *job;
        if (w->state == W_FREE)
            continue;
        uint64_t id, since;
        if (limit > 0 && w->signal_sent == 0 && running_job(w, &id, &since) &&
            monotonic_ns() - since >= limit) {
            if (worker_reads(w) && readable_now(w->fd))
                read_results(p, w);      /* it may have just finished */
            if (w->signal_sent == 0 && running_job(w, &id, &since) &&
                monotonic_ns() - since >= limit && (job = take_job(p, w, id)) != NULL) {
                w->doomed = 0;
                worker_signal(w, SIGKILL);
                worker_enter(w, W_DEAF);     /* a late result is not read */
                if (job->discard)
                    free(job);
                else
                    complete(p, job, w->pid, POOL_TIMED_OUT, 0, NULL, 0,
                             "ran past its %d ms time limit and was killed",
                             p->opt.time_limit_ms);
            }
        }
        if (w->signal_sent != 0 && w->signal_sent != SIGKILL && w->inflight.head == NULL)
            worker_signal(w, SIGKILL);   /* it survived pool_kill's signal */
    }
}
