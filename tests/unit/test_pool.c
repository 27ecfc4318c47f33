/* test_pool.c - the process pool of chapter 07 (chapters/07-fork-pool/pool).
 *
 * Every fault the pool promises to turn into a result is made to happen on
 * purpose: a crash, a non-zero exit, a job past its time limit, each kind of
 * malformed frame, kill and kill_all, and a child that dies before the pool
 * has recorded it.  Orders are forced with pipes ("gates"), never with
 * sleeps, so no test depends on timing luck; sleeps appear only in jobs
 * that must still be running when the test acts.
 */
#include "unit.h"

#include "pool.h"

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

/* --- what every test checks at the end ------------------------------- */

static int count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    int n = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    while (readdir(dir) != NULL)
        n++;
    closedir(dir);
    return n;
}

/* No child at all, living or zombie: waitpid has nothing to wait for. */
static bool no_children(void)
{
    return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

static struct pool *make_pool(enum pool_mode mode, int workers, int time_limit_ms)
{
    struct pool_options opt = { .workers = workers, .mode = mode,
                                .time_limit_ms = time_limit_ms };
    struct pool *p = NULL;

    CU_ASSERT_EQUAL_FATAL(pool_create(&p, &opt), 0);
    return p;
}

static uint64_t submit(struct pool *p, pool_job_fn fn, const void *arg, size_t len)
{
    uint64_t id = 0;

    CU_ASSERT_EQUAL_FATAL(pool_submit(p, fn, arg, len, &id), 0);
    return id;
}

static struct pool_result get(struct pool *p)
{
    struct pool_result r;

    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(pool_get(p, LONG_WAIT_MS, &r), 0);
    return r;
}

/* --- jobs -------------------------------------------------------------- */

/* Output: the square of the 32-bit argument, as 8 bytes. */
static size_t square_job(const void *arg, size_t len, void *out, size_t cap)
{
    uint32_t n;
    uint64_t sq;

    (void)cap;
    if (len != sizeof n)
        return 0;
    memcpy(&n, arg, sizeof n);
    sq = (uint64_t)n * n;
    memcpy(out, &sq, sizeof sq);
    return sizeof sq;
}

static size_t echo_job(const void *arg, size_t len, void *out, size_t cap)
{
    (void)cap;
    memcpy(out, arg, len);
    return len;
}

static size_t sleep_job(const void *arg, size_t len, void *out, size_t cap)
{
    int ms = 0;
    struct timespec ts;

    (void)out, (void)cap;
    if (len == sizeof ms)
        memcpy(&ms, arg, sizeof ms);
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return 0;
}

static size_t crash_job(const void *arg, size_t len, void *out, size_t cap)
{
    struct rlimit no_core = { 0, 0 };

    (void)arg, (void)len, (void)out, (void)cap;
    setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGSEGV, SIG_DFL);        /* not a sanitizer's report: the signal */
    raise(SIGSEGV);
    return 0;
}

static size_t exit3_job(const void *arg, size_t len, void *out, size_t cap)
{
    (void)arg, (void)len, (void)out, (void)cap;
    exit(3);
}

static size_t exit_now_job(const void *arg, size_t len, void *out, size_t cap)
{
    (void)arg, (void)len, (void)out, (void)cap;
    _exit(0);
}

static size_t too_much_job(const void *arg, size_t len, void *out, size_t cap)
{
    (void)arg, (void)len, (void)out;
    signal(SIGABRT, SIG_DFL);
    return cap + 1;                  /* breaks the contract */
}

/* Gates: a job blocks reading one byte from the pipe whose read end is its
 * argument; the test decides when it finishes.  Children inherit the pipes
 * (created before the pool forks). */
static size_t gate_job(const void *arg, size_t len, void *out, size_t cap)
{
    int fds[2];
    char c;

    (void)len, (void)cap;
    memcpy(fds, arg, sizeof fds);
    if (read_full(fds[0], &c, 1) != 1)
        return 0;
    memcpy(out, "opened", 6);
    return 6;
}

/* Tells through the pipe in its argument that it started, then returns. */
static size_t tell_job(const void *arg, size_t len, void *out, size_t cap)
{
    int fd;

    (void)len, (void)out, (void)cap;
    memcpy(&fd, arg, sizeof fd);
    write_full(fd, "t", 1);
    return 0;
}

/* Tells that it started, then sleeps for a minute. */
static size_t tell_then_sleep_job(const void *arg, size_t len, void *out, size_t cap)
{
    int minute = 60000;

    tell_job(arg, len, out, cap);
    return sleep_job(&minute, sizeof minute, NULL, 0);
}

static bool readable_within(int fd, int ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    return poll(&pfd, 1, ms) == 1;
}

/* --- malformed frames, written straight to the worker's channel ------- */

static size_t frame_too_big_job(const void *arg, size_t len, void *out, size_t cap)
{
    const unsigned char header[4] = { 0x7f, 0xff, 0xff, 0xff };

    (void)arg, (void)len, (void)out, (void)cap;
    write_full(pool_channel(), header, sizeof header);
    return 0;
}

static size_t frame_wrong_id_job(const void *arg, size_t len, void *out, size_t cap)
{
    /* A result record: id 999999, an output of 0 bytes. */
    const unsigned char rec[12] = { 0, 0, 0, 0, 0, 0x0f, 0x42, 0x3f, 0, 0, 0, 0 };

    (void)arg, (void)len, (void)out, (void)cap;
    frame_send(pool_channel(), rec, sizeof rec);
    return 0;
}

static size_t frame_short_job(const void *arg, size_t len, void *out, size_t cap)
{
    (void)arg, (void)len, (void)out, (void)cap;
    frame_send(pool_channel(), "abc", 3);
    return 0;
}

/* A header announcing 100 bytes, 10 of them, then the end of the stream. */
static size_t frame_truncated_job(const void *arg, size_t len, void *out, size_t cap)
{
    const unsigned char partial[14] = { 0, 0, 0, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

    (void)arg, (void)len, (void)out, (void)cap;
    write_full(pool_channel(), partial, sizeof partial);
    _exit(0);
}

/* The same, but the worker then hangs instead of exiting. */
static size_t frame_stall_job(const void *arg, size_t len, void *out, size_t cap)
{
    const unsigned char partial[14] = { 0, 0, 0, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    int ms = 20000;

    (void)arg, (void)len, (void)out, (void)cap;
    write_full(pool_channel(), partial, sizeof partial);
    return sleep_job(&ms, sizeof ms, NULL, 0);
}

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
    { "fork: results in any order (the order jobs finish)", test_any_order_fork },
    { "prefork: results in any order", test_any_order_prefork },
    { "fork: crash, exit(3), broken contract are results; the rest complete", test_faults_fork },
    { "prefork: the same faults; the rest complete", test_faults_prefork },
    { "fork: a job past its time limit is killed and reported", test_time_limit_fork },
    { "prefork: a job past its time limit is killed and reported", test_time_limit_prefork },
    { "fork: malformed frames (too big, wrong id, short, truncated, stalled)", test_malformed_fork },
    { "prefork: malformed frames", test_malformed_prefork },
    { "fork: kill_all leaves no child; running killed, queued cancelled", test_kill_all_fork },
    { "prefork: kill_all leaves no child", test_kill_all_prefork },
    { "fork: kill one running (signal named), one queued (cancelled)", test_kill_one_fork },
    { "prefork: kill one running, one queued", test_kill_one_prefork },
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
    { "fork: 10,000 jobs (1,000 under ASan), all accounted for, no fd leaked, no zombie",
      test_10000_fork },
    { "prefork: 10,000 jobs, all accounted for, no fd leaked, no zombie", test_10000_prefork },
    { "sync: 10,000 jobs, all accounted for", test_10000_sync },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("pool", tests)
