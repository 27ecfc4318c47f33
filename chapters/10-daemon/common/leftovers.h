/* leftovers.h - what a daemon killed by SIGKILL leaves, found again by the next one.
 *
 * SIGKILL runs no cleanup: the pid file, the System V queue, the control
 * socket's directory and the POSIX queue all stay.  The pid file and the
 * queue are found by their names (the same path, the same key); the socket
 * directory and the POSIX queue have names drawn at random.  So the daemon
 * writes those names, as it makes each object, into PIDFILE.objects, next
 * to its pid file, and removes that file at a normal exit.  The next daemon
 * that takes over the stale pid file reads it and removes what it names:
 * only if the pid it records is gone, and only objects that look like a
 * qdaemon's (a 0700 directory of ours holding the socket "control", a
 * POSIX queue named "...-qdaemon-...").
 */
#ifndef DAEMON10_LEFTOVERS_H
#define DAEMON10_LEFTOVERS_H

/* Call holding the pid file's lock: removes what PIDFILE.objects names, if
 * its daemon is gone, and logs each removal; then starts a new
 * PIDFILE.objects for this daemon (registered for removal). */
void leftovers_take_over(const char *pid_path);

/* Appends "KIND NAME" to PIDFILE.objects (nothing without a pid file).
 * kind: "socket-dir" or "posix-queue". */
void leftovers_record(const char *kind, const char *name);

#endif
