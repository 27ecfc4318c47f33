/* test_tpool.c - the thread pool of chapter 07 (chapters/07-fork-pool/pool),
 * the process pool's twin: same jobs, same results, threads instead of
 * processes.  Orders are forced with pipes ("gates"), never with sleeps.
 */
#include "unit.h"

#include "tpool.h"
#include "pool_test_jobs.h"
#include "tpool_test_jobs.h"

#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_10000_jobs(void)
{
    int fds = count_fds(), threads = count_threads();
    struct tpool *p = make_tpool(4, 0);
    struct pool_counts c;
    struct pool_result r;

    check_squares(p, 10000);
    c = tpool_counts(p);
    CU_ASSERT_EQUAL(c.done, 10000);
    CU_ASSERT_EQUAL(c.pending + c.running + c.ready, 0);
    CU_ASSERT_TRUE(c.forks >= 1 && c.forks <= 4);
    CU_ASSERT_EQUAL(tpool_get(p, 0, &r), ENOENT);
    tpool_destroy(p);
    CU_ASSERT_EQUAL(count_fds(), fds);
    CU_ASSERT_TRUE(threads_down_to(threads) <= threads);    /* every thread gone */
}

static void test_any_order(void)
{
    int gates[4][2];
    const int order[4] = { 2, 0, 3, 1 };
    uint64_t ids[4];
    struct tpool *p;

    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL_FATAL(pipe(gates[i]), 0);
    p = make_tpool(4, 0);
    for (int i = 0; i < 4; i++)
        ids[i] = tsubmit(p, gate_job, gates[i], sizeof gates[i]);
    for (int k = 0; k < 4; k++) {
        struct pool_result r;
        open_gate(gates[order[k]]);
        r = tget(p);
        CU_ASSERT_EQUAL(r.id, ids[order[k]]);
        CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
        CU_ASSERT_TRUE(r.len == 6 && memcmp(r.output, "opened", 6) == 0);
        pool_result_free(&r);
    }
    tpool_destroy(p);
    for (int i = 0; i < 4; i++) {
        close(gates[i][0]);
        close(gates[i][1]);
    }
}

static void test_get_timeout_and_counts(void)
{
    struct tpool *p = make_tpool(1, 0);
    int gate[2];
    uint32_t n = 3;
    struct pool_counts c;
    struct pool_result r;

    CU_ASSERT_EQUAL_FATAL(pipe(gate), 0);
    CU_ASSERT_EQUAL(tpool_get(p, -1, &r), ENOENT);
    tsubmit(p, gate_job, gate, sizeof gate);
    tsubmit(p, square_job, &n, sizeof n);
    CU_ASSERT_EQUAL(tpool_get(p, 20, &r), ETIMEDOUT);
    c = tpool_counts(p);
    CU_ASSERT_EQUAL(c.pending + c.running, 2);
    CU_ASSERT_EQUAL(c.done, 0);
    CU_ASSERT_EQUAL(c.workers, 1);
    open_gate(gate);
    r = tget(p);
    CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
    pool_result_free(&r);
    r = tget(p);
    CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
    pool_result_free(&r);
    c = tpool_counts(p);
    CU_ASSERT_EQUAL(c.done, 2);
    CU_ASSERT_EQUAL(c.pending + c.running + c.ready, 0);
    CU_ASSERT_EQUAL(tpool_get(p, 0, &r), ENOENT);
    tpool_destroy(p);
    close(gate[0]);
    close(gate[1]);
}

/* Past its limit, a job is reported at the deadline; its thread cannot be
 * killed, runs on, and what the job returns later is dropped. */
static void test_time_limit_reported_not_killed(void)
{
    struct tpool *p = make_tpool(1, 50);
    int gate[2];
    uint64_t id;
    struct pool_counts c;
    struct pool_result r;

    CU_ASSERT_EQUAL_FATAL(pipe(gate), 0);
    id = tsubmit(p, gate_job, gate, sizeof gate);
    r = tget(p);
    CU_ASSERT_EQUAL(r.id, id);
    CU_ASSERT_EQUAL(r.outcome, POOL_TIMED_OUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "cannot be killed"));
    pool_result_free(&r);
    c = tpool_counts(p);
    CU_ASSERT_EQUAL(c.running, 0);               /* reported, so not counted */
    CU_ASSERT_EQUAL(c.workers, 1);               /* but its thread is busy */
    CU_ASSERT_EQUAL(tpool_kill(p, id), ESRCH);
    CU_ASSERT_EQUAL(tpool_kill_all(p, 20), ETIMEDOUT);   /* still running */
    open_gate(gate);
    CU_ASSERT_EQUAL(tpool_kill_all(p, LONG_WAIT_MS), 0);
    CU_ASSERT_EQUAL(tpool_get(p, 0, &r), ENOENT);        /* its output: dropped */
    CU_ASSERT_EQUAL(tpool_counts(p).done, 1);
    tpool_destroy(p);
    close(gate[0]);
    close(gate[1]);
}

static void test_kill(void)
{
    struct tpool *p = make_tpool(1, 0);
    int gate[2];
    uint32_t n = 2;
    uint64_t running, queued;
    struct pool_result r;

    CU_ASSERT_EQUAL_FATAL(pipe(gate), 0);
    running = tsubmit(p, gate_job, gate, sizeof gate);
    queued = tsubmit(p, square_job, &n, sizeof n);
    /* The single thread takes the first job; wait until it has. */
    for (int i = 0; i < LONG_WAIT_MS && tpool_counts(p).running == 0; i++)
        poll(NULL, 0, 1);
    CU_ASSERT_EQUAL(tpool_kill(p, queued), 0);
    r = tget(p);
    CU_ASSERT_EQUAL(r.id, queued);
    CU_ASSERT_EQUAL(r.outcome, POOL_CANCELLED);
    pool_result_free(&r);
    CU_ASSERT_EQUAL(tpool_kill(p, running), EBUSY);   /* threads can't be killed */
    CU_ASSERT_EQUAL(tpool_kill(p, 999), ESRCH);
    open_gate(gate);
    r = tget(p);
    CU_ASSERT_EQUAL(r.id, running);
    CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
    pool_result_free(&r);
    tpool_destroy(p);
    close(gate[0]);
    close(gate[1]);
}

/* kill_all: queued jobs cancelled, running ones finish, every thread is
 * joined, and the pool works again afterwards. */
static void test_kill_all(void)
{
    int threads = count_threads();
    struct tpool *p = make_tpool(2, 0);
    int gate[2];
    uint32_t n = 6;
    size_t done = 0, cancelled = 0;
    struct pool_result *all;
    size_t count;

    CU_ASSERT_EQUAL_FATAL(pipe(gate), 0);
    tsubmit(p, gate_job, gate, sizeof gate);
    tsubmit(p, gate_job, gate, sizeof gate);
    for (int i = 0; i < 5; i++)
        tsubmit(p, square_job, &n, sizeof n);
    for (int i = 0; i < LONG_WAIT_MS && tpool_counts(p).running < 2; i++)
        poll(NULL, 0, 1);
    CU_ASSERT_EQUAL(tpool_counts(p).running, 2);
    CU_ASSERT_EQUAL(tpool_kill_all(p, 20), ETIMEDOUT);   /* the gates are shut */
    open_gate(gate);
    open_gate(gate);
    CU_ASSERT_EQUAL(tpool_kill_all(p, LONG_WAIT_MS), 0);
    CU_ASSERT_EQUAL(tpool_counts(p).workers, 0);
    CU_ASSERT_TRUE(threads_down_to(threads) <= threads);
    CU_ASSERT_EQUAL(tpool_get_all(p, 0, &all, &count), 0);
    CU_ASSERT_EQUAL(count, 7);
    for (size_t k = 0; k < count; k++) {
        done += all[k].outcome == POOL_DONE;
        cancelled += all[k].outcome == POOL_CANCELLED;
    }
    CU_ASSERT_EQUAL(done, 2);
    CU_ASSERT_EQUAL(cancelled, 5);
    pool_results_free(all, count);
    free(all);
    check_squares(p, 100);
    tpool_destroy(p);
    close(gate[0]);
    close(gate[1]);
    CU_ASSERT_TRUE(threads_down_to(threads) <= threads);
}

static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static int hook_calls, hook_indexes;

static void note_start(int index, void *data)
{
    (void)data;
    pthread_mutex_lock(&hook_lock);
    hook_calls++;
    hook_indexes |= 1 << index;
    pthread_mutex_unlock(&hook_lock);
}

static void test_hook_after_each_start(void)
{
    struct tpool_options opt = { .threads = 3, .after_start = note_start };
    struct tpool *p = NULL;
    int gate[2];

    hook_calls = hook_indexes = 0;
    CU_ASSERT_EQUAL_FATAL(pipe(gate), 0);
    CU_ASSERT_EQUAL_FATAL(tpool_create(&p, &opt), 0);
    for (int i = 0; i < 3; i++)                  /* three jobs at once: three threads */
        tsubmit(p, gate_job, gate, sizeof gate);
    for (int i = 0; i < 3; i++)
        open_gate(gate);
    for (int i = 0; i < 3; i++) {
        struct pool_result r = tget(p);
        pool_result_free(&r);
    }
    CU_ASSERT_EQUAL(tpool_counts(p).forks, 3);
    tpool_destroy(p);
    CU_ASSERT_EQUAL(hook_calls, 3);
    CU_ASSERT_EQUAL(hook_indexes, 7);            /* indexes 0, 1 and 2 */
    close(gate[0]);
    close(gate[1]);
}

static pthread_t main_thread;

static size_t where_job(const void *arg, size_t len, void *out, size_t cap)
{
    int here = pthread_equal(pthread_self(), main_thread) != 0;

    (void)arg, (void)len, (void)cap;
    memcpy(out, &here, sizeof here);
    return sizeof here;
}

static void test_sync_runs_in_the_caller(void)
{
    struct tpool_options opt = { .threads = 2, .sync = true };
    struct tpool *p = NULL;
    struct pool_result r;
    int here = 0;

    main_thread = pthread_self();
    CU_ASSERT_EQUAL_FATAL(tpool_create(&p, &opt), 0);
    tsubmit(p, where_job, NULL, 0);
    CU_ASSERT_EQUAL(tpool_counts(p).ready, 1);
    r = tget(p);
    if (r.len == sizeof here)
        memcpy(&here, r.output, sizeof here);
    CU_ASSERT_EQUAL(here, 1);
    pool_result_free(&r);
    CU_ASSERT_EQUAL(tpool_counts(p).forks, 0);
    tpool_destroy(p);
}

/* Two threads collect the results of one pool at once: every result goes
 * to exactly one of them, and neither waits forever (no lost wake-up). */
struct collector {
    struct tpool *pool;
    size_t got;
    uint64_t sum;
};

static void *collect(void *arg)
{
    struct collector *c = arg;
    struct pool_result r;

    while (tpool_get(c->pool, LONG_WAIT_MS, &r) == 0) {
        c->got++;
        c->sum += r.id;
        pool_result_free(&r);
    }
    return NULL;
}

static void test_two_collectors(void)
{
    struct tpool *p = make_tpool(3, 0);
    struct collector a = { p, 0, 0 }, b = { p, 0, 0 };
    pthread_t ta, tb;
    const uint32_t n = 2000;
    int gate[2];

    /* A job held at its gate keeps both collectors waiting from the start. */
    CU_ASSERT_EQUAL_FATAL(pipe(gate), 0);
    tsubmit(p, gate_job, gate, sizeof gate);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&ta, NULL, collect, &a), 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&tb, NULL, collect, &b), 0);
    for (uint32_t i = 0; i < n; i++)
        tsubmit(p, square_job, &i, sizeof i);
    open_gate(gate);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CU_ASSERT_EQUAL(a.got + b.got, n + 1);
    CU_ASSERT_EQUAL(a.sum + b.sum, (uint64_t)(n + 1) * (n + 2) / 2);   /* ids 1..n+1 */
    tpool_destroy(p);
    close(gate[0]);
    close(gate[1]);
}

static void test_bad_arguments(void)
{
    struct tpool_options opt = { .threads = 0 };
    struct tpool *p = NULL;
    char big[POOL_ARG_MAX + 1] = { 0 };

    CU_ASSERT_EQUAL(tpool_create(&p, &opt), EINVAL);
    opt.threads = POOL_WORKERS_MAX + 1;
    CU_ASSERT_EQUAL(tpool_create(&p, &opt), EINVAL);
    p = make_tpool(1, 0);
    CU_ASSERT_EQUAL(tpool_submit(p, NULL, NULL, 0, NULL), EINVAL);
    CU_ASSERT_EQUAL(tpool_submit(p, square_job, big, sizeof big, NULL), EINVAL);
    tpool_destroy(p);
}

static CU_TestInfo tests[] = {
    { "results in any order (the order jobs finish)", test_any_order },
    { "get: timeout, nothing left, and the counts", test_get_timeout_and_counts },
    { "a job past its time limit is reported, not killed; its output dropped",
      test_time_limit_reported_not_killed },
    { "kill: queued cancelled, running refused (EBUSY), unknown ESRCH", test_kill },
    { "kill_all: queued cancelled, running finish, threads joined, reusable", test_kill_all },
    { "hook after each thread start, with its index", test_hook_after_each_start },
    { "sync mode runs the job in the caller's thread", test_sync_runs_in_the_caller },
    { "two threads collect results at once: none lost, none twice", test_two_collectors },
    { "bad arguments are refused", test_bad_arguments },
    { "10,000 jobs, all accounted for, no fd leaked, every thread joined", test_10000_jobs },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("tpool", tests)
