/* tpool.c - see tpool.h. */
#include "tpool.h"

#include "clock.h"
#include "die.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
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

struct slot {
    struct tpool *pool;
    int index;
    enum slot_state state;      /* EXITED: returned, not yet joined */
    pthread_t thread;
    struct tjob *job;           /* the job it runs, or NULL */
};

struct tpool {
    struct tpool_options opt;
    pthread_mutex_t lock;
    pthread_cond_t work;        /* "a job is queued, or stop": threads wait */
    pthread_cond_t done;        /* "a result is ready": tpool_get waits */
    pthread_cond_t ended;       /* "a thread returned": tpool_kill_all waits */
    struct slot *slots;
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
static void *thread_main(void *arg)
{
    struct slot *s = arg;
    struct tpool *p = s->pool;
    unsigned char buf[POOL_OUTPUT_MAX];

    if (p->opt.after_start != NULL)
        p->opt.after_start(s->index, p->opt.hook_data);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        struct tjob *job;
        unsigned char *output;
        size_t len;

        while (p->pending.n == 0 && !p->stopping) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->lock);
            p->idle--;
        }
        job = pop(&p->pending);
        if (job == NULL)
            break;                       /* stopping, and nothing queued */
        job->started_ns = monotonic_ns();
        s->job = job;
        p->running++;
        /* A getter waiting already knows no deadline for this job: wake it
         * to take the new one into account. */
        if (p->opt.time_limit_ms > 0 && p->getters > 0)
            pthread_cond_broadcast(&p->done);
        pthread_mutex_unlock(&p->lock);

        output = run_job(job->fn, job->arg, job->arg_len, buf, &len);

        pthread_mutex_lock(&p->lock);
        s->job = NULL;
        if (job->abandoned) {            /* reported already: drop it */
            free(output);
            free(job);
        } else {
            p->running--;
            finish(p, job, POOL_DONE, output, len, "returned %zu bytes", len);
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
        options->time_limit_ms < 0)
        return EINVAL;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return ENOMEM;
    p->opt = *options;
    p->next_id = 1;
    p->slots = calloc((size_t)p->opt.threads, sizeof *p->slots);
    if (p->slots == NULL) {
        free(p);
        return ENOMEM;
    }
    for (int i = 0; i < p->opt.threads; i++) {
        p->slots[i].pool = p;
        p->slots[i].index = i;
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

/* tpool_get() until nothing is left or the time is up (pool.c's
 * pool_get_all() is the same loop on the process pool). */
int tpool_get_all(struct tpool *p, int timeout_ms, struct pool_result **results, size_t *count)
{
    uint64_t until = deadline_after(timeout_ms);
    size_t n = 0, cap = 0;
    struct pool_result *all = NULL;
    int err;

    for (;;) {
        uint64_t now = monotonic_ns();
        int left = until == UINT64_MAX ? -1
                 : now >= until ? 0 : (int)((until - now + 999999u) / 1000000u);
        struct pool_result r;

        if ((err = tpool_get(p, left, &r)) != 0)
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct pool_result *bigger = realloc(all, cap * sizeof *all);
            if (bigger == NULL)
                fatal("out of memory collecting results");
            all = bigger;
        }
        all[n++] = r;
    }
    *results = all;
    *count = n;
    return err == ENOENT ? 0 : err;
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
        if (p->slots[i].job != NULL && p->slots[i].job->id == id && !p->slots[i].job->abandoned)
            err = EBUSY;
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
