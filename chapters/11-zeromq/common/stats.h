/* stats.h - median and 99th percentile of measured durations. */
#ifndef IPCLAB_STATS_H
#define IPCLAB_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Sorts ns[0..n-1] and returns its median and 99th percentile in
 * microseconds (nearest rank).  n > 0. */
void stats_us(uint64_t *ns, size_t n, double *median_us, double *p99_us);

/* Prints the line bench.sh reads, the same for zmq_roundtrip and
 * raw_roundtrip ("PROGRAM: N round trips over WIRE: M us median, P us
 * p99, R per second") from n round trips in ns[] (sorted) and secs. */
void stats_print_round_trips(const char *wire, uint64_t *ns, size_t n, double secs);

#endif
