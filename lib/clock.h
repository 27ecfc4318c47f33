/* clock.h - elapsed time that never jumps.
 *
 * CLOCK_MONOTONIC is unaffected by changes to the wall clock, so the
 * difference of two readings is a true duration. */
#ifndef IPCLAB_CLOCK_H
#define IPCLAB_CLOCK_H

#include <stdint.h>

uint64_t monotonic_ns(void);
double ns_to_ms(uint64_t ns);

#endif
