/* pool_impl.h - what the files of the process pool share.  Not part of the
 * API (pool.h is): only pool*.c include it.
 *
 * The files, one concern each:
 *   pool.c         the API and the parent's loop (pool_get runs it);
 *   pool_worker.c  the worker's states and their transitions, forking,
 *                  reaping, killing, time limits;
 *   pool_io.c      handing jobs to workers (frames out) and reading their
 *                  results (frames in);
 *   pool_child.c   what runs in a worker process;
 *   pool_sigchld.c the SIGCHLD handler and the pools it wakes;
 *   pool_jobs.c    job queues (job_queue.h) and results, and the get_all loop that
 *                  tpool.c shares (pool_collect.h).
 *
 * Frames (lib/frame.h's format: a 4-byte big-endian length, then the
 * payload) both ways, each holding a batch of one or more records:
 *   job frame    (prefork, parent -> worker), per job: id (8 bytes,
 *                big-endian), the job function's address (valid in the
 *                child: fork copied the image), the argument's length (4),
 *                the argument;
 *   result frame (worker -> parent), per job, in the order they ran: id
 *                (8), the output's length (4), the output.
 * A fork-per-job child needs no job frame: it inherited the job; its
 * result frame holds one record.
 *
 * A prefork worker also has a slot in memory it shares with the parent
 * (struct progress): which job it runs since when, and the result frame
 * it is filling.  The parent reads it to enforce time limits and, once the
 * worker is dead, to recover the results of the jobs it finished before it
 * died.
 */
#ifndef IPCLAB_POOL_IMPL_H
#define IPCLAB_POOL_IMPL_H

#include "job_queue.h"
#include "pool.h"

#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define ID_BYTES 8
#define LEN_BYTES 4
#define JOB_HEADER (ID_BYTES + sizeof(pool_job_fn) + LEN_BYTES)
#define JOB_RECORD_MAX (JOB_HEADER + POOL_ARG_MAX)
#define RESULT_HEADER (ID_BYTES + LEN_BYTES)
#define RESULT_RECORD_MAX (RESULT_HEADER + POOL_OUTPUT_MAX)
#define BATCH_DEFAULT 8
#define MAX_POOLS 16
#define KILL_GRACE_MS 1000      /* pool_kill_all: then SIGKILL */
#define REAP_TICK_MS 100        /* look for dead children at least this often */
#define EXIT_TICK_MS 10         /* ... and this often while one is exiting */

struct job {
    struct job *next;
    uint64_t id;
    pool_job_fn fn;
    bool discard;               /* cancelled while a prefork worker held it */
    struct pool_result result;  /* filled when the job ends */
    size_t arg_len;
    unsigned char arg[];
};

struct jobq {
    struct job *head, *tail;
    size_t n;
};

/* region: states */
/* A worker's state.  Every change goes through worker_enter()
 * (pool_worker.c), which knows the allowed transitions:
 *
 *   FREE -> TAKING          forked (spawn)
 *   TAKING -> DRAINING      a send to it failed, or the pool signalled it
 *                           (pool_kill, pool_kill_all)
 *   TAKING, DRAINING -> DEAF   its stream ended or broke (EOF, a malformed
 *                           frame), or the pool SIGKILLed it (time limit)
 *   TAKING, DRAINING, DEAF -> REAPED   waitpid() returned it: what it sent
 *                           is read, every job it held is settled
 *   REAPED -> FREE          the slot is free again
 * A reaped worker stays REAPED whatever else is asked (a malformed frame
 * found in what it left): nothing can happen to a process that is gone,
 * and its pid may already be another process's.
 *
 * What its death means for the jobs it held is data, not state: `doomed`
 * (the job pool_kill aimed at), `cancel_rest` (pool_kill_all), and
 * `signal_sent` (whether the pool killed it at all). */
enum worker_state {
    W_FREE,       /* no process in this slot */
    W_TAKING,     /* alive: it is given jobs and its results are read */
    W_DRAINING,   /* alive, given no more jobs; its results are still read */
    W_DEAF,       /* nothing more is read from it; it is dying: reap it */
    W_REAPED,     /* waited for; its jobs are being settled */
};
/* end region: states */

struct worker {
    enum worker_state state;
    pid_t pid;
    int fd;                     /* the parent's end of the socketpair */
    int cleanup;                /* cleanup.h handle: a signal kills it too */
    int signal_sent;            /* the last signal the pool sent it, 0: none.
                                   Then its death is not the fault of the job
                                   it holds, unless that job is `doomed` */
    uint64_t doomed;            /* the job pool_kill aimed at, 0: none */
    bool cancel_rest;           /* pool_kill_all: held jobs are cancelled,
                                   not queued again */
    size_t unsent;              /* the newest jobs held, not yet sent */
    struct jobq inflight;       /* oldest (the running one) first */
    uint64_t started_ns;        /* fork-per-job: when its job started */
    struct progress *progress;  /* prefork: its shared slot; NULL otherwise */
};

/* region: progress */
/* A prefork worker's slot in the memory it shares with the parent (one
 * MAP_SHARED mapping made before the first fork).  The worker writes, the
 * parent reads: while the worker lives, only `current`, `started_ns` and
 * `busy` (time limits, pool_kill); once it is reaped, everything. */
struct progress {
    _Atomic uint64_t current;     /* the last job it started, 0: none yet */
    _Atomic uint64_t started_ns;  /* when (monotonic_ns(), any process) */
    _Atomic uint32_t busy;        /* 1 while `current` runs */
    _Atomic uint32_t filled;      /* bytes of records in frame[4...] */
    unsigned char frame[];        /* the result frame being filled: length, records */
};
/* end region: progress */

/* Whether the loop polls and reads the worker's socket. */
static inline bool worker_reads(const struct worker *w)
{
    return w->state == W_TAKING || w->state == W_DRAINING;
}

struct pool {
    struct pool_options opt;
    struct worker *w;
    int live;                   /* slots not FREE */
    struct jobq pending, ready;
    size_t running;             /* jobs in workers' inflight, not discarded */
    size_t done;
    uint64_t next_id, forks;
    int wake[2];                /* the SIGCHLD handler writes to wake[1] */
    int slot;                   /* in pool_sigchld.c's registry */
    int spawn_error;            /* the last fork or socketpair failure */
    struct pollfd *pfd;
    struct worker **pfd_worker;
    unsigned char *tx, *rx;
    unsigned char *shared;      /* prefork: the workers' progress slots */
    size_t slot_bytes;          /* the size of one */
};

/* pool_jobs.c */
void put_u64(unsigned char *b, uint64_t v);
uint64_t get_u64(const unsigned char *b);
JOB_QUEUE(jobq, struct jobq, struct job)    /* jobq_push, jobq_pop, jobq_remove */
void jobq_prepend(struct jobq *to, struct jobq *from);   /* keeps from's order */
void jobq_free(struct jobq *q);
void put_u32(unsigned char *b, uint32_t v);
uint32_t get_u32(const unsigned char *b);
/* Fills the job's result (POOL_DONE: the output is the len bytes at out)
 * and moves it to the ready queue. */
void complete(struct pool *p, struct job *job, pid_t pid, enum pool_outcome outcome, int code,
              const unsigned char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
/* Takes the oldest job a worker holds; NULL if none. */
struct job *take_oldest(struct pool *p, struct worker *w);
/* Takes the job `id` out of what a worker holds; NULL if it holds none. */
struct job *take_job(struct pool *p, struct worker *w, uint64_t id);
/* The job a worker runs now and since when; false if none (or unknown). */
bool running_job(const struct worker *w, uint64_t *id, uint64_t *since_ns);

/* pool_sigchld.c */
int registry_add(struct pool *p);
void registry_remove(struct pool *p);
void registry_close_in_child(void);   /* every pool's descriptors; SIGCHLD back */
void drain_wake(struct pool *p);

/* pool_child.c */
/* Runs a job, writes its result record (id, length, output) at rec;
 * returns the record's size. */
size_t run_job(uint64_t id, pool_job_fn fn, const void *arg, size_t arg_len, unsigned char *rec);
_Noreturn void run_worker(struct pool *p, int slot, int fd, const struct job *job);

/* pool_worker.c */
void worker_enter(struct worker *w, enum worker_state to);
void worker_signal(struct worker *w, int sig);
int spawn(struct pool *p, struct job *job);
void bad_frame(struct pool *p, struct worker *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void reap(struct pool *p);
void reap_all_blocking(struct pool *p);
void set_cloexec(int fd);
void enforce_limits(struct pool *p);

/* pool_io.c */
void dispatch(struct pool *p, bool idle_only);
void read_results(struct pool *p, struct worker *w);
/* Settles the jobs a worker holds from the records of a result frame (len
 * bytes at rec), oldest first.  strict (a frame read from the socket): a
 * record for another job than the oldest held is a fault.  Otherwise (the
 * frame left in a dead worker's progress slot) such records are skipped:
 * their results came through the socket already.  Returns true, or false
 * with the fault described in why. */
bool take_results(struct pool *p, struct worker *w, const unsigned char *rec, size_t len,
                  bool strict, char *why, size_t why_size);
bool readable_now(int fd);

#endif
