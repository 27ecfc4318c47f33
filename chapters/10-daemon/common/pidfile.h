/* pidfile.h - one instance at a time: a pid file held by a lock.
 *
 * The pid alone proves nothing: a daemon killed with SIGKILL leaves its
 * file behind, and its pid may belong to another process by now.  The lock
 * does: the kernel drops an fcntl() lock when its process dies, however it
 * dies.  So a locked file means a live daemon; an unlocked one is stale and
 * can be taken over.
 */
#ifndef DAEMON10_PIDFILE_H
#define DAEMON10_PIDFILE_H

#include <sys/types.h>

/* Locks path (creating it), writes our pid into it and registers it for
 * removal at exit.  If another live process holds the lock, prints
 * "already running as pid N (PATH is locked)" and exits 1.  *stale_pid
 * gets the pid a stale file named, or 0.  Returns the descriptor, which
 * must stay open for as long as the daemon runs: closing it drops the
 * lock.  Call it in the process that will be the daemon, after the forks:
 * fcntl() locks are not inherited by a child. */
int pidfile_take_or_die(const char *path, long *stale_pid);

#endif
