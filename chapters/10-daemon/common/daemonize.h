/* daemonize.h - the classic steps to become a daemon, and a readiness pipe.
 *
 * daemonize_or_die() returns in the daemon (the grandchild); the process
 * that called it waits until the daemon says it is ready, prints the
 * daemon's ready line and exits 0, so `qdaemon --daemon ... && use it`
 * never races the start-up.  If the daemon dies first, the original
 * process prints what it said on stderr and exits 1.
 */
#ifndef DAEMON10_DAEMONIZE_H
#define DAEMON10_DAEMONIZE_H

/* Returns the write end of the readiness pipe; until daemon_ready(), the
 * daemon's stderr goes into it too, so a die() during start-up reaches the
 * terminal of whoever started it. */
int daemonize_or_die(void);

/* Sends "READY <line>" through the pipe, points stderr at log_fd and
 * closes the pipe.  fd < 0 (foreground): prints the line on stdout. */
void daemon_ready(int fd, int log_fd, const char *line);

#endif
