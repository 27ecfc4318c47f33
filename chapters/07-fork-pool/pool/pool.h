/* pool.h - a process pool: jobs run in child processes, results come back
 * as frames over a socketpair, in whatever order the jobs finish.
 *
 * At most `workers` children run at once; further jobs wait in a queue.
 * Three modes behind one API:
 *   POOL_FORK     a fresh child per job, which sends its result and exits
 *                 (the PHP articles' pool, done properly);
 *   POOL_PREFORK  persistent workers, each taking many jobs over its
 *                 socketpair; jobs go in batches (up to `batch` jobs in
 *                 one frame and one write, their results back in one
 *                 frame), and each worker holds up to `prefetch` jobs, so
 *                 that one finishing a batch finds the next waiting;
 *   POOL_SYNC     no child at all: pool_submit() runs the job in the caller
 *                 (for debugging: a debugger and a crash stay in one process).
 *
 * Faults are results, never hangs: a job whose process crashes, exits,
 * overruns its time limit or writes a malformed frame yields a result that
 * says so, and the pool carries on with the others.
 *
 * Children are reaped on SIGCHLD: the pool's handler only writes a byte to a
 * pipe, and the pool's loop (inside pool_get) calls waitpid() for each child
 * it knows.  A child that dies before the pool has recorded it stays a
 * zombie until then, and the byte it left in the pipe makes the loop look
 * again.  The handler calls the one installed before the first pool.
 *
 * A pool belongs to one thread; the functions are not reentrant (a hook
 * must not call them).  Memory exhaustion is fatal (die.h), as everywhere in
 * ipclab.
 */
#ifndef IPCLAB_POOL_H
#define IPCLAB_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define POOL_ARG_MAX 4096        /* bytes of argument a job carries */
#define POOL_OUTPUT_MAX 4096     /* bytes of output a job may return */
#define POOL_WORKERS_MAX 128     /* cleanup.h holds 256 entries in all */
#define POOL_BATCH_MAX 32        /* jobs in one frame */
#define POOL_PREFETCH_MAX 64     /* jobs a prefork worker holds */

/* A job: reads its argument (arg_len bytes, copied at submission, not
 * aligned: memcpy it), writes at most cap bytes of output to out and
 * returns how many it wrote.  Returning more than cap is a bug: the worker
 * aborts, and the job's result says "killed by SIGABRT". */
typedef size_t (*pool_job_fn)(const void *arg, size_t arg_len, void *out, size_t cap);

enum pool_outcome {
    POOL_DONE,        /* the job returned: output holds len bytes */
    POOL_EXITED,      /* its process exited (status in code) without a result */
    POOL_KILLED,      /* its process was killed by signal `code`: a crash,
                         or pool_kill() */
    POOL_TIMED_OUT,   /* it ran past the time limit (its worker was killed) */
    POOL_BAD_FRAME,   /* its worker sent something that is not its result */
    POOL_CANCELLED,   /* pool_kill() or pool_kill_all() before it started */
};

struct pool_result {
    uint64_t id;                 /* what pool_submit() returned */
    enum pool_outcome outcome;
    int code;                    /* exit status or signal number, else 0 */
    pid_t pid;                   /* the process that ran it, 0 if none */
    size_t len;                  /* POOL_DONE: bytes of output */
    unsigned char *output;       /* POOL_DONE: len bytes + a zero byte,
                                    malloc'd; NULL otherwise */
    char detail[96];             /* "killed by SIGSEGV", ... */
};

/* "done", "exited", "killed", "timed out", "bad frame", "cancelled". */
const char *pool_outcome_name(enum pool_outcome outcome);

/* Frees what a result owns (its output). */
void pool_result_free(struct pool_result *result);
void pool_results_free(struct pool_result *results, size_t count);

/* What the pool holds now. */
struct pool_counts {
    size_t pending;   /* submitted, not yet handed to a worker */
    size_t running;   /* handed to a worker (prefork: maybe still in its
                         socket, behind the job it runs) */
    size_t ready;     /* finished; the result waits for pool_get() */
    size_t done;      /* results produced so far, collected or not */
    size_t workers;   /* worker processes (or threads) alive */
    uint64_t forks;   /* processes (or threads) started so far */
};

enum pool_mode { POOL_FORK, POOL_PREFORK, POOL_SYNC };

struct pool_options {
    int workers;            /* 1..POOL_WORKERS_MAX children at once */
    enum pool_mode mode;
    int time_limit_ms;      /* per job, from its start; 0: no limit */
    int prefetch;           /* prefork: jobs a worker holds at once,
                               1..POOL_PREFETCH_MAX; 0 means 8 batches
                               (at most POOL_PREFETCH_MAX) */
    int batch;              /* prefork: jobs in one frame, 1..POOL_BATCH_MAX
                               (at most prefetch); 0 means 8, or prefetch
                               if that is less.  A worker is sent at most
                               (jobs queued / workers), at least 1: a
                               lone job goes at once.  If a job
                               kills its worker, that job's result says
                               so; the jobs of its batch that ran before
                               it are done, those after it are queued
                               again (they never started). */
    int stall_ms;           /* how long a frame may stall half-received
                               before it counts as malformed; 0 means 1000 */
    /* Called after each fork, like fork() returns: in the child with 0
     * (before it runs any job), and in the parent with the child's pid
     * (before the pool records the child).  NULL: none. */
    void (*after_fork)(pid_t pid, void *data);
    void *hook_data;
};

struct pool;

/* Creates a pool.  Returns 0, EINVAL (an option out of range), ENOSPC (16
 * pools exist already), or what pipe() or sigaction() failed with. */
int pool_create(struct pool **out, const struct pool_options *options);

/* Kills and reaps every child, frees every result not collected. */
void pool_destroy(struct pool *pool);

/* Queues fn(arg) and starts it if a worker is idle (prefork: holds no
 * job; other jobs wait for pool_get, whose loop sends them in batches to
 * workers with room); stores the job's id
 * (1, 2, ...) in *id if id is not NULL.  POOL_SYNC runs it right here.
 * Returns 0 or EINVAL (fn is NULL, arg_len > POOL_ARG_MAX).  A failed fork
 * leaves the job queued; pool_get() retries and reports it. */
int pool_submit(struct pool *pool, pool_job_fn fn, const void *arg, size_t arg_len,
                uint64_t *id);

/* Waits up to timeout_ms (-1: no limit, 0: only what is there now) for the
 * next result, in the order jobs finish.  Returns 0 with *result filled
 * (free it with pool_result_free), ENOENT if no job is left to wait for,
 * ETIMEDOUT, or the errno of a fork that failed with no worker alive. */
int pool_get(struct pool *pool, int timeout_ms, struct pool_result *result);

/* Collects results until none is left (returns 0) or timeout_ms passes
 * (returns ETIMEDOUT).  *results (malloc'd, free with pool_results_free and
 * free) and *count hold what was collected either way. */
int pool_get_all(struct pool *pool, int timeout_ms, struct pool_result **results,
                 size_t *count);

struct pool_counts pool_counts(const struct pool *pool);

/* Stops one job.  Queued: its result is POOL_CANCELLED at once.  Running:
 * its worker gets sig, and the result says how the process ended.  Handed
 * to a prefork worker but not started: POOL_CANCELLED at once, and whatever
 * the worker later does with it is dropped.  Returns 0 or ESRCH (no such
 * job waiting or running). */
int pool_kill(struct pool *pool, uint64_t id, int sig);

/* Cancels every queued job, sends sig to every worker, and reaps them all
 * (SIGKILL after a second for any that survive): on return the pool has no
 * child.  Running jobs' results say how their process ended; jobs held but
 * not started are POOL_CANCELLED.  The pool stays usable. */
void pool_kill_all(struct pool *pool, int sig);

/* In a worker process: its end of the socketpair to the parent; -1
 * elsewhere.  Anything written there that is not the pool's own result
 * frame is reported as POOL_BAD_FRAME (the tests use it to misbehave). */
int pool_channel(void);

#endif
