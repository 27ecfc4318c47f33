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
#include <signal.h>
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
 *
 * The child dies with its parent: it gets FORK_CHILD_DEATH_SIGNAL when the
 * parent dies, even by SIGKILL, when no cleanup of the parent's runs
 * (Linux's PR_SET_PDEATHSIG; a parent that died before the child asked is
 * noticed too).  The kernel sends it when the *thread* that forked ends, so
 * fork from a thread that lives as long as the children (main, usually).
 * The setting is not inherited by the child's own children; it survives
 * exec (except of a set-user-ID program).
 *
 * Like fork(): returns 0 in the child, the child's pid in the parent, which
 * gets the cleanup handle in *handle (cleanup_forget() it once the child is
 * reaped), or -1 with errno set (no child is left running).
 *
 * How a child ends, the one rule for every child of fork_child():
 *   - a child that runs a body and returns from it calls exit() (as
 *     workers_start()'s workers do): its own stdio is flushed and its own
 *     cleanup entries run; the parent's entries are skipped by owner pid,
 *     and nothing of the parent's is buffered (flushed before the fork);
 *   - a child whose exec failed calls _exit(127) (127: the shell's "could
 *     not run it"): no atexit handler and no stdio buffer inherited from the
 *     parent may run or be written a second time, and die() would exit().
 *     Report the failure first with write(2) or a flushed fprintf(stderr). */
#define FORK_CHILD_DEATH_SIGNAL SIGTERM
pid_t fork_child(int *handle);
pid_t fork_child_or_die(int *handle);

/* The same, but no death signal is asked for: if the parent dies (even by
 * SIGKILL) the child lives on, reparented.  For a child whose lesson is
 * noticing that by itself (shm_file's reader checks getppid()).  Asking for
 * the signal and turning it off in the child would leave a window: a parent
 * dying before the child ran would take it down. */
pid_t fork_child_outliving_parent_or_die(int *handle);

/* Describes a wait status: "exited with status 0", "exited with status 3",
 * "killed by SIGKILL", "killed by SIGSEGV (core dumped)". */
void wait_status_describe(int status, char *buf, size_t size);

/* Start, release, wait and free in one call; dies if a call fails.
 * Returns the number of workers that failed.  If elapsed_ns is not NULL it
 * receives the time from the release of the barrier to the last worker
 * reaped: the work, without the forks. */
int workers_run(int count, worker_fn fn, void *arg, uint64_t *elapsed_ns);

#endif
