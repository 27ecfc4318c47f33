/* tpool_thread.c - the thread pool's threads (tpool.h): the queues under
 * the mutex, what a thread does, starting and joining threads, time
 * limits, and cancelling a job a thread took but has not started. */
#include "tpool_impl.h"

#include "clock.h"
#include "die.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- results (the queues: job_queue.h) ------------------------------- */

/* With the lock held: fills the result and wakes a waiting getter. */
void tq_finish(struct tpool *p, struct tjob *job, enum pool_outcome outcome,
                   unsigned char *output, size_t len, const char *fmt, ...)
{
    struct pool_result *r = &job->result;
    va_list ap;

    r->id = job->id;
    r->outcome = outcome;
    r->code = 0;
    r->pid = 0;
    r->output = output;
    r->len = len;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
    tq_push(&p->ready, job);
    p->done_count++;
    if (p->getters > 0)                  /* nobody to wake: skip the call */
        pthread_cond_signal(&p->done);
}

unsigned char *tq_run_job(pool_job_fn fn, const void *arg, size_t arg_len,
                              unsigned char *buf, size_t *len)
{
    size_t n = fn(arg, arg_len, buf, POOL_OUTPUT_MAX);
    unsigned char *copy;

    if (n > POOL_OUTPUT_MAX)
        abort();                         /* the job broke its contract */
    copy = malloc(n + 1);
    if (copy == NULL)
        fatal("tpool: out of memory for a job's output");
    memcpy(copy, buf, n);
    copy[n] = '\0';
    *len = n;
    return copy;
}

/* --- the threads -------------------------------------------------------- */

/* region: thread */
/* With the lock held: how many jobs a thread takes at once.  Its share of
 * the queue, so that a short queue spreads over the threads. */
static size_t take_count(const struct tpool *p)
{
    size_t k = p->pending.n / (size_t)p->opt.threads;

    if (p->opt.time_limit_ms > 0 || k < 1)
        return 1;
    return k > (size_t)p->opt.batch ? (size_t)p->opt.batch : k;
}

static void *thread_main(void *arg)
{
    struct slot *s = arg;
    struct tpool *p = s->pool;
    unsigned char buf[POOL_OUTPUT_MAX];
    unsigned char *output[POOL_BATCH_MAX];
    size_t len[POOL_BATCH_MAX];

    if (p->opt.after_start != NULL)
        p->opt.after_start(s->index, p->opt.hook_data);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        size_t k;

        while (p->pending.n == 0 && !p->stopping) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->lock);
            p->idle--;
        }
        if (p->pending.n == 0)
            break;                       /* stopping, and nothing queued */
        /* Take a batch under the lock; run it without. */
        k = take_count(p);
        for (size_t i = 0; i < k; i++) {
            s->taken[i] = tq_pop(&p->pending);
            atomic_store(&s->taken[i]->phase, TAKEN);
        }
        s->taken_n = k;
        s->taken[0]->started_ns = monotonic_ns();
        s->job = k == 1 ? s->taken[0] : NULL;
        p->running += k;
        /* A getter waiting already knows no deadline for this job: wake it
         * to take the new one into account. */
        if (p->opt.time_limit_ms > 0 && p->getters > 0)
            pthread_cond_broadcast(&p->done);
        pthread_mutex_unlock(&p->lock);

        for (size_t i = 0; i < k; i++) {
            struct tjob *job = s->taken[i];
            int taken = TAKEN;
            output[i] = NULL;
            if (atomic_compare_exchange_strong(&job->phase, &taken, STARTED))
                output[i] = tq_run_job(job->fn, job->arg, job->arg_len, buf, &len[i]);
        }

        /* Hand the results back under the lock, all at once. */
        pthread_mutex_lock(&p->lock);
        s->job = NULL;
        s->taken_n = 0;
        for (size_t i = 0; i < k; i++) {
            struct tjob *job = s->taken[i];
            if (job->abandoned || atomic_load(&job->phase) == CANCELLED) {
                free(output[i]);         /* reported already: drop it */
                free(job);
            } else {
                p->running--;
                tq_finish(p, job, POOL_DONE, output[i], len[i], "returned %zu bytes", len[i]);
            }
        }
    }
    s->state = SLOT_EXITED;
    p->alive--;
    pthread_cond_broadcast(&p->ended);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}
/* end region: thread */

void tq_join_exited(struct tpool *p)
{
    for (int i = 0; i < p->opt.threads; i++) {
        if (p->slots[i].state == SLOT_EXITED) {
            pthread_join(p->slots[i].thread, NULL);
            p->slots[i].state = SLOT_FREE;
        }
    }
}

/* With the lock held: starts a thread if jobs wait and no thread is idle
 * to take them.  Returns 0 or pthread_create's error. */
int tq_ensure_thread(struct tpool *p)
{
    struct slot *s = NULL;
    int err;

    if ((size_t)p->idle >= p->pending.n || p->alive >= p->opt.threads)
        return 0;
    for (int i = 0; i < p->opt.threads && s == NULL; i++)
        if (p->slots[i].state != SLOT_RUNNING)
            s = &p->slots[i];
    if (s->state == SLOT_EXITED)
        pthread_join(s->thread, NULL);   /* returned already: no wait */
    s->state = SLOT_RUNNING;
    s->job = NULL;
    s->taken_n = 0;
    err = pthread_create(&s->thread, NULL, thread_main, s);
    if (err != 0) {
        s->state = SLOT_FREE;
        return err;
    }
    p->alive++;
    p->started++;
    return 0;
}

/* With the lock held: reports every job past its limit.  Its thread runs
 * on; the result says so, and the job's own output is dropped later. */
uint64_t tq_expire(struct tpool *p, uint64_t now)
{
    uint64_t limit = (uint64_t)p->opt.time_limit_ms * 1000000u, next = UINT64_MAX;

    if (limit == 0)
        return next;
    for (int i = 0; i < p->opt.threads; i++) {
        struct tjob *job = p->slots[i].job;
        if (job == NULL || job->abandoned)
            continue;
        if (now - job->started_ns < limit) {
            if (job->started_ns + limit < next)
                next = job->started_ns + limit;
            continue;
        }
        struct tjob *report = calloc(1, sizeof *report);
        if (report == NULL)
            fatal("tpool: out of memory");
        report->id = job->id;
        job->abandoned = true;
        p->running--;
        tq_finish(p, report, POOL_TIMED_OUT, NULL, 0,
               "ran past its %d ms time limit; a thread cannot be killed, it runs on",
               p->opt.time_limit_ms);
    }
    return next;
}

/* With the lock held: cancels a job a thread took in its batch, if it has
 * not started (its thread drops it when it comes to it).  Returns false
 * if it runs or ran. */
bool tq_cancel_taken(struct tpool *p, struct tjob *job)
{
    int taken = TAKEN;
    struct tjob *report;

    if (!atomic_compare_exchange_strong(&job->phase, &taken, CANCELLED))
        return false;
    report = calloc(1, sizeof *report);
    if (report == NULL)
        fatal("tpool: out of memory");
    report->id = job->id;
    p->running--;
    tq_finish(p, report, POOL_CANCELLED, NULL, 0, "cancelled before it started");
    return true;
}
