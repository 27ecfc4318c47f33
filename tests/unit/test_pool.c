/* test_pool.c - the process pool of chapter 07 (chapters/07-fork-pool/pool):
 * its promises, in every mode.
 *
 * Every fault the pool promises to turn into a result is made to happen on
 * purpose: a crash, a non-zero exit, a job past its time limit, each kind of
 * malformed frame, kill and kill_all; results come in the order jobs
 * finish; 10,000 jobs per mode all come back.  Orders are forced with pipes
 * ("gates"), never with sleeps, so no test depends on timing luck; sleeps
 * appear only in jobs that must still be running when the test acts.  The
 * jobs and checks are in pool_test_jobs.c; the pool's edges (the early
 * death, the hook, counts, sync mode) in test_pool_life.c.
 */
#include "unit.h"

#include "pool.h"
#include "pool_test_jobs.h"

#include "frame.h"
#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* --- tests --------------------------------------------------------------- */

static void check_squares(struct pool *p, uint32_t n)
{
    struct pool_result *all = NULL;
    size_t count = 0;
    unsigned char *seen = calloc(n + 1, 1);
    size_t bad = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t id = submit(p, square_job, &i, sizeof i);
        CU_ASSERT_EQUAL(id, (uint64_t)i + 1);    /* ids are 1, 2, ... */
    }
    CU_ASSERT_EQUAL(pool_get_all(p, 60000, &all, &count), 0);
    CU_ASSERT_EQUAL(count, n);
    for (size_t k = 0; k < count; k++) {
        uint64_t id = all[k].id, sq = 0;
        uint64_t i = id - 1;
        if (id < 1 || id > n || seen[id] || all[k].outcome != POOL_DONE ||
            all[k].len != sizeof sq) {
            bad++;
            continue;
        }
        seen[id] = 1;
        memcpy(&sq, all[k].output, sizeof sq);
        if (sq != i * i)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    for (uint32_t id = 1; id <= n; id++)
        if (!seen[id])
            bad++;
    CU_ASSERT_EQUAL(bad, 0);     /* every job accounted for exactly once */
    pool_results_free(all, count);
    free(all);
    free(seen);
}

static void ten_thousand(enum pool_mode mode, int workers)
{
    int fds_before = count_fds();
    uint32_t jobs = mode == POOL_FORK ? FORK_JOBS : 10000;
    struct pool *p = make_pool(mode, workers, 0);
    struct pool_counts c;
    struct pool_result r;

    check_squares(p, jobs);
    c = pool_counts(p);
    CU_ASSERT_EQUAL(c.done, jobs);
    CU_ASSERT_EQUAL(c.pending + c.running + c.ready, 0);
    CU_ASSERT_EQUAL(pool_get(p, 0, &r), ENOENT);
    if (mode == POOL_FORK) {
        CU_ASSERT_EQUAL(c.forks, jobs);          /* one child per job */
        CU_ASSERT_EQUAL(c.workers, 0);           /* all reaped already */
        CU_ASSERT_TRUE(no_children());
    } else if (mode == POOL_PREFORK) {
        CU_ASSERT_TRUE(c.forks >= 1 && c.forks <= (uint64_t)workers);
    } else {
        CU_ASSERT_EQUAL(c.forks, 0);
    }
    pool_destroy(p);
    CU_ASSERT_TRUE(no_children());
    CU_ASSERT_EQUAL(count_fds(), fds_before);
}

static void test_10000_fork(void) { ten_thousand(POOL_FORK, 8); }
static void test_10000_prefork(void) { ten_thousand(POOL_PREFORK, 4); }
static void test_10000_sync(void) { ten_thousand(POOL_SYNC, 1); }

/* Results come in the order the jobs finish: the test opens the gates in
 * the order 3, 1, 4, 2 and must receive the results in that order. */
static void any_order(enum pool_mode mode)
{
    int gates[4][2];
    uint64_t ids[4];
    const int order[4] = { 2, 0, 3, 1 };
    struct pool *p;

    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL_FATAL(pipe(gates[i]), 0);
    p = make_pool(mode, 4, 0);
    for (int i = 0; i < 4; i++)
        ids[i] = submit(p, gate_job, gates[i], sizeof gates[i]);
    CU_ASSERT_EQUAL(pool_counts(p).running, 4);
    for (int k = 0; k < 4; k++) {
        struct pool_result r;
        write_full(gates[order[k]][1], "g", 1);
        r = get(p);
        CU_ASSERT_EQUAL(r.id, ids[order[k]]);
        CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
        CU_ASSERT_TRUE(r.len == 6 && memcmp(r.output, "opened", 6) == 0);
        pool_result_free(&r);
    }
    pool_destroy(p);
    for (int i = 0; i < 4; i++) {
        close(gates[i][0]);
        close(gates[i][1]);
    }
    CU_ASSERT_TRUE(no_children());
}

static void test_any_order_fork(void) { any_order(POOL_FORK); }
static void test_any_order_prefork(void) { any_order(POOL_PREFORK); }

/* A crash, an exit(3) and a broken contract among good jobs: each is a
 * result naming what happened, and every other job completes. */
static void faults_among_good_jobs(enum pool_mode mode)
{
    struct pool *p = make_pool(mode, 2, 0);
    uint64_t crash = 0, exit3 = 0, abort_id = 0;
    size_t good = 0;
    bool saw_crash = false, saw_exit = false, saw_abort = false;
    struct pool_result *all;
    size_t count;

    for (uint32_t i = 0; i < 20; i++) {
        submit(p, square_job, &i, sizeof i);
        if (i == 5)
            crash = submit(p, crash_job, NULL, 0);
        if (i == 10)
            exit3 = submit(p, exit3_job, NULL, 0);
        if (i == 15)
            abort_id = submit(p, too_much_job, NULL, 0);
    }
    CU_ASSERT_EQUAL(pool_get_all(p, LONG_WAIT_MS, &all, &count), 0);
    CU_ASSERT_EQUAL(count, 23);
    for (size_t k = 0; k < count; k++) {
        struct pool_result *r = &all[k];
        if (r->id == crash) {
            saw_crash = true;
            CU_ASSERT_EQUAL(r->outcome, POOL_KILLED);
            CU_ASSERT_EQUAL(r->code, SIGSEGV);
            CU_ASSERT_PTR_NOT_NULL(strstr(r->detail, "killed by SIGSEGV"));
            CU_ASSERT_TRUE(r->pid > 0);
        } else if (r->id == exit3) {
            saw_exit = true;
            CU_ASSERT_EQUAL(r->outcome, POOL_EXITED);
            CU_ASSERT_EQUAL(r->code, 3);
            CU_ASSERT_PTR_NOT_NULL(strstr(r->detail, "exited with status 3"));
        } else if (r->id == abort_id) {
            saw_abort = true;
            CU_ASSERT_EQUAL(r->outcome, POOL_KILLED);
            CU_ASSERT_EQUAL(r->code, SIGABRT);
        } else if (r->outcome == POOL_DONE) {
            good++;
        }
    }
    CU_ASSERT_TRUE(saw_crash && saw_exit && saw_abort);
    CU_ASSERT_EQUAL(good, 20);
    pool_results_free(all, count);
    free(all);
    pool_destroy(p);
    CU_ASSERT_TRUE(no_children());
}

static void test_faults_fork(void) { faults_among_good_jobs(POOL_FORK); }
static void test_faults_prefork(void) { faults_among_good_jobs(POOL_PREFORK); }

/* A job past its time limit is killed and reported; the others finish.
 * The limit leaves the quick job a wide margin on a loaded machine. */
static void time_limit(enum pool_mode mode)
{
    struct pool *p = make_pool(mode, 2, 500);
    int forever = 60000, quick = 0;
    uint64_t slow = submit(p, sleep_job, &forever, sizeof forever);
    uint64_t fast = submit(p, sleep_job, &quick, sizeof quick);
    bool saw_slow = false, saw_fast = false;

    for (int k = 0; k < 2; k++) {
        struct pool_result r = get(p);
        if (r.id == slow) {
            saw_slow = true;
            CU_ASSERT_EQUAL(r.outcome, POOL_TIMED_OUT);
            CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "500 ms time limit"));
        } else if (r.id == fast) {
            saw_fast = true;
            CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
        }
        pool_result_free(&r);
    }
    CU_ASSERT_TRUE(saw_slow && saw_fast);
    pool_destroy(p);
    CU_ASSERT_TRUE(no_children());
}

static void test_time_limit_fork(void) { time_limit(POOL_FORK); }
static void test_time_limit_prefork(void) { time_limit(POOL_PREFORK); }

/* Each kind of malformed frame is a POOL_BAD_FRAME result with a reason,
 * and the pool goes on with a good job afterwards. */
static void malformed(enum pool_mode mode)
{
    struct {
        pool_job_fn fn;
        const char *reason;
    } cases[] = {
        { frame_too_big_job, "larger than the limit" },
        { frame_wrong_id_job, "result for job 999999" },
        { frame_short_job, "shorter than a result header" },
        { frame_truncated_job, "ended inside a frame" },
        { frame_stall_job, "stalled inside a frame for 300 ms" },
    };
    /* A good frame_send() writes its frame in two pieces: stall_ms must
     * exceed any pause between them, even on a loaded machine. */
    struct pool_options opt = { .workers = 1, .mode = mode, .stall_ms = 300 };
    struct pool *p = NULL;

    CU_ASSERT_EQUAL_FATAL(pool_create(&p, &opt), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t n = 7;
        uint64_t bad = submit(p, cases[i].fn, NULL, 0);
        uint64_t good = submit(p, square_job, &n, sizeof n);
        struct pool_result r = get(p);

        CU_ASSERT_EQUAL(r.id, bad);
        CU_ASSERT_EQUAL(r.outcome, POOL_BAD_FRAME);
        if (strstr(r.detail, cases[i].reason) == NULL)
            fprintf(stderr, "case %zu: detail '%s'\n", i, r.detail);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, cases[i].reason));
        pool_result_free(&r);
        r = get(p);
        CU_ASSERT_EQUAL(r.id, good);
        CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
        pool_result_free(&r);
    }
    pool_destroy(p);
    CU_ASSERT_TRUE(no_children());
}

static void test_malformed_fork(void) { malformed(POOL_FORK); }
static void test_malformed_prefork(void) { malformed(POOL_PREFORK); }

/* kill_all: running jobs report their signal, queued ones are cancelled,
 * and no child is left, alive or zombie. */
static void kill_all(enum pool_mode mode)
{
    struct pool *p = make_pool(mode, 3, 0);
    int forever = 60000, tells[2];
    size_t killed = 0, cancelled = 0;
    struct pool_result *all;
    size_t count;

    CU_ASSERT_EQUAL_FATAL(pipe(tells), 0);
    for (int i = 0; i < 3; i++)
        submit(p, tell_then_sleep_job, &tells[1], sizeof tells[1]);
    for (int i = 0; i < 4; i++)
        submit(p, sleep_job, &forever, sizeof forever);
    /* Three jobs have started (and sleep) when three bytes came. */
    for (int i = 0; i < 3; i++) {
        char c;
        CU_ASSERT_TRUE_FATAL(readable_within(tells[0], LONG_WAIT_MS));
        CU_ASSERT_EQUAL(read(tells[0], &c, 1), 1);
    }
    pool_kill_all(p, SIGTERM);
    CU_ASSERT_TRUE(no_children());
    CU_ASSERT_EQUAL(pool_counts(p).workers, 0);
    CU_ASSERT_EQUAL(pool_get_all(p, 0, &all, &count), 0);
    CU_ASSERT_EQUAL(count, 7);
    for (size_t k = 0; k < count; k++) {
        if (all[k].outcome == POOL_KILLED && all[k].code == SIGTERM &&
            strstr(all[k].detail, "killed by SIGTERM") != NULL)
            killed++;
        else if (all[k].outcome == POOL_CANCELLED)
            cancelled++;
    }
    CU_ASSERT_EQUAL(killed, 3);
    CU_ASSERT_EQUAL(cancelled, 4);
    pool_results_free(all, count);
    free(all);
    /* Still usable afterwards. */
    {
        uint32_t n = 9;
        uint64_t sq = 0;
        submit(p, square_job, &n, sizeof n);
        struct pool_result r = get(p);
        CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
        if (r.len == sizeof sq)
            memcpy(&sq, r.output, sizeof sq);
        CU_ASSERT_EQUAL(sq, 81);
        pool_result_free(&r);
    }
    pool_destroy(p);
    close(tells[0]);
    close(tells[1]);
    CU_ASSERT_TRUE(no_children());
}

static void test_kill_all_fork(void) { kill_all(POOL_FORK); }
static void test_kill_all_prefork(void) { kill_all(POOL_PREFORK); }

/* kill one: a running job reports the signal; a queued one is cancelled;
 * an unknown id is ESRCH. */
static void kill_one(enum pool_mode mode)
{
    struct pool_options opt = { .workers = 1, .mode = mode, .prefetch = 1 };
    struct pool *p = NULL;
    int started[2];
    uint32_t n = 4;
    uint64_t running, queued;
    struct pool_result r;

    CU_ASSERT_EQUAL_FATAL(pipe(started), 0);
    CU_ASSERT_EQUAL_FATAL(pool_create(&p, &opt), 0);
    running = submit(p, tell_then_sleep_job, &started[1], sizeof started[1]);
    queued = submit(p, square_job, &n, sizeof n);
    CU_ASSERT_TRUE_FATAL(readable_within(started[0], LONG_WAIT_MS));   /* it runs */
    CU_ASSERT_EQUAL(pool_counts(p).pending, 1);
    CU_ASSERT_EQUAL(pool_kill(p, queued, SIGTERM), 0);
    r = get(p);
    CU_ASSERT_EQUAL(r.id, queued);
    CU_ASSERT_EQUAL(r.outcome, POOL_CANCELLED);
    pool_result_free(&r);
    CU_ASSERT_EQUAL(pool_kill(p, running, SIGUSR1), 0);
    r = get(p);
    CU_ASSERT_EQUAL(r.id, running);
    CU_ASSERT_EQUAL(r.outcome, POOL_KILLED);
    CU_ASSERT_EQUAL(r.code, SIGUSR1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "killed by SIGUSR1"));
    pool_result_free(&r);
    CU_ASSERT_EQUAL(pool_kill(p, running, SIGTERM), ESRCH);
    CU_ASSERT_EQUAL(pool_kill(p, 12345, SIGTERM), ESRCH);
    CU_ASSERT_EQUAL(pool_get(p, 0, &r), ENOENT);
    pool_destroy(p);
    close(started[0]);
    close(started[1]);
    CU_ASSERT_TRUE(no_children());
}

static void test_kill_one_fork(void) { kill_one(POOL_FORK); }
static void test_kill_one_prefork(void) { kill_one(POOL_PREFORK); }


static CU_TestInfo tests[] = {
    { "fork: results in any order (the order jobs finish)", test_any_order_fork },
    { "prefork: results in any order", test_any_order_prefork },
    { "fork: crash, exit(3), broken contract are results; the rest complete", test_faults_fork },
    { "prefork: the same faults; the rest complete", test_faults_prefork },
    { "fork: a job past its time limit is killed and reported", test_time_limit_fork },
    { "prefork: a job past its time limit is killed and reported", test_time_limit_prefork },
    { "fork: malformed frames (too big, wrong id, short, truncated, stalled)",
      test_malformed_fork },
    { "prefork: malformed frames", test_malformed_prefork },
    { "fork: kill_all leaves no child; running killed, queued cancelled", test_kill_all_fork },
    { "prefork: kill_all leaves no child", test_kill_all_prefork },
    { "fork: kill one running (signal named), one queued (cancelled)", test_kill_one_fork },
    { "prefork: kill one running, one queued", test_kill_one_prefork },
    { "fork: 10,000 jobs (1,000 under ASan), all accounted for, no fd leaked, no zombie",
      test_10000_fork },
    { "prefork: 10,000 jobs, all accounted for, no fd leaked, no zombie", test_10000_prefork },
    { "sync: 10,000 jobs, all accounted for", test_10000_sync },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("pool", tests)
