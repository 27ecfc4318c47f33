/* tpool.c - see tpool.h: the API.  The threads are in tpool_thread.c. */
#include "tpool_impl.h"

#include "pool_collect.h"

#include "clock.h"
#include "die.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct timespec to_timespec(uint64_t ns)
{
    return (struct timespec){ (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
}

static uint64_t deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? UINT64_MAX : monotonic_ns() + (uint64_t)timeout_ms * 1000000u;
}

/* --- the API ---------------------------------------------------------- */

int tpool_create(struct tpool **out, const struct tpool_options *options)
{
    pthread_condattr_t attr;
    struct tpool *p;
    int err;

    if (options == NULL || options->threads < 1 || options->threads > POOL_WORKERS_MAX ||
        options->time_limit_ms < 0 || options->batch < 0 || options->batch > POOL_BATCH_MAX)
        return EINVAL;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return ENOMEM;
    p->opt = *options;
    if (p->opt.batch == 0)
        p->opt.batch = 1;
    p->next_id = 1;
    p->slots = calloc((size_t)p->opt.threads, sizeof *p->slots);
    p->taken = calloc((size_t)p->opt.threads * (size_t)p->opt.batch, sizeof *p->taken);
    if (p->slots == NULL || p->taken == NULL) {
        free(p->slots);
        free(p->taken);
        free(p);
        return ENOMEM;
    }
    for (int i = 0; i < p->opt.threads; i++) {
        p->slots[i].pool = p;
        p->slots[i].index = i;
        p->slots[i].taken = p->taken + (size_t)i * (size_t)p->opt.batch;
    }
    /* Timed waits measure on CLOCK_MONOTONIC, so a change of the wall
     * clock neither shortens nor stretches them. */
    err = pthread_condattr_init(&attr);
    if (err == 0)
        err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (err == 0)
        err = pthread_mutex_init(&p->lock, NULL);
    if (err == 0 && (err = pthread_cond_init(&p->work, &attr)) != 0)
        pthread_mutex_destroy(&p->lock);
    if (err == 0 && (err = pthread_cond_init(&p->done, &attr)) != 0) {
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->lock);
    }
    if (err == 0 && (err = pthread_cond_init(&p->ended, &attr)) != 0) {
        pthread_cond_destroy(&p->done);
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->lock);
    }
    pthread_condattr_destroy(&attr);
    if (err != 0) {
        free(p->slots);
        free(p->taken);
        free(p);
        return err;
    }
    *out = p;
    return 0;
}

void tpool_destroy(struct tpool *p)
{
    struct tjob *job;

    if (p == NULL)
        return;
    tpool_kill_all(p, -1);
    while ((job = tq_pop(&p->ready)) != NULL) {
        pool_result_free(&job->result);
        free(job);
    }
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->ended);
    pthread_mutex_destroy(&p->lock);
    free(p->slots);
    free(p->taken);
    free(p);
}

int tpool_submit(struct tpool *p, pool_job_fn fn, const void *arg, size_t arg_len, uint64_t *id)
{
    struct tjob *job;
    uint64_t job_id;
    int err;

    if (fn == NULL || arg_len > POOL_ARG_MAX || (arg == NULL && arg_len > 0))
        return EINVAL;
    job = calloc(1, sizeof *job + arg_len);
    if (job == NULL)
        return ENOMEM;
    job->fn = fn;
    job->arg_len = arg_len;
    if (arg_len > 0)
        memcpy(job->arg, arg, arg_len);

    /* Once the job is queued and the mutex released, a thread may run it
     * and another collect and free it: its id is read under the mutex. */
    if (p->opt.sync) {
        unsigned char buf[POOL_OUTPUT_MAX];
        size_t len;
        unsigned char *output = tq_run_job(fn, job->arg, arg_len, buf, &len);
        pthread_mutex_lock(&p->lock);
        job->id = job_id = p->next_id++;
        tq_finish(p, job, POOL_DONE, output, len, "returned %zu bytes", len);
        pthread_mutex_unlock(&p->lock);
    } else {
        pthread_mutex_lock(&p->lock);
        job->id = job_id = p->next_id++;
        p->stopping = false;
        tq_push(&p->pending, job);
        err = tq_ensure_thread(p);
        if (err != 0 && p->alive == 0) {
            /* Nobody would ever take it: take it back.  With no thread
             * alive, the queue held nothing before it. */
            p->pending = (struct tjobq){ NULL, NULL, 0 };
            pthread_mutex_unlock(&p->lock);
            free(job);
            return err;
        }
        if (p->idle > 0)
            pthread_cond_signal(&p->work);
        pthread_mutex_unlock(&p->lock);
    }
    if (id != NULL)
        *id = job_id;
    return 0;
}

/* region: get */
int tpool_get(struct tpool *p, int timeout_ms, struct pool_result *result)
{
    uint64_t until = deadline_after(timeout_ms);
    struct tjob *job;
    int err = 0;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        uint64_t now = monotonic_ns(), wake = tq_expire(p, now);
        if (p->ready.n > 0)
            break;
        if (p->pending.n == 0 && p->running == 0) {
            err = ENOENT;
            break;
        }
        if (now >= until) {
            err = ETIMEDOUT;
            break;
        }
        if (until < wake)
            wake = until;
        p->getters++;
        if (wake == UINT64_MAX) {
            pthread_cond_wait(&p->done, &p->lock);
        } else {
            struct timespec ts = to_timespec(wake);
            pthread_cond_timedwait(&p->done, &p->lock, &ts);
        }
        p->getters--;
    }
    job = err == 0 ? tq_pop(&p->ready) : NULL;
    pthread_mutex_unlock(&p->lock);
    if (job == NULL)
        return err;
    *result = job->result;
    free(job);
    return 0;
}
/* end region: get */

/* The shared loop (pool_collect.h) calls a get through a void pointer:
 * this adapter, like pool.c's, gives it this pool's own. */
static int get_one(void *p, int timeout_ms, struct pool_result *result)
{
    return tpool_get(p, timeout_ms, result);
}

int tpool_get_all(struct tpool *p, int timeout_ms, struct pool_result **results, size_t *count)
{
    return collect_results(get_one, p, timeout_ms, results, count);
}

struct pool_counts tpool_counts(struct tpool *p)
{
    struct pool_counts c;

    pthread_mutex_lock(&p->lock);
    c = (struct pool_counts){
        .pending = p->pending.n,
        .running = p->running,
        .ready = p->ready.n,
        .done = p->done_count,
        .workers = (size_t)p->alive,
        .forks = p->started,
    };
    pthread_mutex_unlock(&p->lock);
    return c;
}

int tpool_kill(struct tpool *p, uint64_t id)
{
    int err = ESRCH;

    pthread_mutex_lock(&p->lock);
    struct tjob *job = tq_remove(&p->pending, id);
    if (job != NULL) {
        tq_finish(p, job, POOL_CANCELLED, NULL, 0, "cancelled before it started");
        err = 0;
    }
    for (int i = 0; err == ESRCH && i < p->opt.threads; i++)
        for (size_t k = 0; k < p->slots[i].taken_n; k++)
            if (p->slots[i].taken[k]->id == id && !p->slots[i].taken[k]->abandoned)
                err = tq_cancel_taken(p, p->slots[i].taken[k]) ? 0 : EBUSY;
    pthread_mutex_unlock(&p->lock);
    return err;
}

int tpool_kill_all(struct tpool *p, int timeout_ms)
{
    uint64_t until = deadline_after(timeout_ms);
    struct tjob *job;
    int err = 0;

    pthread_mutex_lock(&p->lock);
    while ((job = tq_pop(&p->pending)) != NULL)
        tq_finish(p, job, POOL_CANCELLED, NULL, 0, "cancelled before it started");
    for (int i = 0; i < p->opt.threads; i++)
        for (size_t k = 0; k < p->slots[i].taken_n; k++)
            if (!p->slots[i].taken[k]->abandoned)
                tq_cancel_taken(p, p->slots[i].taken[k]);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    while (p->alive > 0) {
        if (until == UINT64_MAX) {
            pthread_cond_wait(&p->ended, &p->lock);
        } else {
            struct timespec ts = to_timespec(until);
            if (monotonic_ns() >= until) {
                err = ETIMEDOUT;
                break;
            }
            pthread_cond_timedwait(&p->ended, &p->lock, &ts);
        }
    }
    if (err == 0)
        tq_join_exited(p);
    pthread_mutex_unlock(&p->lock);
    return err;
}
