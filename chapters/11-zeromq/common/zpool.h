/* zpool.h - what the distributed pool's dispatcher (zmq_pool) and its
 * workers (zmq_pool_worker) say to each other, and the job they run.
 *
 * A worker's DEALER socket connects to the dispatcher's ROUTER; the ROUTER
 * sees each worker as an identity frame, so it can send a job to exactly
 * one worker.  Every message is one text frame after that identity:
 *   worker -> dispatcher   "READY <host> <pid>"          (once, on joining)
 *                          "RESULT <job> <outcome> <code> <ms> <pid>"
 *   dispatcher -> worker   "JOB <job> <limit_ms> <spec>"  (one at a time)
 *                          "STOP"
 * The outcomes are chapter 07's: a fault is a result, never a hang.  A
 * job the dispatcher never hears back about (its worker died) is sent to
 * another worker, or reported as lost after a bound.  The dispatcher keeps
 * up to --inflight jobs out at each worker (its credit): they wait in the
 * worker's socket, so the next job is there when the last one ends and
 * the round trip over the network is not paid between two jobs.
 */
#ifndef IPCLAB_ZPOOL_H
#define IPCLAB_ZPOOL_H

#include <stdbool.h>
#include <stdint.h>

enum zpool_outcome {
    ZPOOL_DONE,        /* the job finished: exit status 0 */
    ZPOOL_EXITED,      /* its process exited with status `code` */
    ZPOOL_KILLED,      /* its process was killed by signal `code` */
    ZPOOL_TIMED_OUT,   /* it ran past its limit; its worker killed it */
    ZPOOL_LOST,        /* the dispatcher: no worker gave a result in time */
    ZPOOL_OUTCOMES
};

/* "done", "exited", "killed", "timed out", "lost". */
const char *zpool_outcome_name(enum zpool_outcome outcome);

/* The job specs the dispatcher hands out, and what they parse into:
 *   "ok MS"     works MS milliseconds, then succeeds
 *   "exit C"    exits with status C
 *   "crash"     aborts (killed by SIGABRT)
 *   "hang"      never ends by itself (timed out)
 * zpool_run() runs one in a new child process (a fork per job) and waits
 * at most limit_ms.  Returns the outcome; *code gets the status or signal,
 * *pid the child. */
enum zpool_kind { ZPOOL_OK, ZPOOL_EXIT, ZPOOL_CRASH, ZPOOL_HANG, ZPOOL_UNKNOWN };
struct zpool_job {
    int kind;                            /* enum zpool_kind */
    long arg;                            /* ms for ok, the status for exit */
};
struct zpool_job zpool_parse(const char *spec);

/* Runs a parsed job in the calling process: only async-signal-safe calls
 * (the caller is a child forked from a process with zmq's threads).  An
 * ok job returns; every other kind ends the process. */
void zpool_job_body(struct zpool_job job);

/* Resets the stop signals to their default in a job's process: the
 * worker's handlers only set a flag, the job dies of them. */
void zpool_job_signals(void);

enum zpool_outcome zpool_run(const char *spec, long limit_ms, int *code, int *pid);

/* What a fork per job and a kept child both do (zpool_job.c).
 * zpool_wait_readable(): waits until fd is readable (1), the deadline
 * (monotonic_ns) passes (0) or a stop signal comes (-1).  zpool_reap():
 * waits for the child pid, forgets its cleanup handle, returns its wait
 * status.  zpool_outcome_of(): that status as an outcome, with the exit
 * status or the signal in *code (0 when timed_out). */
int zpool_wait_readable(int fd, uint64_t deadline);
int zpool_reap(int pid, int handle);
enum zpool_outcome zpool_outcome_of(int status, bool timed_out, int *code);

/* Prefork (zpool_child.c): one child that lives across jobs, fed over a
 * socketpair, as chapter 07's workers are.  zpool_child_run() sends it a
 * job and waits at most limit_ms for its one-byte answer.  A child that
 * dies (exit, crash) or overruns (killed by the worker) gives the same
 * outcome as a fork per job, and a new child is forked for the next job:
 * c->forks counts them. */
struct zpool_child {
    int pid, fd, handle;
    long forks;
};
void zpool_child_init(struct zpool_child *c);
enum zpool_outcome zpool_child_run(struct zpool_child *c, const char *spec, long limit_ms,
                                   int *code, int *pid);
/* Closes the socketpair (the child reads end-of-file and leaves), kills
 * it should a job hold it still, and reaps it. */
void zpool_child_stop(struct zpool_child *c);

#define ZPOOL_TEXT_MAX 256

#endif
