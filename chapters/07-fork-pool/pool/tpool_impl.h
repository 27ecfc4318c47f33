/* tpool_impl.h - what the two files of the thread pool share (tpool.h is
 * the API): tpool_thread.c holds the threads and the queues, tpool.c the
 * API.  Everything here is used with the pool's mutex held, unless said. */
#ifndef IPCLAB_TPOOL_IMPL_H
#define IPCLAB_TPOOL_IMPL_H

#include "job_queue.h"
#include "tpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

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

/* tpool_thread.c */
JOB_QUEUE(tq, struct tjobq, struct tjob)     /* tq_push, tq_pop, tq_remove */
/* Fills the result and wakes a waiting getter. */
void tq_finish(struct tpool *p, struct tjob *job, enum pool_outcome outcome, unsigned char *output,
            size_t len, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Runs a job (no lock needed); returns its output, malloc'd. */
unsigned char *tq_run_job(pool_job_fn fn, const void *arg, size_t arg_len, unsigned char *buf,
                       size_t *len);
void tq_join_exited(struct tpool *p);
/* Starts a thread if jobs wait and none is idle: 0 or pthread_create's error. */
int tq_ensure_thread(struct tpool *p);
/* Reports every job past its limit; returns the next deadline. */
uint64_t tq_expire(struct tpool *p, uint64_t now);
/* Cancels a job taken in a batch if it has not started. */
bool tq_cancel_taken(struct tpool *p, struct tjob *job);

#endif
