/* pool_test_jobs.h - what the process pool's unit tests share
 * (test_pool.c, test_pool_life.c, test_pool_batch.c; test_tpool.c uses
 * its checks and jobs): checks every test makes at the end,
 * shorthands, and the jobs, well-behaved and not.  pool_test_jobs.c
 * holds them. */
#ifndef IPCLAB_POOL_TEST_JOBS_H
#define IPCLAB_POOL_TEST_JOBS_H

#include "pool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LONG_WAIT_MS 10000   /* a bound for waits that must not hang */

/* The acceptance test runs 10,000 jobs through each mode.  Under
 * AddressSanitizer a fork costs milliseconds (its shadow memory and
 * quarantine make the page tables large), so that build forks 1,000 jobs
 * one by one and keeps 10,000 for prefork and sync. */
#if defined(__SANITIZE_ADDRESS__)
#define FORK_JOBS 1000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FORK_JOBS 1000
#endif
#endif
#ifndef FORK_JOBS
#define FORK_JOBS 10000
#endif

/* Checks: entries of a directory; descriptors open now (/proc/self/fd);
 * no child at all, living or zombie. */
int count_entries(const char *dir_path);
int count_fds(void);
bool no_children(void);
/* Shorthands that fail the test on an error (get waits LONG_WAIT_MS). */
struct pool *make_pool(enum pool_mode mode, int workers, int time_limit_ms);
uint64_t submit(struct pool *p, pool_job_fn fn, const void *arg, size_t len);
struct pool_result get(struct pool *p);
bool readable_within(int fd, int ms);

/* Jobs: the square of a uint32_t, an echo, a sleep of an int of ms; a
 * crash, exit(3), _exit(0), and a broken contract (returns cap + 1);
 * gate_job waits for a byte on the pipe it is given, tell_job writes one
 * to the fd it is given, tell_then_sleep_job tells and sleeps a minute. */
size_t square_job(const void *arg, size_t len, void *out, size_t cap);
size_t echo_job(const void *arg, size_t len, void *out, size_t cap);
size_t sleep_job(const void *arg, size_t len, void *out, size_t cap);
size_t crash_job(const void *arg, size_t len, void *out, size_t cap);
size_t exit3_job(const void *arg, size_t len, void *out, size_t cap);
size_t exit_now_job(const void *arg, size_t len, void *out, size_t cap);
size_t too_much_job(const void *arg, size_t len, void *out, size_t cap);
size_t gate_job(const void *arg, size_t len, void *out, size_t cap);
size_t tell_job(const void *arg, size_t len, void *out, size_t cap);
size_t tell_then_sleep_job(const void *arg, size_t len, void *out, size_t cap);

/* Jobs that write a malformed frame straight to pool_channel(): a length
 * over the limit, a result for job 999999, 3 bytes, a frame cut short
 * then _exit(0), a frame cut short then a 20 s sleep. */
size_t frame_too_big_job(const void *arg, size_t len, void *out, size_t cap);
size_t frame_wrong_id_job(const void *arg, size_t len, void *out, size_t cap);
size_t frame_short_job(const void *arg, size_t len, void *out, size_t cap);
size_t frame_truncated_job(const void *arg, size_t len, void *out, size_t cap);
size_t frame_stall_job(const void *arg, size_t len, void *out, size_t cap);

#endif
