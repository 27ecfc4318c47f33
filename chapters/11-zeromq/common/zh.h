/* zh.h - the ZeroMQ plumbing every chapter 11 program shares.
 *
 * Where a socket binds (--transport, --endpoint), the options every socket
 * gets (ZMQ_LINGER 0, ZMQ_MAXMSGSIZE), sending and receiving one text
 * frame, and a clean stop on SIGTERM: the handler only sets a flag, the
 * blocked zmq call returns EINTR, and the program closes its sockets and
 * terminates its context (zmq_ctx_shutdown wakes the other threads with
 * ETERM) before it leaves.
 */
#ifndef IPCLAB_ZH_H
#define IPCLAB_ZH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

enum zh_transport { ZH_TCP, ZH_IPC, ZH_INPROC };
extern const char *const zh_transport_names[];   /* "tcp", "ipc", "inproc" */

#define ZH_ENDPOINT_MAX 256
/* What zmq accepts off the wire: a bigger message drops its connection. */
#define ZH_MAXMSGSIZE 65536

/* A new context, or dies. */
void *zh_context(void);

/* A new socket of type with ZMQ_LINGER 0 (close never waits for unsent
 * messages) and ZMQ_MAXMSGSIZE; dies on error. */
void *zh_socket(void *ctx, int type);

/* Sets an int socket option or dies. */
void zh_setint(void *sock, int option, int value, const char *name);

/* Binds sock.  endpoint non-NULL: exactly there.  Otherwise by transport:
 * tcp: 127.0.0.1 on a port the system picks ("tcp://127.0.0.1:*");
 * ipc: a socket file NAME in a private 0700 directory made for the run;
 * inproc: "inproc://NAME".  The real endpoint (ZMQ_LAST_ENDPOINT) goes to
 * out.  An ipc socket file is registered with cleanup.h, so it goes away
 * on every exit path.  Dies on error. */
void zh_bind(void *sock, int transport, const char *name, const char *endpoint,
             char *out, size_t size);

/* Connects or dies. */
void zh_connect(void *sock, const char *endpoint);

/* A new socket of type (zh_socket) whose every receive waits at most
 * timeout_ms (ZMQ_RCVTIMEO; -1: no bound), connected to endpoint; dies on
 * error. */
void *zh_connected(void *ctx, int type, const char *endpoint, long timeout_ms);

/* SIGTERM, SIGINT and SIGHUP set a flag (no SA_RESTART), so a blocked zmq
 * call returns EINTR.  Call after cli_parse(). */
void zh_stop_on_signals(void);
bool zh_stopping(void);
int zh_stop_signal(void);

/* Starts a thread with the stop signals blocked in it, so that they reach
 * the main thread.  Dies on error. */
void zh_thread(pthread_t *thread, void *(*fn)(void *), void *arg);

/* Threads that finish tell main through a pipe, so main waits for them in
 * read(), which a stop signal interrupts (pthread_join would not be).
 * zh_done_wait(n) returns true when n threads said so, false on a stop
 * signal; then zmq_ctx_shutdown() wakes the rest with ETERM. */
void zh_done_init(void);
void zh_done_signal(void);
bool zh_done_wait(int n);

/* Sends text as one frame (more: ZMQ_SNDMORE).  0 or -1 with errno. */
int zh_send(void *sock, const char *text, bool more);

/* Receives one frame into buf (cut to size - 1 bytes, zero-terminated).
 * Returns the frame's full length, or -1 with errno: EAGAIN (ZMQ_RCVTIMEO
 * passed), EINTR (a signal), ETERM (the context is shutting down).
 * *more, if not NULL, says whether more frames follow. */
long zh_recv(void *sock, char *buf, size_t size, bool *more);

/* Discards the rest of a multi-frame message; returns the frames dropped. */
int zh_drain(void *sock);

/* Dies with "what: ENAME (zmq_strerror)". */
_Noreturn void zh_die(const char *what);

/* Leaves after a stop signal, if one came: cleanup, then the signal again,
 * so the parent sees "killed by SIGTERM".  Call after zmq_ctx_term. */
void zh_exit_if_stopped(void);

#endif
