/* rtt.h - round-trip statistics, and the Unix socket round trip the XMPP
 * numbers are compared with (the floor: one kernel hop each way). */
#ifndef CH12_RTT_H
#define CH12_RTT_H

#include <stddef.h>
#include <stdint.h>

struct rtt_stats {
    double p50_us, p99_us, per_s;   /* per_s: round trips per second of wall time */
};

/* Sorts ns[0..n) and fills out; total_ns is the wall time of all n. */
void rtt_summarise(uint64_t *ns, size_t n, uint64_t total_ns, struct rtt_stats *out);

/* n round trips of size-byte messages over a socketpair to a forked echo
 * child (size at most 4096); dies if a call fails. */
void rtt_unix_socket(size_t n, size_t size, struct rtt_stats *out);

#endif
