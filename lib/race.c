/* race.c - see race.h. */
#include "race.h"

#include "clock.h"

#include <sched.h>
#include <stdio.h>

void race_window_init(struct race_window *window, long every)
{
    window->every = every;
    window->countdown = every;
}

void race_window_pass(struct race_window *window)
{
    if (window->every > 0 && --window->countdown == 0) {
        window->countdown = window->every;
        sched_yield();
    }
}

long race_print_result(long expected, long counted, uint64_t elapsed_ns)
{
    long lost = expected - counted;

    printf("result: expected=%ld counted=%ld lost=%ld ms=%.3f\n",
           expected, counted, lost, ns_to_ms(elapsed_ns));
    return lost;
}
