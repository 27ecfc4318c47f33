/* receiver.c - see receiver.h. */
#include "receiver.h"

#include "cleanup.h"
#include "die.h"
#include "dlog.h"
#include "proto.h"
#include "serve.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

static int rx_msqid, rx_handle;

/* region: receive */
static void *receive_loop(void *arg)
{
    struct {
        long mtype;
        char body[sizeof(struct req_body) + 1];
    } m;
    unsigned long refused_queued = 0;

    (void)arg;
    for (;;) {
        /* While serving, wait; once stopping, take what is queued without
         * waiting, refuse it, and stop at the first "nothing left". */
        bool draining = atomic_load(&stopping);
        /* One byte more than a request can hold, and MSG_NOERROR: a message
         * too long is cut, not left in the queue to block it (E2BIG), and
         * its size still shows it was too long. */
        ssize_t got = msgrcv(rx_msqid, &m, sizeof m.body, REQ_TYPE,
                             MSG_NOERROR | (draining ? IPC_NOWAIT : 0));

        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOMSG)
                break;          /* drained */
            dlog("msgrcv: %s: the receiver stops", strerror(errno));
            break;
        }
        if (serve_request(m.body, (size_t)got, "sysv") && draining)
            refused_queued++;
    }
    /* Remove the queue now, before the pid file: a client still waiting
     * for a reply gets EIDRM at once instead of waiting for its timeout,
     * and one that sends now gets EIDRM or EINVAL: refused, not lost. */
    cleanup_remove(rx_handle);
    dlog("System V queue drained (%lu refused while stopping) and removed", refused_queued);
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
