/* tpool_test_jobs.c - see tpool_test_jobs.h. */
#include "unit.h"

#include "tpool_test_jobs.h"
#include "pool_test_jobs.h"

#include "io.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

int count_threads(void) { return count_entries("/proc/self/task"); }

/* pthread_join() returns once the thread has cleared its id, a moment
 * before the kernel removes it from /proc/self/task: right after a join
 * the count may still include it, more often on a loaded machine.  So wait
 * (up to LONG_WAIT_MS) for the count to come down to `most`, and return
 * what it is then: a thread that really runs on keeps it above.  (A thread
 * of an earlier test still leaving can only raise the baseline, never make
 * this fail.) */
int threads_down_to(int most)
{
    int n = count_threads();

    for (int i = 0; i < LONG_WAIT_MS && n > most; i++) {
        poll(NULL, 0, 1);
        n = count_threads();
    }
    return n;
}

/* The thread pool's make_pool, submit and get (pool_test_jobs.c has the
 * process pool's): the same shape, but another API on another type, so
 * one function cannot serve both without an indirection. */
struct tpool *make_tpool(int threads, int time_limit_ms)
{
    struct tpool_options opt = { .threads = threads, .time_limit_ms = time_limit_ms };
    struct tpool *p = NULL;

    CU_ASSERT_EQUAL_FATAL(tpool_create(&p, &opt), 0);
    return p;
}

uint64_t tsubmit(struct tpool *p, pool_job_fn fn, const void *arg, size_t len)
{
    uint64_t id = 0;

    CU_ASSERT_EQUAL_FATAL(tpool_submit(p, fn, arg, len, &id), 0);
    return id;
}

struct pool_result tget(struct tpool *p)
{
    struct pool_result r;

    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(tpool_get(p, LONG_WAIT_MS, &r), 0);
    return r;
}

void open_gate(int gate[2])
{
    write_full(gate[1], "g", 1);
}

void check_squares(struct tpool *p, uint32_t n)
{
    struct pool_result *all = NULL;
    size_t count = 0, bad = 0;
    unsigned char *seen = calloc(n + 1, 1);

    uint64_t first = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t id = tsubmit(p, square_job, &i, sizeof i);
        if (i == 0)
            first = id;
        CU_ASSERT_EQUAL(id, first + i);          /* ids count up by one */
    }
    CU_ASSERT_EQUAL(tpool_get_all(p, 60000, &all, &count), 0);
    CU_ASSERT_EQUAL(count, n);
    for (size_t k = 0; k < count; k++) {
        uint64_t id = all[k].id - first + 1, sq = 0;
        if (id < 1 || id > n || seen[id] || all[k].outcome != POOL_DONE ||
            all[k].len != sizeof sq) {
            bad++;
            continue;
        }
        seen[id] = 1;
        memcpy(&sq, all[k].output, sizeof sq);
        bad += sq != (id - 1) * (id - 1);
    }
    for (uint32_t id = 1; id <= n; id++)
        bad += !seen[id];
    CU_ASSERT_EQUAL(bad, 0);     /* every job accounted for exactly once */
    pool_results_free(all, count);
    free(all);
    free(seen);
}

