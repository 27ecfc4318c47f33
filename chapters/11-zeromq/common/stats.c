/* stats.c - see stats.h. */
#include "stats.h"

#include "die.h"

#include <stdio.h>
#include <stdlib.h>

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

void stats_us(uint64_t *ns, size_t n, double *median_us, double *p99_us)
{
    size_t p99 = (n * 99 + 99) / 100;   /* nearest rank: ceil(0.99 n) */

    qsort(ns, n, sizeof ns[0], by_value);
    *median_us = (double)ns[(n - 1) / 2] / 1000.0;
    *p99_us = (double)ns[(p99 > 0 ? p99 : 1) - 1] / 1000.0;
}

void stats_print_round_trips(const char *wire, uint64_t *ns, size_t n, double secs)
{
    double median, p99;

    stats_us(ns, n, &median, &p99);
    printf("%s: %zu round trips over %s: %.1f us median, %.1f us p99, %.0f per second\n",
           program_name, n, wire, median, p99, secs > 0 ? (double)n / secs : 0.0);
}
