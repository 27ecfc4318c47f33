/* receiver.c - see receiver.h. */
#include "receiver.h"

#include "cleanup.h"
#include "clock.h"
#include "die.h"
#include "dlog.h"
#include "proto.h"
#include "serve.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>

#define DRAIN_WAIT_MS 5000     /* for replies to be taken; then remove anyway */

static int rx_msqid, rx_handle;

/* region: drain */
/* Stopping: every request still coming is refused (serve_request knows),
 * and the queue is removed only once the replies have been taken, or a
 * replied-to client would find its answer destroyed with the queue. */
static void drain(void)
{
    struct {
        long mtype;
        char body[sizeof(struct req_body) + 1];
    } m;
    uint64_t deadline = monotonic_ns() + DRAIN_WAIT_MS * 1000000ull;
    const struct timespec pause = { 0, 1000000 };      /* 1 ms */
    struct msqid_ds ds;
    unsigned long refused = 0;

    for (;;) {
        ssize_t got = msgrcv(rx_msqid, &m, sizeof m.body, REQ_TYPE, MSG_NOERROR | IPC_NOWAIT);
        if (got >= 0) {
            refused += serve_request(m.body, (size_t)got, "sysv");
            continue;
        }
        if (errno != ENOMSG && errno != EINTR)
            break;              /* removed already (or worse): nothing to wait for */
        if (msgctl(rx_msqid, IPC_STAT, &ds) != 0 || ds.msg_qnum == 0)
            break;              /* no request and no reply left */
        if (monotonic_ns() > deadline) {
            dlog("%lu replies not taken in %d ms: removing the queue anyway",
                 (unsigned long)ds.msg_qnum, DRAIN_WAIT_MS);
            break;
        }
        purge_orphans();        /* replies to clients that are gone */
        nanosleep(&pause, NULL);
    }
    /* Remove it before the pid file: a client that sends now gets EIDRM or
     * EINVAL at once: not served, and it knows. */
    cleanup_remove(rx_handle);
    dlog("System V queue drained (%lu requests refused while stopping) and removed", refused);
}
/* end region: drain */

/* region: receive */
static void *receive_loop(void *arg)
{
    struct {
        long mtype;
        char body[sizeof(struct req_body) + 1];
    } m;
    ssize_t got;

    (void)arg;
    /* Serving: wait for a request, serve it, until the wake-up message
     * finds `stopping` set.  One byte more than a request can hold, and
     * MSG_NOERROR: a message too long is cut, not left in the queue to
     * block it (E2BIG), and its size still shows it was too long. */
    while (!atomic_load(&stopping)) {
        got = msgrcv(rx_msqid, &m, sizeof m.body, REQ_TYPE, MSG_NOERROR);
        if (got >= 0)
            serve_request(m.body, (size_t)got, "sysv");
        else if (errno != EINTR) {
            dlog("msgrcv: %s: the receiver stops", strerror(errno));
            break;
        }
    }
    drain();
    return NULL;
}
/* end region: receive */

void receiver_start_or_die(pthread_t *thread, int msqid, int queue_handle)
{
    sigset_t all, old;
    int err;

    rx_msqid = msqid;
    rx_handle = queue_handle;
    /* The thread inherits the mask: with every signal blocked in it, all
     * of them go to the main thread's loop. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    err = pthread_create(thread, NULL, receive_loop, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0)
        die_errnum(err, "pthread_create");
}
