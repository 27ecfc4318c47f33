/* tpool.c - see tpool.h. */
#include "tpool.h"

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

struct tjob {
    struct tjob *next;
    uint64_t id;
    pool_job_fn fn;
    bool abandoned;             /* reported timed out: its output is dropped */
    _Atomic int phase;          /* TAKEN, STARTED or CANCELLED: the thread
                                   and tpool_kill race for it, without the
                                   lock, by compare-and-swap */
    uint64_t started_ns;
    struct pool_result result;
    size_t arg_len;
    unsigned char arg[];
};

struct tjobq {
    struct tjob *head, *tail;
    size_t n;
};

enum slot_state { SLOT_FREE, SLOT_RUNNING, SLOT_EXITED };
enum { TAKEN, STARTED, CANCELLED };

struct slot {
    struct tpool *pool;
    int index;
    enum slot_state state;      /* EXITED: returned, not yet joined */
    pthread_t thread;
    struct tjob *job;           /* the job it runs, or NULL (batch 1) */
    struct tjob **taken;        /* the batch it took (batch > 1) */
    size_t taken_n;
};

struct tpool {
    struct tpool_options opt;
    pthread_mutex_t lock;
    pthread_cond_t work;        /* "a job is queued, or stop": threads wait */
    pthread_cond_t done;        /* "a result is ready": tpool_get waits */
    pthread_cond_t ended;       /* "a thread returned": tpool_kill_all waits */
    struct slot *slots;
    struct tjob **taken;        /* every slot's batch, one allocation */
    int alive, idle;            /* threads running; of those, waiting for work */
    int getters;                /* callers waiting on `done` */
    bool stopping;
    struct tjobq pending, ready;
    size_t running, done_count;
    uint64_t next_id, started;
};

/* --- queues and results --------------------------------------------- */

static void push(struct tjobq *q, struct tjob *job)
{
    job->next = NULL;
    if (q->tail != NULL)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    q->n++;
}

static struct tjob *pop(struct tjobq *q)
{
    struct tjob *job = q->head;

    if (job != NULL) {
        q->head = job->next;
        if (q->head == NULL)
            q->tail = NULL;
        q->n--;
    }
    return job;
}

/* With the lock held: fills the result and wakes a waiting getter. */
__attribute__((format(printf, 6, 7)))
static void finish(struct tpool *p, struct tjob *job, enum pool_outcome outcome,
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
    push(&p->ready, job);
    p->done_count++;
    if (p->getters > 0)                  /* nobody to wake: skip the call */
        pthread_cond_signal(&p->done);
}

static unsigned char *run_job(pool_job_fn fn, const void *arg, size_t arg_len,
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
            s->taken[i] = pop(&p->pending);
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
                output[i] = run_job(job->fn, job->arg, job->arg_len, buf, &len[i]);
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
                finish(p, job, POOL_DONE, output[i], len[i], "returned %zu bytes", len[i]);
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

static void join_exited(struct tpool *p)
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
static int ensure_thread(struct tpool *p)
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
static uint64_t expire(struct tpool *p, uint64_t now)
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
        finish(p, report, POOL_TIMED_OUT, NULL, 0,
               "ran past its %d ms time limit; a thread cannot be killed, it runs on",
               p->opt.time_limit_ms);
    }
    return next;
}

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
    while ((job = pop(&p->ready)) != NULL) {
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
        unsigned char *output = run_job(fn, job->arg, arg_len, buf, &len);
        pthread_mutex_lock(&p->lock);
        job->id = job_id = p->next_id++;
        finish(p, job, POOL_DONE, output, len, "returned %zu bytes", len);
        pthread_mutex_unlock(&p->lock);
    } else {
        pthread_mutex_lock(&p->lock);
        job->id = job_id = p->next_id++;
        p->stopping = false;
        push(&p->pending, job);
        err = ensure_thread(p);
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
        uint64_t now = monotonic_ns(), wake = expire(p, now);
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
    job = err == 0 ? pop(&p->ready) : NULL;
    pthread_mutex_unlock(&p->lock);
    if (job == NULL)
        return err;
    *result = job->result;
    free(job);
    return 0;
}
/* end region: get */

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

/* With the lock held: cancels a job a thread took in its batch, if it has
 * not started (its thread drops it when it comes to it).  Returns false
 * if it runs or ran. */
static bool cancel_taken(struct tpool *p, struct tjob *job)
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
    finish(p, report, POOL_CANCELLED, NULL, 0, "cancelled before it started");
    return true;
}

int tpool_kill(struct tpool *p, uint64_t id)
{
    int err = ESRCH;

    pthread_mutex_lock(&p->lock);
    for (struct tjob **link = &p->pending.head, *prev = NULL; *link != NULL;
         prev = *link, link = &(*link)->next) {
        struct tjob *job = *link;
        if (job->id != id)
            continue;
        *link = job->next;
        if (p->pending.tail == job)
            p->pending.tail = prev;
        p->pending.n--;
        finish(p, job, POOL_CANCELLED, NULL, 0, "cancelled before it started");
        err = 0;
        break;
    }
    for (int i = 0; err == ESRCH && i < p->opt.threads; i++)
        for (size_t k = 0; k < p->slots[i].taken_n; k++)
            if (p->slots[i].taken[k]->id == id && !p->slots[i].taken[k]->abandoned)
                err = cancel_taken(p, p->slots[i].taken[k]) ? 0 : EBUSY;
    pthread_mutex_unlock(&p->lock);
    return err;
}

int tpool_kill_all(struct tpool *p, int timeout_ms)
{
    uint64_t until = deadline_after(timeout_ms);
    struct tjob *job;
    int err = 0;

    pthread_mutex_lock(&p->lock);
    while ((job = pop(&p->pending)) != NULL)
        finish(p, job, POOL_CANCELLED, NULL, 0, "cancelled before it started");
    for (int i = 0; i < p->opt.threads; i++)
        for (size_t k = 0; k < p->slots[i].taken_n; k++)
            if (!p->slots[i].taken[k]->abandoned)
                cancel_taken(p, p->slots[i].taken[k]);
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
        join_exited(p);
    pthread_mutex_unlock(&p->lock);
    return err;
}
