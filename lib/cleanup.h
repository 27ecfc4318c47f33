/* cleanup.h - remove what the program created, on every exit path.
 *
 * System V objects and POSIX names outlive the process that made them.  A
 * program registers each object right after creating it; the registry
 * removes them in reverse order when the program returns from main, calls
 * exit() (die() does), or receives SIGINT, SIGTERM, SIGHUP, SIGQUIT or
 * SIGPIPE (`prog | head -1` closes the pipe under it).  After a signal it
 * re-raises the signal, so the parent still sees "killed by SIGTERM".
 *
 * The handlers are installed when the program starts (cli_parse() calls
 * cleanup_install()), not at the first registration: a signal that lands
 * between creating an object and registering it would otherwise find no
 * handler.  That gap itself is closed by blocking the stop signals across
 * create + register:
 *
 *     sigset_t saved;
 *     cleanup_block_signals(&saved);
 *     id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
 *     if (id >= 0)
 *         cleanup_check(cleanup_add_sysv_msg(id), "the queue");
 *     cleanup_unblock_signals(&saved);    (a pending SIGTERM lands here)
 *
 * Only the process that registered an entry acts on it: a forked child
 * inherits the registry but never removes its parent's objects.
 *
 * The signal handler only makes system calls (unlink, rmdir, shmctl, semctl,
 * msgctl, mq_unlink, kill, waitpid, nanosleep) on data written before the
 * signal could arrive; registration blocks the signals while it writes.
 */
#ifndef IPCLAB_CLEANUP_H
#define IPCLAB_CLEANUP_H

#include <signal.h>
#include <sys/types.h>

#define CLEANUP_MAX_ENTRIES 256
#define CLEANUP_NAME_MAX 256     /* longest path or name an entry holds */

/* Installs the exit and signal handlers.  cli_parse() calls it first thing;
 * the first registration calls it too, for programs and tests that do not
 * parse options.  Calling it again is harmless.  Returns 0 or an errno. */
int cleanup_install(void);

/* The signals the registry handles (SIGINT, SIGTERM, SIGHUP, SIGQUIT,
 * SIGPIPE), as a set. */
void cleanup_stop_signals(sigset_t *set);

/* Blocks those signals and saves the old mask in *saved; the unblock call
 * restores it, and a signal that arrived in between is delivered then.  Put
 * an object's creation and its cleanup_add_*() between the two. */
void cleanup_block_signals(sigset_t *saved);
void cleanup_unblock_signals(const sigset_t *saved);

/* Each returns a handle (>= 0), or -1 with errno ENOSPC (the table is full),
 * ENAMETOOLONG, or what installing the handlers failed with. */
int cleanup_add_path(const char *path);       /* unlink(): FIFO, socket file */
int cleanup_add_dir(const char *path);        /* rmdir(): a mkdtemp directory */
int cleanup_add_posix_shm(const char *name);  /* shm_unlink() */
int cleanup_add_posix_mq(const char *name);   /* mq_unlink() */
int cleanup_add_posix_sem(const char *name);  /* sem_unlink() */
int cleanup_add_sysv_shm(int shmid);          /* shmctl(IPC_RMID) */
int cleanup_add_sysv_sem(int semid);          /* semctl(IPC_RMID) */
int cleanup_add_sysv_msg(int msqid);          /* msgctl(IPC_RMID) */
int cleanup_add_child(pid_t pid);             /* SIGTERM, then SIGKILL after
                                                 100 ms, and reap */

/* Exiting form of any cleanup_add_*() result: dies naming what failed. */
int cleanup_check(int handle, const char *what);

/* A private System V segment of size bytes, mode 0600, attached and
 * already marked removed: zero-filled, shared with the children forked
 * after it, gone with the last detach whatever the exit.  Created and
 * registered with the stop signals blocked, then removed, so no signal can
 * leave it.  Dies naming the call on error (what names the segment).  Sets
 * *id (if not NULL) for IPC_STAT. */
void *cleanup_private_shm_or_die(size_t size, const char *what, int *id);

/* Removes the object now and forgets it.  Returns 0 or the errno of the
 * removal (an object already gone counts as removed). */
int cleanup_remove(int handle);

/* Forgets an entry without acting: the object was removed another way
 * (a child already reaped, a segment removed by its last user). */
void cleanup_forget(int handle);

/* Removes everything this process registered, newest first.  Exit does this
 * by itself; call it to clean up early. */
void cleanup_run(void);

#endif
