/* test_pool_life.c - the process pool of chapter 07: its children's
 * lives and its edges.  A child that dies before the pool has recorded it
 * (made to happen with the fork hook), SIGCHLD blocked by the caller, the
 * hook itself, a prefork worker holding its next job, get's timeouts and
 * the counts, sync mode, bad arguments, and destroy with jobs in flight.
 * The jobs and checks are in pool_test_jobs.c. */
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

/* --- the child that dies before the pool has recorded it ------------- */

static volatile sig_atomic_t sigchld_count;
static int hook_saw_death, hook_saw_sigchld;

static void count_sigchld(int sig)
{
    (void)sig;
    sigchld_count++;
}

/* The parent's side of the hook runs between fork() and the moment the
 * pool records the child.  It waits until the child is dead (WNOWAIT:
 * without reaping it) and until its SIGCHLD has been delivered. */
static void wait_for_death(pid_t pid, void *data)
{
    siginfo_t info;
    int before = *(int *)data;
    struct timespec tick = { 0, 1000000 };

    if (pid == 0)
        return;
    for (int i = 0; i < LONG_WAIT_MS; i++) {
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT | WNOHANG) == 0 &&
            info.si_pid == pid)
            break;
        nanosleep(&tick, NULL);
    }
    hook_saw_death = info.si_pid == pid;
    for (int i = 0; i < LONG_WAIT_MS && sigchld_count == before; i++)
        nanosleep(&tick, NULL);
    hook_saw_sigchld = sigchld_count != before;
}

static void test_child_dies_before_recorded(void)
{
    struct sigaction sa, old;
    int before;
    struct pool_options opt = { .workers = 2, .mode = POOL_FORK,
                                .after_fork = wait_for_death, .hook_data = &before };
    struct pool *p = NULL;
    struct pool_result r;
    uint32_t n = 5;
    uint64_t id;

    /* Our own SIGCHLD handler, installed first: the pool calls it too, so
     * the test can see the signal arrive. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_sigchld;
    sigemptyset(&sa.sa_mask);
    CU_ASSERT_EQUAL_FATAL(sigaction(SIGCHLD, &sa, &old), 0);
    CU_ASSERT_EQUAL_FATAL(pool_create(&p, &opt), 0);
    before = sigchld_count;
    id = submit(p, exit_now_job, NULL, 0);
    CU_ASSERT_TRUE(hook_saw_death);      /* dead before the pool recorded it */
    CU_ASSERT_TRUE(hook_saw_sigchld);    /* and its SIGCHLD came and went */
    r = get(p);
    CU_ASSERT_EQUAL(r.id, id);
    CU_ASSERT_EQUAL(r.outcome, POOL_EXITED);
    CU_ASSERT_EQUAL(r.code, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "exited with status 0 without a result"));
    pool_result_free(&r);
    /* A good job through the same path: dead before recorded, result kept. */
    before = sigchld_count;
    id = submit(p, square_job, &n, sizeof n);
    CU_ASSERT_TRUE(hook_saw_death && hook_saw_sigchld);
    r = get(p);
    CU_ASSERT_EQUAL(r.id, id);
    CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
    pool_result_free(&r);
    CU_ASSERT_EQUAL(pool_get(p, 0, &r), ENOENT);
    CU_ASSERT_TRUE(no_children());
    pool_destroy(p);
    sigaction(SIGCHLD, &old, NULL);
}

/* The caller blocks SIGCHLD: no signal ever arrives while jobs that exit at
 * once come and go.  The pool still reaps every one. */
static void test_sigchld_blocked(void)
{
    sigset_t chld, old;
    struct pool *p;
    struct pool_result *all;
    size_t count, exited = 0;

    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    CU_ASSERT_EQUAL_FATAL(sigprocmask(SIG_BLOCK, &chld, &old), 0);
    p = make_pool(POOL_FORK, 4, 0);
    for (int i = 0; i < 50; i++)
        submit(p, exit_now_job, NULL, 0);
    CU_ASSERT_EQUAL(pool_get_all(p, LONG_WAIT_MS, &all, &count), 0);
    CU_ASSERT_EQUAL(count, 50);
    for (size_t k = 0; k < count; k++)
        if (all[k].outcome == POOL_EXITED && all[k].code == 0)
            exited++;
    CU_ASSERT_EQUAL(exited, 50);
    CU_ASSERT_TRUE(no_children());
    pool_results_free(all, count);
    free(all);
    pool_destroy(p);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* --- the hook, prefetching, timeouts, counts, sync -------------------- */

static int hook_parent_calls;
static int hooked_in_child;

static void count_forks(pid_t pid, void *data)
{
    (void)data;
    if (pid == 0)
        hooked_in_child = 1;
    else
        hook_parent_calls++;
}

static size_t hooked_job(const void *arg, size_t len, void *out, size_t cap)
{
    (void)arg, (void)len, (void)cap;
    memcpy(out, &hooked_in_child, sizeof hooked_in_child);
    return sizeof hooked_in_child;
}

static void hook(enum pool_mode mode, int jobs, int expected_forks)
{
    struct pool_options opt = { .workers = 2, .mode = mode, .after_fork = count_forks };
    struct pool *p = NULL;
    struct pool_result *all;
    size_t count, hooked = 0;

    hook_parent_calls = 0;
    hooked_in_child = 0;
    CU_ASSERT_EQUAL_FATAL(pool_create(&p, &opt), 0);
    for (int i = 0; i < jobs; i++)
        submit(p, hooked_job, NULL, 0);
    CU_ASSERT_EQUAL(pool_get_all(p, LONG_WAIT_MS, &all, &count), 0);
    for (size_t k = 0; k < count; k++) {
        int flag = 0;
        if (all[k].len == sizeof flag)
            memcpy(&flag, all[k].output, sizeof flag);
        hooked += flag == 1;
    }
    CU_ASSERT_EQUAL(hooked, (size_t)(expected_forks ? jobs : 0));
    CU_ASSERT_EQUAL(hook_parent_calls, expected_forks);
    CU_ASSERT_EQUAL(pool_counts(p).forks, (uint64_t)expected_forks);
    pool_results_free(all, count);
    free(all);
    pool_destroy(p);
}

static void test_hook_fork(void) { hook(POOL_FORK, 10, 10); }
static void test_hook_sync(void) { hook(POOL_SYNC, 10, 0); }

static void test_hook_prefork(void)
{
    /* Two workers for 10 jobs: each forked once.  The jobs come one at a
     * time so that both workers exist whatever the scheduling. */
    struct pool_options opt = { .workers = 2, .mode = POOL_PREFORK,
                                .after_fork = count_forks };
    struct pool *p = NULL;
    int gate[2];
    struct pool_result r;

    hook_parent_calls = 0;
    CU_ASSERT_EQUAL_FATAL(pipe(gate), 0);
    CU_ASSERT_EQUAL_FATAL(pool_create(&p, &opt), 0);
    submit(p, gate_job, gate, sizeof gate);      /* keeps worker 1 busy */
    for (int i = 0; i < 10; i++) {
        submit(p, hooked_job, NULL, 0);
        r = get(p);
        CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
        CU_ASSERT_TRUE(r.len == sizeof(int) && *(int *)(void *)r.output == 1);
        pool_result_free(&r);
    }
    write_full(gate[1], "g", 1);
    r = get(p);
    pool_result_free(&r);
    CU_ASSERT_EQUAL(hook_parent_calls, 2);
    CU_ASSERT_EQUAL(pool_counts(p).forks, 2);
    pool_destroy(p);
    close(gate[0]);
    close(gate[1]);
}

/* Prefork: while a worker runs one job it already holds the next, and
 * starts it with no help from the parent (the test calls no pool function
 * between opening the gate and seeing the next job start). */
static void test_prefork_holds_next_job(void)
{
    struct pool_options opt = { .workers = 1, .mode = POOL_PREFORK, .prefetch = 2 };
    struct pool *p = NULL;
    int gate[2], tells[2];
    struct pool_counts c;
    struct pool_result r;

    CU_ASSERT_EQUAL_FATAL(pipe(gate), 0);
    CU_ASSERT_EQUAL_FATAL(pipe(tells), 0);
    CU_ASSERT_EQUAL_FATAL(pool_create(&p, &opt), 0);
    submit(p, gate_job, gate, sizeof gate);
    submit(p, tell_job, &tells[1], sizeof tells[1]);
    /* pool_submit gives a job only to an idle worker; the loop gives the
     * busy one the next. */
    CU_ASSERT_EQUAL(pool_get(p, 0, &r), ETIMEDOUT);
    c = pool_counts(p);
    CU_ASSERT_EQUAL(c.pending, 0);
    CU_ASSERT_EQUAL(c.running, 2);               /* both in the worker's hands */
    CU_ASSERT_FALSE(readable_within(tells[0], 0));
    write_full(gate[1], "g", 1);
    CU_ASSERT_TRUE(readable_within(tells[0], LONG_WAIT_MS));
    for (int i = 0; i < 2; i++) {
        r = get(p);
        CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
        pool_result_free(&r);
    }
    pool_destroy(p);
    for (int i = 0; i < 2; i++) {
        close(gate[i]);
        close(tells[i]);
    }
}

static void test_get_timeout_and_counts(void)
{
    struct pool *p = make_pool(POOL_FORK, 1, 0);
    int gate[2];
    uint32_t n = 3;
    struct pool_counts c;
    struct pool_result r;

    CU_ASSERT_EQUAL_FATAL(pipe(gate), 0);
    CU_ASSERT_EQUAL(pool_get(p, 0, &r), ENOENT);          /* nothing to wait for */
    CU_ASSERT_EQUAL(pool_get(p, -1, &r), ENOENT);         /* even with no limit */
    submit(p, gate_job, gate, sizeof gate);
    submit(p, square_job, &n, sizeof n);
    c = pool_counts(p);
    CU_ASSERT_EQUAL(c.running, 1);
    CU_ASSERT_EQUAL(c.pending, 1);
    CU_ASSERT_EQUAL(c.done, 0);
    CU_ASSERT_EQUAL(c.workers, 1);
    CU_ASSERT_EQUAL(pool_get(p, 20, &r), ETIMEDOUT);      /* the gate is shut */
    CU_ASSERT_EQUAL(pool_get(p, 0, &r), ETIMEDOUT);
    write_full(gate[1], "g", 1);
    r = get(p);
    CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
    pool_result_free(&r);
    c = pool_counts(p);
    CU_ASSERT_EQUAL(c.done, 1);
    CU_ASSERT_EQUAL(c.pending + c.running + c.ready, 1);
    r = get(p);
    CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
    pool_result_free(&r);
    CU_ASSERT_EQUAL(pool_counts(p).done, 2);
    CU_ASSERT_EQUAL(pool_get(p, 0, &r), ENOENT);
    pool_destroy(p);
    close(gate[0]);
    close(gate[1]);
}

static void test_sync_runs_in_the_caller(void)
{
    struct pool *p = make_pool(POOL_SYNC, 1, 0);
    uint32_t n = 12;
    uint64_t sq = 0;
    struct pool_result r;

    submit(p, square_job, &n, sizeof n);
    CU_ASSERT_EQUAL(pool_counts(p).ready, 1);    /* done at submission */
    r = get(p);
    CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
    CU_ASSERT_EQUAL(r.pid, getpid());
    if (r.len == sizeof sq)
        memcpy(&sq, r.output, sizeof sq);
    CU_ASSERT_EQUAL(sq, 144);
    pool_result_free(&r);
    CU_ASSERT_EQUAL(pool_counts(p).forks, 0);
    pool_destroy(p);
}

static void test_bad_arguments(void)
{
    struct pool_options opt = { .workers = 0, .mode = POOL_FORK };
    char big[POOL_ARG_MAX + 1] = { 0 };
    struct pool *p = NULL;

    CU_ASSERT_EQUAL(pool_create(&p, &opt), EINVAL);
    opt.workers = POOL_WORKERS_MAX + 1;
    CU_ASSERT_EQUAL(pool_create(&p, &opt), EINVAL);
    opt.workers = 1;
    opt.prefetch = POOL_PREFETCH_MAX + 1;
    CU_ASSERT_EQUAL(pool_create(&p, &opt), EINVAL);
    p = make_pool(POOL_FORK, 1, 0);
    CU_ASSERT_EQUAL(pool_submit(p, NULL, NULL, 0, NULL), EINVAL);
    CU_ASSERT_EQUAL(pool_submit(p, echo_job, big, sizeof big, NULL), EINVAL);
    CU_ASSERT_EQUAL(pool_submit(p, echo_job, big, POOL_ARG_MAX, NULL), 0);
    struct pool_result r = get(p);
    CU_ASSERT_EQUAL(r.len, POOL_ARG_MAX);
    pool_result_free(&r);
    CU_ASSERT_STRING_EQUAL(pool_outcome_name(POOL_TIMED_OUT), "timed out");
    pool_destroy(p);
}

/* Destroying a pool with jobs in flight leaves no child and no descriptor. */
static void test_destroy_mid_flight(void)
{
    int fds_before = count_fds();
    int forever = 60000;
    struct pool *p = make_pool(POOL_PREFORK, 3, 0);

    for (int i = 0; i < 10; i++)
        submit(p, sleep_job, &forever, sizeof forever);
    pool_destroy(p);
    CU_ASSERT_TRUE(no_children());
    CU_ASSERT_EQUAL(count_fds(), fds_before);
}

static CU_TestInfo tests[] = {
    { "a child that dies before the pool records it (hook waits for its death)",
      test_child_dies_before_recorded },
    { "SIGCHLD blocked by the caller: 50 instant exits all reaped", test_sigchld_blocked },
    { "hook after each fork: fork mode, once per job, in parent and child", test_hook_fork },
    { "hook after each fork: prefork, once per worker", test_hook_prefork },
    { "hook: sync mode never forks", test_hook_sync },
    { "prefork: a worker holds its next job and starts it alone", test_prefork_holds_next_job },
    { "get: timeout, nothing left, and the counts", test_get_timeout_and_counts },
    { "sync mode runs the job in the caller", test_sync_runs_in_the_caller },
    { "bad arguments are refused", test_bad_arguments },
    { "destroy with jobs in flight: no child, no descriptor left", test_destroy_mid_flight },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("pool life", tests)
