/* clock.c - see clock.h. */
#include "clock.h"

#include "die.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

uint64_t monotonic_ns(void)
{
    struct timespec now;

    /* Cannot fail with a valid clock id and pointer. */
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

double ns_to_ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

int signal_after_ms(int signo, long ms)
{
    struct sigevent event;
    struct itimerspec when;
    timer_t timer;

    if (ms < 1)
        return EINVAL;            /* 0 would disarm the timer, not fire it */
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = signo;
    if (timer_create(CLOCK_MONOTONIC, &event, &timer) != 0)
        return errno;
    memset(&when, 0, sizeof when);
    when.it_value.tv_sec = ms / 1000;
    when.it_value.tv_nsec = (ms % 1000) * 1000000L;
    if (timer_settime(timer, 0, &when, NULL) != 0) {
        int err = errno;
        timer_delete(timer);
        return err;
    }
    return 0;
}

void signal_after_ms_or_die(int signo, long ms)
{
    int err = signal_after_ms(signo, ms);

    if (err != 0)
        die_errnum(err, "timer_create/timer_settime");
}
