/* tpool.h - the thread twin of pool.h: the same jobs and the same results,
 * run by threads that share the caller's memory.
 *
 * One mutex guards the queues; condition variables say "a job is queued"
 * (threads wait on it), "a result is ready" (tpool_get waits on it) and "a
 * thread returned" (tpool_kill_all).  Threads start on demand, up to
 * `threads`.
 *
 * What threads cannot do that processes can, and why the API shows it:
 *   - a crash (SIGSEGV, abort) in a job takes the whole program down: there
 *     is no POOL_KILLED or POOL_EXITED result here;
 *   - a running job cannot be killed: tpool_kill() refuses it (EBUSY), and
 *     a job past its time limit is reported POOL_TIMED_OUT at the deadline
 *     but runs on, its thread busy, its output dropped when it returns;
 *   - tpool_kill_all() waits for the running jobs to return.
 *
 * Unlike pool.h, any thread may call these functions.
 */
#ifndef IPCLAB_TPOOL_H
#define IPCLAB_TPOOL_H

#include "pool.h"

#include <stdbool.h>

struct tpool_options {
    int threads;            /* 1..POOL_WORKERS_MAX threads at once */
    bool sync;              /* run each job in the caller at submission */
    int time_limit_ms;      /* per job, from its start; 0: no limit */
    int batch;              /* jobs a thread takes under one lock, their
                               results handed back under one lock:
                               1..POOL_BATCH_MAX, 0 means 1; at most its
                               share of the queue (jobs queued / threads),
                               at least 1.  With a time limit, 1: a job's
                               start must be known to the pool.  A job
                               taken but not started can still be
                               cancelled; it waits behind the others of
                               its batch, though, not for any thread. */
    /* Called in each new thread before its first job, with the thread's
     * index (0..threads-1).  NULL: none. */
    void (*after_start)(int index, void *data);
    void *hook_data;
};

struct tpool;

/* Returns 0, EINVAL, or what initialising the mutex or a condition
 * variable failed with. */
int tpool_create(struct tpool **out, const struct tpool_options *options);

/* Cancels queued jobs, waits for running ones, joins every thread and
 * frees everything, results not collected included. */
void tpool_destroy(struct tpool *pool);

/* As pool_submit().  Returns 0, EINVAL, ENOMEM, or pthread_create's error
 * when no thread runs to take the job (it is then not queued). */
int tpool_submit(struct tpool *pool, pool_job_fn fn, const void *arg, size_t arg_len,
                 uint64_t *id);

/* As pool_get() and pool_get_all(). */
int tpool_get(struct tpool *pool, int timeout_ms, struct pool_result *result);
int tpool_get_all(struct tpool *pool, int timeout_ms, struct pool_result **results,
                  size_t *count);

/* workers: threads alive; forks: threads started so far. */
struct pool_counts tpool_counts(struct tpool *pool);

/* A queued job: POOL_CANCELLED, returns 0.  A running job: EBUSY (a thread
 * cannot be stopped from outside).  Otherwise ESRCH. */
int tpool_kill(struct tpool *pool, uint64_t id);

/* Cancels every queued job, lets the running ones finish, and joins every
 * thread.  Returns 0, or ETIMEDOUT if a job still runs after timeout_ms
 * (-1: no limit); the pool stays usable either way. */
int tpool_kill_all(struct tpool *pool, int timeout_ms);

#endif
