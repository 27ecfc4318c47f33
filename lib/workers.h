/* workers.h - start N child processes together and account for each one.
 *
 * workers_start() forks every worker first; each waits at a start barrier
 * (a pipe it reads until the parent closes the write end), so that
 * workers_go() releases them all at once and none gets a head start while
 * the others are still being forked.  workers_wait() reaps every worker and
 * reports each one that exited non-zero or was killed, by signal name.
 */
#ifndef IPCLAB_WORKERS_H
#define IPCLAB_WORKERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A worker's body.  index runs from 0 to count - 1.  Its return value is the
 * worker's exit status. */
typedef int (*worker_fn)(int index, void *arg);

struct workers;

/* Forks count workers, each blocked at the barrier until workers_go().
 * Children are registered with cleanup.h, so a signal to the parent takes
 * them down too.  Returns 0 or an errno value (workers already forked are
 * killed and reaped). */
int workers_start(struct workers **out, int count, worker_fn fn, void *arg);

/* Releases the barrier.  Returns 0 or an errno value. */
int workers_go(struct workers *workers);

/* Waits for every worker, writes one line to stderr for each that failed
 * ("worker 2 (pid 4711) killed by SIGKILL") and stores the number that
 * failed.  Returns 0 or an errno value.  workers_free() releases the rest. */
int workers_wait(struct workers *workers, int *failed);

int workers_count(const struct workers *workers);
pid_t workers_pid(const struct workers *workers, int index);

/* Frees the structure (after workers_wait). */
void workers_free(struct workers *workers);

/* Forks one child that cleanup.h is sure to know about.  Between fork() and
 * cleanup_add_child() a SIGINT or SIGTERM would run the cleanup before the
 * child is registered, and the child would live on; so the stop signals are
 * blocked across that gap (one arriving meanwhile is delivered right after
 * the registration, and then stops the child too).  Pending stdio output is
 * flushed first, or the child would print it a second time.
 * Like fork(): returns 0 in the child, the child's pid in the parent, which
 * gets the cleanup handle in *handle (cleanup_forget() it once the child is
 * reaped), or -1 with errno set (no child is left running). */
pid_t fork_child(int *handle);
pid_t fork_child_or_die(int *handle);

/* Describes a wait status: "exited with status 0", "exited with status 3",
 * "killed by SIGKILL", "killed by SIGSEGV (core dumped)". */
void wait_status_describe(int status, char *buf, size_t size);

/* Start, release, wait and free in one call; dies if a call fails.
 * Returns the number of workers that failed.  If elapsed_ns is not NULL it
 * receives the time from the release of the barrier to the last worker
 * reaped: the work, without the forks. */
int workers_run(int count, worker_fn fn, void *arg, uint64_t *elapsed_ns);

#endif
