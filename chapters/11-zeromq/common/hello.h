/* hello.h - the REQ/REP hello server's loop, shared by zmq_hello_server and
 * by zmq_hello_client, which runs it in a thread when no --endpoint is
 * given. */
#ifndef IPCLAB_HELLO_H
#define IPCLAB_HELLO_H

#include <stdbool.h>

/* Requests longer than this get an error reply (zmq itself drops a
 * connection whose message passes ZH_MAXMSGSIZE). */
#define HELLO_REQUEST_MAX 1024

struct hello_server {
    void *ctx;
    void *sock;              /* a bound ZMQ_REP socket */
    const char *endpoint;    /* where it is bound (to bind again after a drop) */
    long requests;           /* stop after this many; 0: until stopped */
    long idle_ms;            /* stop after this long without one; -1: never */
    long drop;               /* leave request number `drop` unanswered; 0: none */
    bool quiet;              /* no line per request */
};

/* Answers "world: <request>" to each request, an "error: ..." reply to a
 * malformed one (several frames, too long).  Returns the number answered
 * when it stops: requests reached, idle_ms passed, a stop signal, or the
 * context shut down (ETERM).  Closes the socket. */
long hello_serve(struct hello_server *server);

#endif
