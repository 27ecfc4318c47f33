/* tpool_test_jobs.h - what test_tpool.c uses: counts of descriptors and
 * threads, shorthands that fail the test on an error, a square job and a
 * gate job (it waits for a byte on the pipe it is given).
 * tpool_test_jobs.c holds them. */
#ifndef IPCLAB_TPOOL_TEST_JOBS_H
#define IPCLAB_TPOOL_TEST_JOBS_H

#include "tpool.h"

#include <stddef.h>
#include <stdint.h>

#define LONG_WAIT_MS 10000

/* Entries of a directory; of /proc/self/fd and /proc/self/task.  The
 * thread count right after a join may lag: threads_down_to waits (up to
 * LONG_WAIT_MS) for it to come down to `most` and returns it then. */
int count_entries(const char *dir_path);
int count_fds(void);
int count_threads(void);
int threads_down_to(int most);
struct tpool *make_pool(int threads, int time_limit_ms);
uint64_t submit(struct tpool *p, pool_job_fn fn, const void *arg, size_t len);
struct pool_result get(struct tpool *p);
size_t square_job(const void *arg, size_t len, void *out, size_t cap);
size_t gate_job(const void *arg, size_t len, void *out, size_t cap);
void open_gate(int gate[2]);
/* Runs n square jobs; every one must come back exactly once, right. */
void check_squares(struct tpool *p, uint32_t n);

#endif
