/* clock.c - see clock.h. */
#include "clock.h"

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
