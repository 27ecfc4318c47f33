/* pool.c - see pool.h.  The API, and the parent's loop that pool_get()
 * runs: hand queued jobs to workers, poll every worker's socket and the
 * SIGCHLD pipe, read the results that arrived, reap the children that
 * died, kill the jobs past their time limit.  Nothing happens behind the
 * caller's back: the signal handler only writes one byte.
 *
 * pool_impl.h says which file holds what.
 */
#define _GNU_SOURCE   /* MAP_ANONYMOUS (not in POSIX.1-2008): the progress slots */
#include "pool_impl.h"
#include "pool_collect.h"

#include "clock.h"
#include "die.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Milliseconds to wait from now until `until` (UINT64_MAX: no limit),
 * shortened to the nearest job deadline and to a reaping tick: SIGCHLD
 * should wake us, but the caller may have blocked it. */
static int wait_ms(struct pool *p, uint64_t now, uint64_t until)
{
    uint64_t limit = (uint64_t)p->opt.time_limit_ms * 1000000u;
    uint64_t tick = UINT64_MAX;

    for (int i = 0; i < p->opt.workers; i++) {
        struct worker *w = &p->w[i];
        uint64_t t, id, since;
        if (w->state == W_FREE)
            continue;
        if (limit > 0 && w->signal_sent == 0 && running_job(w, &id, &since) &&
            since + limit < until)
            until = since + limit;
        t = w->state == W_DEAF || w->signal_sent != 0 ? EXIT_TICK_MS : REAP_TICK_MS;
        if (t < tick)
            tick = t;
    }
    if (tick != UINT64_MAX && now + tick * 1000000u < until)
        until = now + tick * 1000000u;
    if (until == UINT64_MAX)
        return -1;
    if (until <= now)
        return 0;
    uint64_t ms = (until - now + 999999u) / 1000000u;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

static bool nothing_left(const struct pool *p)
{
    if (p->pending.n > 0 || p->running > 0)
        return false;
    /* A fork-per-job child that sent its result is about to exit: wait for
     * it, so that no zombie outlives the last result. */
    return p->opt.mode != POOL_FORK || p->live == 0;
}

/* region: loop */
/* The pool's loop: runs until a result is ready (0), nothing is left to
 * wait for (ENOENT), `until` passes (ETIMEDOUT), or forking fails with no
 * worker alive to make progress. */
static int run_until(struct pool *p, uint64_t until)
{
    for (bool first = true;; first = false) {
        uint64_t now;
        int n = 1, ms;
        bool look = false;

        dispatch(p, false);
        if (p->ready.n > 0)
            return 0;
        if (nothing_left(p))
            return ENOENT;
        if (p->spawn_error != 0 && p->live == 0) {
            int err = p->spawn_error;
            p->spawn_error = 0;
            return err;
        }
        now = monotonic_ns();
        if (!first && now >= until)
            /* No job left, only children still exiting: that is no reason
             * to report a timeout. */
            return p->pending.n == 0 && p->running == 0 ? ENOENT : ETIMEDOUT;
        ms = wait_ms(p, now, until);

        p->pfd[0] = (struct pollfd){ .fd = p->wake[0], .events = POLLIN };
        for (int i = 0; i < p->opt.workers; i++) {
            struct worker *w = &p->w[i];
            if (worker_reads(w)) {
                p->pfd[n] = (struct pollfd){ .fd = w->fd, .events = POLLIN };
                p->pfd_worker[n++] = w;
            }
        }
        int ready = poll(p->pfd, (nfds_t)n, ms);
        if (ready < 0 && errno != EINTR)
            return errno;
        if (ready <= 0) {
            look = true;                 /* a tick: look for the dead anyway */
        } else {
            if (p->pfd[0].revents & POLLIN) {
                drain_wake(p);
                look = true;
            }
            for (int i = 1; i < n; i++) {
                struct worker *w = p->pfd_worker[i];
                if (p->pfd[i].revents == 0)
                    continue;
                read_results(p, w);
                if (w->state == W_DEAF)
                    look = true;         /* EOF or killed: it is dying */
            }
        }
        if (look)
            reap(p);
        enforce_limits(p);
    }
}
/* end region: loop */

static uint64_t deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? UINT64_MAX : monotonic_ns() + (uint64_t)timeout_ms * 1000000u;
}

/* --- the API --------------------------------------------------------- */

/* What pool_create() allocates, freed (a failed create and pool_destroy). */
static void free_memory(struct pool *p)
{
    if (p->shared != NULL)
        munmap(p->shared, p->slot_bytes * (size_t)p->opt.workers);
    free(p->w);
    free(p->pfd);
    free(p->pfd_worker);
    free(p->tx);
    free(p->rx);
    free(p);
}

int pool_create(struct pool **out, const struct pool_options *options)
{
    struct pool *p;
    int err;

    if (options == NULL || options->workers < 1 || options->workers > POOL_WORKERS_MAX ||
        options->mode < POOL_FORK || options->mode > POOL_SYNC ||
        options->time_limit_ms < 0 || options->prefetch < 0 ||
        options->prefetch > POOL_PREFETCH_MAX || options->batch < 0 ||
        options->batch > POOL_BATCH_MAX || options->stall_ms < 0)
        return EINVAL;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return ENOMEM;
    p->opt = *options;
    if (p->opt.batch == 0)
        p->opt.batch = p->opt.prefetch > 0 && p->opt.prefetch < BATCH_DEFAULT ? p->opt.prefetch
                                                                              : BATCH_DEFAULT;
    /* Deep enough that a worker always finds its next batch waiting, and
     * its results pile up while the parent is busy: then one wake-up and
     * one recv() take several frames.  pool_bench: 8 batches of 8 cost
     * half as much per job as 2. */
    if (p->opt.prefetch == 0)
        p->opt.prefetch = 8 * p->opt.batch < POOL_PREFETCH_MAX ? 8 * p->opt.batch
                                                              : POOL_PREFETCH_MAX;
    if (p->opt.mode != POOL_PREFORK)
        p->opt.prefetch = p->opt.batch = 1;
    if (p->opt.batch > p->opt.prefetch)
        return free(p), EINVAL;
    if (p->opt.stall_ms == 0)
        p->opt.stall_ms = 1000;
    p->next_id = 1;
    p->w = calloc((size_t)p->opt.workers, sizeof *p->w);
    p->pfd = calloc((size_t)p->opt.workers + 1, sizeof *p->pfd);
    p->pfd_worker = calloc((size_t)p->opt.workers + 1, sizeof *p->pfd_worker);
    /* Room for every job a worker holds, each frame with its length; and
     * for a result frame of a whole batch. */
    p->tx = malloc((size_t)p->opt.prefetch * (LEN_BYTES + JOB_RECORD_MAX));
    p->rx = malloc(LEN_BYTES + (size_t)p->opt.batch * RESULT_RECORD_MAX);
    if (p->w == NULL || p->pfd == NULL || p->pfd_worker == NULL || p->tx == NULL ||
        p->rx == NULL) {
        err = ENOMEM;
        goto fail;
    }
    /* Prefork: one shared mapping for every worker's progress slot, made
     * before any fork so that parent and workers see the same pages. */
    if (p->opt.mode == POOL_PREFORK) {
        size_t slot = sizeof(struct progress) + LEN_BYTES +
                      (size_t)p->opt.batch * RESULT_RECORD_MAX;
        p->slot_bytes = (slot + 63) / 64 * 64;
        p->shared = mmap(NULL, p->slot_bytes * (size_t)p->opt.workers, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p->shared == MAP_FAILED) {
            p->shared = NULL;
            err = errno;
            goto fail;
        }
    }
    for (int i = 0; i < p->opt.workers; i++)
        p->w[i].fd = -1;
    if (pipe(p->wake) != 0) {
        err = errno;
        goto fail;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(p->wake[i], F_SETFL, fcntl(p->wake[i], F_GETFL) | O_NONBLOCK);
        set_cloexec(p->wake[i]);
    }
    err = registry_add(p);
    if (err != 0) {
        close(p->wake[0]);
        close(p->wake[1]);
        goto fail;
    }
    *out = p;
    return 0;
fail:
    free_memory(p);
    return err;
}

void pool_destroy(struct pool *p)
{
    if (p == NULL)
        return;
    if (p->live > 0)
        pool_kill_all(p, SIGKILL);
    jobq_free(&p->pending);
    jobq_free(&p->ready);
    registry_remove(p);
    close(p->wake[0]);
    close(p->wake[1]);
    free_memory(p);
}

int pool_submit(struct pool *p, pool_job_fn fn, const void *arg, size_t arg_len, uint64_t *id)
{
    struct job *job;

    if (fn == NULL || arg_len > POOL_ARG_MAX || (arg == NULL && arg_len > 0))
        return EINVAL;
    job = calloc(1, sizeof *job + arg_len);
    if (job == NULL)
        return ENOMEM;
    job->id = p->next_id++;
    job->fn = fn;
    job->arg_len = arg_len;
    if (arg_len > 0)
        memcpy(job->arg, arg, arg_len);
    if (id != NULL)
        *id = job->id;
    if (p->opt.mode == POOL_SYNC) {
        /* The job runs in the caller: a crash here is the caller's crash. */
        size_t len = run_job(job->id, fn, job->arg, arg_len, p->rx) - RESULT_HEADER;
        complete(p, job, getpid(), POOL_DONE, 0, p->rx + RESULT_HEADER, len,
                 "returned %zu bytes", len);
        return 0;
    }
    jobq_push(&p->pending, job);
    dispatch(p, true);
    return 0;
}

int pool_get(struct pool *p, int timeout_ms, struct pool_result *result)
{
    struct job *job;
    int err = 0;

    if (p->ready.n == 0)
        err = run_until(p, deadline_after(timeout_ms));
    if (p->ready.n == 0)
        return err != 0 ? err : ENOENT;
    job = jobq_pop(&p->ready);
    *result = job->result;
    free(job);
    return 0;
}

static int get_one(void *p, int timeout_ms, struct pool_result *result)
{
    return pool_get(p, timeout_ms, result);
}

int pool_get_all(struct pool *p, int timeout_ms, struct pool_result **results, size_t *count)
{
    return collect_results(get_one, p, timeout_ms, results, count);
}

struct pool_counts pool_counts(const struct pool *p)
{
    return (struct pool_counts){
        .pending = p->pending.n,
        .running = p->running,
        .ready = p->ready.n,
        .done = p->done,
        .workers = (size_t)p->live,
        .forks = p->forks,
    };
}

int pool_kill(struct pool *p, uint64_t id, int sig)
{
    struct job *job = jobq_remove(&p->pending, id);

    if (job != NULL) {
        complete(p, job, 0, POOL_CANCELLED, 0, NULL, 0, "cancelled before it started");
        return 0;
    }
    for (int i = 0; i < p->opt.workers; i++) {
        struct worker *w = &p->w[i];
        if (w->state == W_FREE)
            continue;
        /* Held jobs run in order: those before the current one ran, those
         * after it have not started.  No current one held: none started. */
        uint64_t now_id = 0, since;
        bool runs = running_job(w, &now_id, &since), before_current = false;
        if (w->progress != NULL && !runs)
            now_id = atomic_load(&w->progress->current);
        for (job = w->inflight.head; job != NULL; job = job->next)
            if (job->id == now_id)
                before_current = true;
        for (job = w->inflight.head; job != NULL; job = job->next) {
            if (job->id == now_id && job->id != id)
                before_current = false;
            if (job->id != id || job->discard)
                continue;
            if (job->id == now_id && runs && w->signal_sent == 0) {
                w->doomed = id;
                worker_signal(w, sig);
                return 0;
            }
            if (job->id == now_id || before_current)
                return ESRCH;            /* it ran: its result is on its way */
            /* Held behind another job: it has not started.  Report it now;
             * the copy in the worker's socket runs, and its result is
             * dropped. */
            job->discard = true;
            p->running--;
            struct job *copy = calloc(1, sizeof *copy);
            if (copy == NULL)
                fatal("pool: out of memory");
            copy->id = id;
            complete(p, copy, 0, POOL_CANCELLED, 0, NULL, 0, "cancelled before it started");
            return 0;
        }
    }
    return ESRCH;
}

void pool_kill_all(struct pool *p, int sig)
{
    struct job *job;
    uint64_t until = monotonic_ns() + (uint64_t)KILL_GRACE_MS * 1000000u;

    while ((job = jobq_pop(&p->pending)) != NULL)
        complete(p, job, 0, POOL_CANCELLED, 0, NULL, 0, "cancelled before it started");
    for (int i = 0; i < p->opt.workers; i++) {
        struct worker *w = &p->w[i];
        if (w->state == W_FREE)
            continue;
        uint64_t id = 0, since;
        w->cancel_rest = true;
        if (w->signal_sent == 0 && running_job(w, &id, &since))
            w->doomed = id;
        worker_signal(w, sig);
    }
    /* Reap them all; SIGCHLD (or the tick) wakes us. */
    while (p->live > 0 && monotonic_ns() < until) {
        struct pollfd pfd = { .fd = p->wake[0], .events = POLLIN };
        reap(p);
        if (p->live == 0)
            break;
        if (poll(&pfd, 1, EXIT_TICK_MS) > 0)
            drain_wake(p);
    }
    reap_all_blocking(p);           /* any that ignored sig for a second */
}
