/* channels.h - the daemon's pollable channels: a control socket and a POSIX queue.
 *
 * Both event loops of the chapter (libev in qdaemon, plain epoll in
 * epoll_loop) open them with these and answer control commands the same way.
 */
#ifndef DAEMON10_CHANNELS_H
#define DAEMON10_CHANNELS_H

#include <limits.h>
#include <mqueue.h>
#include <stdbool.h>
#include <stddef.h>

#define CONTROL_LINE_MAX 64

/* A private 0700 directory holding a listening Unix stream socket named
 * "control", both registered for removal.  Returns the listening socket,
 * non-blocking; path receives the socket's path. */
int control_listen_or_die(char *path, size_t size);

/* The answer to one command line ("status", "reload", "stop"); *stop is
 * set for stop. */
void control_answer(const char *line, char *reply, size_t size, bool *stop);

/* Serves one accepted connection: reads a line (bounded in time), writes
 * the answer, closes.  Returns true if the command was stop. */
bool control_serve(int conn);

/* Accepts and serves every connection waiting on the non-blocking
 * listening socket.  Returns true if one of them said stop. */
bool control_accept_all(int listen_fd);

/* A new POSIX queue for requests, read-only, non-blocking, registered for
 * removal; name receives its name. */
mqd_t request_mq_open_or_die(char *name, size_t size);

/* Takes every request waiting on the POSIX queue and serves it. */
void request_mq_drain(mqd_t mq);

#endif
