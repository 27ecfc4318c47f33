/* clock.h - elapsed time that never jumps, and a signal after a delay.
 *
 * CLOCK_MONOTONIC is unaffected by changes to the wall clock, so the
 * difference of two readings is a true duration. */
#ifndef IPCLAB_CLOCK_H
#define IPCLAB_CLOCK_H

#include <stdint.h>

uint64_t monotonic_ns(void);
double ns_to_ms(uint64_t ns);

/* Sends signo to the calling process once, ms milliseconds from now (a POSIX
 * timer on CLOCK_MONOTONIC).  To the process it is exactly what `kill` from
 * outside would be; with a handler installed without SA_RESTART, it makes a
 * blocked call fail with EINTR, which bounds a wait that has no timeout of
 * its own (open() of a FIFO, msgrcv()).  The timer lasts until it fires or
 * the process ends; a child forked meanwhile does not inherit it.
 * Returns 0, EINVAL for ms < 1, or timer_create's / timer_settime's errno. */
int signal_after_ms(int signo, long ms);
void signal_after_ms_or_die(int signo, long ms);

#endif
