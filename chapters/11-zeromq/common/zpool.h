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
 * another worker, or reported as lost after a bound.
 */
#ifndef IPCLAB_ZPOOL_H
#define IPCLAB_ZPOOL_H

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

/* The job specs the dispatcher hands out:
 *   "ok MS"     works MS milliseconds, then succeeds
 *   "exit C"    exits with status C
 *   "crash"     aborts (killed by SIGABRT)
 *   "hang"      never ends by itself (timed out)
 * zpool_run() runs one in a child process and waits at most limit_ms.
 * Returns the outcome; *code gets the status or signal, *pid the child. */
enum zpool_outcome zpool_run(const char *spec, long limit_ms, int *code, int *pid);

#define ZPOOL_TEXT_MAX 256

#endif
