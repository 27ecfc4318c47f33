/* mech_queue.c - message queues: System V (msgsnd/msgrcv) and POSIX
 * (mq_send/mq_receive).
 *
 * Both keep whole messages in the kernel, so a message is copied in by the
 * sender's call and out by the receiver's.  Both limit a message's size
 * (Linux defaults: msgmax 8192 bytes; mq_msgsize at most 8192 for a normal
 * user), so bigger messages go in 8 KiB pieces.  The System V queue is one
 * object with two message types (1: to the echo side, 2: to the driver);
 * the POSIX queues are two, one per direction.
 */
#include "bench.h"

#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <string.h>
#include <sys/msg.h>
#include <unistd.h>

#define QCHUNK 8192

/* --- System V ---------------------------------------------------------- */

struct qmsg {
    long mtype;
    unsigned char text[QCHUNK];
};
static struct qmsg qbuf;        /* one per process (no mechanism here uses threads) */

static void sysv_create(struct mctx *c)
{
    sigset_t saved;
    int id;

    /* IPC_PRIVATE: a new queue no key can name; both sides inherit its id. */
    cleanup_block_signals(&saved);
    id = msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600);
    if (id >= 0)
        c->handle[0] = cleanup_check(cleanup_add_sysv_msg(id), "the queue");
    cleanup_unblock_signals(&saved);
    if (id < 0)
        die("msgget");
    c->id = id;
}

static void sysv_send(struct mctx *c, enum side s, const void *buf, size_t n)
{
    qbuf.mtype = s == DRIVER ? 1 : 2;
    memcpy(qbuf.text, buf, n);
    while (msgsnd((int)c->id, &qbuf, n, 0) != 0)
        if (errno != EINTR)
            die("msgsnd");
}

static void sysv_recv(struct mctx *c, enum side s, void *buf, size_t n)
{
    ssize_t r;

    do
        r = msgrcv((int)c->id, &qbuf, sizeof qbuf.text, s == ECHO ? 1 : 2, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        die("msgrcv");
    if ((size_t)r != n)
        fatal("a message of %zd bytes, expected %zu", r, n);
    memcpy(buf, qbuf.text, n);
}

/* The bare loop: msgsnd and msgrcv, type 1 to the echo side, 2 back. */
static void sysv_bare(struct mctx *c, enum side s, long k)
{
    struct { long mtype; unsigned char text[LAT_SIZE]; } out = { s == DRIVER ? 1 : 2, { 1 } }, in;
    int id = (int)c->id;
    long want = s == DRIVER ? 2 : 1;

    for (long i = 0; i < k; i++) {
        if (s == DRIVER && msgsnd(id, &out, LAT_SIZE, 0) != 0)
            die("msgsnd");
        bare_check(msgrcv(id, &in, LAT_SIZE, want, 0), LAT_SIZE, "msgrcv");
        if (s == ECHO && msgsnd(id, &out, LAT_SIZE, 0) != 0)
            die("msgsnd");
    }
}

static void nothing(struct mctx *c, enum side s)
{
    (void)c;
    (void)s;
}

/* --- POSIX ---------------------------------------------------------------- */

static unsigned char mqbuf[QCHUNK];

/* On Linux an mqd_t is a file descriptor (an int); fd[0] carries driver ->
 * echo, fd[1] echo -> driver. */
static void mq_create(struct mctx *c)
{
    struct mq_attr attr = { .mq_maxmsg = 10, .mq_msgsize = QCHUNK };
    sigset_t saved;
    mqd_t q;

    for (int i = 0; i < 2; i++) {
        ipc_name_make_or_die(c->name[i], sizeof c->name[i], i == 0 ? "bench-to-echo" : "bench-to-driver");
        cleanup_block_signals(&saved);
        q = mq_open(c->name[i], O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
        if (q != (mqd_t)-1)
            c->handle[i] = cleanup_check(cleanup_add_posix_mq(c->name[i]), "the queue");
        cleanup_unblock_signals(&saved);
        if (q == (mqd_t)-1)
            die("mq_open %s", c->name[i]);
        c->fd[i] = (int)q;
    }
}

static void mq_send_one(struct mctx *c, enum side s, const void *buf, size_t n)
{
    while (mq_send((mqd_t)c->fd[s == DRIVER ? 0 : 1], buf, n, 0) != 0)
        if (errno != EINTR)
            die("mq_send");
}

static void mq_recv_one(struct mctx *c, enum side s, void *buf, size_t n)
{
    ssize_t r;

    /* mq_receive wants room for the largest message the queue takes */
    do
        r = mq_receive((mqd_t)c->fd[s == ECHO ? 0 : 1], (char *)mqbuf, sizeof mqbuf, NULL);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        die("mq_receive");
    if ((size_t)r != n)
        fatal("a message of %zd bytes, expected %zu", r, n);
    memcpy(buf, mqbuf, n);
}

/* The bare loop: mq_send and mq_receive (into room for the largest message). */
static void mq_bare(struct mctx *c, enum side s, long k)
{
    unsigned char b[LAT_SIZE] = { 1 };
    mqd_t out = (mqd_t)c->fd[s == DRIVER ? 0 : 1], in = (mqd_t)c->fd[s == DRIVER ? 1 : 0];

    for (long i = 0; i < k; i++) {
        if (s == DRIVER && mq_send(out, (char *)b, sizeof b, 0) != 0)
            die("mq_send");
        bare_check(mq_receive(in, (char *)mqbuf, sizeof mqbuf, NULL), sizeof b, "mq_receive");
        if (s == ECHO && mq_send(out, (char *)b, sizeof b, 0) != 0)
            die("mq_send");
    }
}

static void mq_close_all(struct mctx *c, enum side s)
{
    (void)s;
    for (int i = 0; i < 2; i++)
        if (c->fd[i] >= 0) {
            mq_close((mqd_t)c->fd[i]);
            c->fd[i] = -1;
        }
}

static void mq_destroy(struct mctx *c)
{
    mq_close_all(c, ECHO);
}

const struct mech mech_sysv_msg = { "sysv-msg", "System V message queue", QCHUNK, true, false,
    sysv_create, nothing, sysv_send, sysv_recv, nothing, NULL, sysv_bare };
const struct mech mech_posix_mq = { "posix-mq", "POSIX message queues", QCHUNK, true, false,
    mq_create, nothing, mq_send_one, mq_recv_one, mq_close_all, mq_destroy, mq_bare };
