/* mech_zmq.c - ZeroMQ PAIR sockets over inproc, ipc and tcp
 * (chapter 11 introduces ZeroMQ).
 *
 * A ZeroMQ context must not cross fork(), so each side makes its own after
 * the fork (for inproc, which only joins sockets of one context, the two
 * sides are threads of one process sharing one).  The echo side binds; for
 * tcp it binds port 0 ("*") and the barrier passes the endpoint it got to
 * the driver, which connects.  Each message is one zmq_send / zmq_recv: the
 * library copies it into its own buffer, its I/O thread moves it, and
 * zmq_recv copies it out.
 */
#include "bench.h"

#include "ipclab.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

extern char bench_dir[PATH_MAX];

/* ZeroMQ reports errors through zmq_errno(), mostly errno values. */
static _Noreturn void zdie(const char *what)
{
    die_errnum(zmq_errno(), "%s", what);
}

/* The ipc endpoint's socket file is registered here, before the fork;
 * ZeroMQ creates it at bind and removes it at close, the registration
 * covers a side that is killed. */
static void zmq_ipc_create(struct mctx *c)
{
    int n = snprintf(c->path[0], sizeof c->path[0], "%s/zmq.sock", bench_dir);

    if (n < 0 || (size_t)n >= sizeof c->path[0])
        fatal("the ipc path is too long");
    c->handle[0] = cleanup_check(cleanup_add_path(c->path[0]), "the socket file");
}

static void endpoint(const struct mctx *c, char *buf, size_t size)
{
    if (c->m == &mech_zmq_inproc)
        snprintf(buf, size, "inproc://bench");
    else if (c->m == &mech_zmq_ipc)
        snprintf(buf, size, "ipc://%s", c->path[0]);
    else
        snprintf(buf, size, "tcp://127.0.0.1:*");       /* any free port */
}

static void zopen(struct mctx *c, enum side s)
{
    char ep[PATH_MAX + 16];
    size_t len = sizeof c->info;
    int linger = 0, hwm = 32;

    if (c->zctx == NULL && (c->zctx = zmq_ctx_new()) == NULL)
        zdie("zmq_ctx_new");
    c->zsock[s] = zmq_socket(c->zctx, ZMQ_PAIR);
    if (c->zsock[s] == NULL)
        zdie("zmq_socket");
    if (zmq_setsockopt(c->zsock[s], ZMQ_LINGER, &linger, sizeof linger) != 0)
        zdie("zmq_setsockopt ZMQ_LINGER");
    /* At most 32 messages queued each way (default 1000: a GiB of 1 MiB
     * messages). */
    if (zmq_setsockopt(c->zsock[s], ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(c->zsock[s], ZMQ_RCVHWM, &hwm, sizeof hwm) != 0)
        zdie("zmq_setsockopt ZMQ_SNDHWM");
    if (s == ECHO) {
        endpoint(c, ep, sizeof ep);
        if (zmq_bind(c->zsock[s], ep) != 0)
            zdie("zmq_bind");
        /* The endpoint really bound (with the port for tcp), for the driver. */
        if (zmq_getsockopt(c->zsock[s], ZMQ_LAST_ENDPOINT, c->info, &len) != 0)
            zdie("zmq_getsockopt ZMQ_LAST_ENDPOINT");
    } else {
        if (c->m == &mech_zmq_inproc)
            endpoint(c, c->info, sizeof c->info);
        if (zmq_connect(c->zsock[s], c->info) != 0)
            zdie("zmq_connect");
    }
}

static void zsend(struct mctx *c, enum side s, const void *buf, size_t n)
{
    while (zmq_send(c->zsock[s], buf, n, 0) != (int)n)
        if (zmq_errno() != EINTR)
            zdie("zmq_send");
}

static void zrecv(struct mctx *c, enum side s, void *buf, size_t n)
{
    int r;

    while ((r = zmq_recv(c->zsock[s], buf, n, 0)) < 0)
        if (zmq_errno() != EINTR)
            zdie("zmq_recv");
    if ((size_t)r != n)
        fatal("a message of %d bytes, expected %zu", r, n);
}

/* The bare loop: zmq_send and zmq_recv. */
static void zbare(struct mctx *c, enum side s, long k)
{
    unsigned char b[LAT_SIZE] = { 1 };
    void *z = c->zsock[s];

    for (long i = 0; i < k; i++) {
        if (s == DRIVER)
            bare_check(zmq_send(z, b, sizeof b, 0), sizeof b, "zmq_send");
        bare_check(zmq_recv(z, b, sizeof b, 0), sizeof b, "zmq_recv");
        if (s == ECHO)
            bare_check(zmq_send(z, b, sizeof b, 0), sizeof b, "zmq_send");
    }
}

/* The last side to close ends the context (the inproc process closes the
 * echo side first, then its own). */
static void zclose(struct mctx *c, enum side s)
{
    if (c->zsock[s] != NULL && zmq_close(c->zsock[s]) != 0)
        zdie("zmq_close");
    c->zsock[s] = NULL;
    if (c->zsock[0] == NULL && c->zsock[1] == NULL && c->zctx != NULL) {
        while (zmq_ctx_term(c->zctx) != 0)
            if (zmq_errno() != EINTR)
                zdie("zmq_ctx_term");
        c->zctx = NULL;
    }
}

const struct mech mech_zmq_inproc = { "zmq-inproc", "ZeroMQ PAIR, inproc (threads)", 0, true, true,
    NULL, zopen, zsend, zrecv, zclose, NULL, zbare };
const struct mech mech_zmq_ipc = { "zmq-ipc", "ZeroMQ PAIR, ipc", 0, true, false,
    zmq_ipc_create, zopen, zsend, zrecv, zclose, NULL, zbare };
const struct mech mech_zmq_tcp = { "zmq-tcp", "ZeroMQ PAIR, tcp loopback", 0, true, false,
    NULL, zopen, zsend, zrecv, zclose, NULL, zbare };
