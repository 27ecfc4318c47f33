/* tpool_test_jobs.h - what test_tpool.c uses besides pool_test_jobs.h
 * (descriptors, jobs): a count of threads, shorthands for the thread pool
 * that fail the test on an error, opening a gate, and a run of squares.
 * tpool_test_jobs.c holds them. */
#ifndef IPCLAB_TPOOL_TEST_JOBS_H
#define IPCLAB_TPOOL_TEST_JOBS_H

#include "tpool.h"

#include <stddef.h>
#include <stdint.h>

/* Entries of /proc/self/task.  The thread count right after a join may
 * lag: threads_down_to waits (up to LONG_WAIT_MS) for it to come down to
 * `most` and returns it then. */
int count_threads(void);
int threads_down_to(int most);
struct tpool *make_tpool(int threads, int time_limit_ms);
uint64_t tsubmit(struct tpool *p, pool_job_fn fn, const void *arg, size_t len);
struct pool_result tget(struct tpool *p);
void open_gate(int gate[2]);
/* Runs n square jobs; every one must come back exactly once, right. */
void check_squares(struct tpool *p, uint32_t n);

#endif
