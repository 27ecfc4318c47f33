/* race.h - what the counter race demos share: the window and the verdict.
 *
 * A plain "counter = counter + 1" loop loses updates only when a context
 * switch lands between the load and the store, which on a 2-CPU machine
 * happens in some runs and not others (see the book's chapter 05).  The
 * window makes the switch certain: every `every`-th pass it yields the CPU
 * between the load and the store.  Pinned to one CPU, the next worker then
 * runs while the first holds a stale value, and updates are lost in every
 * run; with a lock held across the window, none are.
 *
 * race_window_pass() is a real function call, not a macro: an opaque call
 * between the load and the store stops the compiler from fusing them into
 * one add instruction.
 */
#ifndef IPCLAB_RACE_H
#define IPCLAB_RACE_H

#include <stdint.h>

struct race_window {
    long every;      /* yield on every `every`-th pass; 0: never */
    long countdown;
};

void race_window_init(struct race_window *window, long every);

/* Call between the load and the store of the critical section. */
void race_window_pass(struct race_window *window);

/* Prints the verdict line that people and the race checks both read:
 *   result: expected=20000 counted=10117 lost=9883 ms=1.402
 * Returns the number of lost updates. */
long race_print_result(long expected, long counted, uint64_t elapsed_ns);

#endif
