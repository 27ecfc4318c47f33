/* pool_jobs.c - job queues and results, for the process pool (pool.h).
 *
 * A job lives in exactly one queue at a time: the pool's pending queue, a
 * worker's inflight queue (oldest first: the one it runs), or the ready
 * queue once its result is filled in, until pool_get() hands it out.
 */
#include "pool_impl.h"
#include "pool_collect.h"

#include "clock.h"
#include "die.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void put_u64(unsigned char *b, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char)v;
}

uint64_t get_u64(const unsigned char *b)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

void put_u32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

uint32_t get_u32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Moves every job of from to the front of to, keeping their order. */
void jobq_prepend(struct jobq *to, struct jobq *from)
{
    if (from->head == NULL)
        return;
    from->tail->next = to->head;
    if (to->tail == NULL)
        to->tail = from->tail;
    to->head = from->head;
    to->n += from->n;
    *from = (struct jobq){ NULL, NULL, 0 };
}

void jobq_free(struct jobq *q)
{
    struct job *job;

    while ((job = jobq_pop(q)) != NULL) {
        pool_result_free(&job->result);
        free(job);
    }
}

const char *pool_outcome_name(enum pool_outcome outcome)
{
    switch (outcome) {
    case POOL_DONE:      return "done";
    case POOL_EXITED:    return "exited";
    case POOL_KILLED:    return "killed";
    case POOL_TIMED_OUT: return "timed out";
    case POOL_BAD_FRAME: return "bad frame";
    case POOL_CANCELLED: return "cancelled";
    }
    return "unknown";
}

void pool_result_free(struct pool_result *result)
{
    free(result->output);
    result->output = NULL;
    result->len = 0;
}

void pool_results_free(struct pool_result *results, size_t count)
{
    for (size_t i = 0; i < count; i++)
        pool_result_free(&results[i]);
}

void complete(struct pool *p, struct job *job, pid_t pid, enum pool_outcome outcome,
              int code, const unsigned char *out, size_t len, const char *fmt, ...)
{
    struct pool_result *r = &job->result;
    va_list ap;

    r->id = job->id;
    r->outcome = outcome;
    r->code = code;
    r->pid = pid;
    r->len = 0;
    r->output = NULL;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
    if (outcome == POOL_DONE) {
        r->output = malloc(len + 1);
        if (r->output == NULL)
            fatal("pool: out of memory for a job's output");
        memcpy(r->output, out, len);
        r->output[len] = '\0';
        r->len = len;
    }
    jobq_push(&p->ready, job);
    p->done++;
}

/* A discarded job was counted out of `running` already. */
struct job *take_oldest(struct pool *p, struct worker *w)
{
    struct job *job = jobq_pop(&w->inflight);

    if (job != NULL && !job->discard)
        p->running--;
    return job;
}

struct job *take_job(struct pool *p, struct worker *w, uint64_t id)
{
    struct job *job = jobq_remove(&w->inflight, id);

    if (job != NULL && !job->discard)
        p->running--;
    return job;
}

/* region: collect */
int collect_results(int (*get)(void *pool, int timeout_ms, struct pool_result *result),
                    void *pool, int timeout_ms, struct pool_result **results, size_t *count)
{
    uint64_t until = timeout_ms < 0 ? UINT64_MAX
                                    : monotonic_ns() + (uint64_t)timeout_ms * 1000000u;
    size_t n = 0, cap = 0;
    struct pool_result *all = NULL;
    int err;

    for (;;) {
        uint64_t now = monotonic_ns();
        int left = until == UINT64_MAX ? -1
                 : now >= until ? 0 : (int)((until - now + 999999u) / 1000000u);
        struct pool_result r;

        if ((err = get(pool, left, &r)) != 0)
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
/* end region: collect */
