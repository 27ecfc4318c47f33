/* notify.h - telling systemd "ready", "reloading", "stopping", by hand.
 *
 * With Type=notify, systemd starts the daemon in the foreground and puts
 * the path of a Unix datagram socket in $NOTIFY_SOCKET ("@name" is a name
 * in the abstract namespace).  The daemon reports its state by sending one
 * datagram of "KEY=VALUE" lines to it: READY=1 once it serves, RELOADING=1
 * while it rereads its settings (then READY=1 again), STOPPING=1 when it
 * begins to stop, STATUS=text for `systemctl status`.  That is all of
 * sd_notify(3) a daemon needs; libsystemd is not required.
 */
#ifndef DAEMON10_NOTIFY_H
#define DAEMON10_NOTIFY_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

/* The address for a $NOTIFY_SOCKET value: a path, or "@name" for the
 * abstract name "\0name".  Returns false if text is neither or too long. */
bool notify_address(const char *text, struct sockaddr_un *addr, socklen_t *len);

/* Sends the state (printf-style) to $NOTIFY_SOCKET.  Returns 0 if it was
 * sent or $NOTIFY_SOCKET is unset (not run by systemd: nothing to do), or
 * an errno value. */
int notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CLOCK_MONOTONIC in microseconds, for RELOADING=1's MONOTONIC_USEC. */
unsigned long long notify_monotonic_usec(void);

#endif
