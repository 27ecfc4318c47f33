/* msg_timed.c - see msg_timed.h. */
#include "msg_timed.h"

#include "clock.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/time.h>

#define TICK_US 10000     /* a wait notices its deadline within 10 ms */

/* The handler does nothing: its only job is to exist, so that SIGALRM
 * interrupts the call instead of killing the process. */
static void on_tick(int sig)
{
    (void)sig;
}

static int ticking(int on)
{
    static int installed;
    struct itimerval timer = { { 0, 0 }, { 0, 0 } };

    if (!installed) {
        struct sigaction sa = { 0 };
        sa.sa_handler = on_tick;
        sigemptyset(&sa.sa_mask);
        /* Other calls (write, waitpid) resume after a tick; msgsnd and
         * msgrcv never do, which is what the deadline check needs.  The
         * handler stays installed, so a tick still pending when the timer
         * stops cannot kill the process. */
        sa.sa_flags = SA_RESTART;
        if (sigaction(SIGALRM, &sa, NULL) != 0)
            return -1;
        installed = 1;
    }
    if (on) {
        timer.it_value.tv_usec = TICK_US;
        timer.it_interval.tv_usec = TICK_US;
    }
    return setitimer(ITIMER_REAL, &timer, NULL);
}

static uint64_t deadline_after(long timeout_ms)
{
    return monotonic_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
}

/* region: timed */
ssize_t msgrcv_timed(int msqid, void *msgp, size_t msgsz, long msgtyp,
                     int msgflg, long timeout_ms)
{
    uint64_t deadline = deadline_after(timeout_ms);
    ssize_t got;
    int saved;

    if (ticking(1) != 0)
        return -1;
    for (;;) {
        got = msgrcv(msqid, msgp, msgsz, msgtyp, msgflg);
        if (got >= 0 || errno != EINTR)
            break;
        if (monotonic_ns() >= deadline) {
            errno = ETIMEDOUT;
            break;
        }
    }
    saved = errno;
    ticking(0);
    errno = saved;
    return got;
}
/* end region: timed */

int msgsnd_timed(int msqid, const void *msgp, size_t msgsz, int msgflg,
                 long timeout_ms)
{
    uint64_t deadline = deadline_after(timeout_ms);
    int rc, saved;

    if (ticking(1) != 0)
        return -1;
    for (;;) {
        rc = msgsnd(msqid, msgp, msgsz, msgflg);
        if (rc == 0 || errno != EINTR)
            break;
        if (monotonic_ns() >= deadline) {
            errno = ETIMEDOUT;
            break;
        }
    }
    saved = errno;
    ticking(0);
    errno = saved;
    return rc;
}

size_t msg_max_bytes(void)
{
    FILE *f = fopen("/proc/sys/kernel/msgmax", "r");
    long max = 0;

    if (f != NULL) {
        if (fscanf(f, "%ld", &max) != 1)
            max = 0;
        fclose(f);
    }
    return max > 0 ? (size_t)max : 8192;
}
