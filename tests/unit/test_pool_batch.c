/* test_pool_batch.c - batches in the prefork pool of chapter 07
 * (chapters/07-fork-pool/pool): several jobs in one frame, their results
 * back in one frame, and what a fault in the middle of a batch means.
 *
 * A batch is made on purpose: the only worker is held busy by a gate job
 * (a pipe the test opens), jobs submitted meanwhile wait in the queue, and
 * the loop (pool_get with no wait) hands them over together.  The thread
 * pool's batches are tested the same way.  Jobs write
 * a letter to a pipe when they start, so the test knows what ran, how
 * often, and in which process.
 */
#include "unit.h"

#include "pool_test_jobs.h"
#include "tpool.h"

#include "io.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a job gets: the pipe it tells through, a letter, a gate (or -1). */
struct arg {
    int tell_fd, gate_fd;
    char letter;
};

static int runs[2];              /* jobs write their letter here as they start */

/* Writes the letter and a digit of the pid to the job's pipe. */
static void tell(const void *arg)
{
    struct arg a;

    memcpy(&a, arg, sizeof a);           /* arg need not be aligned */
    char line[2] = { a.letter, (char)('0' + getpid() % 10) };
    write_full(a.tell_fd, line, 2);      /* 2 bytes < PIPE_BUF: atomic */
}

/* Tells, then waits for its gate (if any), then returns its letter. */
static size_t letter_job(const void *arg, size_t len, void *out, size_t cap)
{
    struct arg a;
    char c;

    (void)len, (void)cap;
    memcpy(&a, arg, sizeof a);
    tell(&a);
    if (a.gate_fd >= 0 && read_full(a.gate_fd, &c, 1) != 1)
        return 0;
    memcpy(out, &a.letter, 1);
    return 1;
}

/* Tells, then crashes (crash_job) or sleeps a minute (sleep_job). */
static size_t letter_crash_job(const void *arg, size_t len, void *out, size_t cap)
{
    tell(arg);
    return crash_job(arg, len, out, cap);
}

static size_t letter_sleep_job(const void *arg, size_t len, void *out, size_t cap)
{
    int minute = 60000;

    (void)len, (void)out, (void)cap;
    tell(arg);
    return sleep_job(&minute, sizeof minute, NULL, 0);
}

static struct pool *make(int workers, int batch, int time_limit_ms)
{
    struct pool_options opt = { .workers = workers, .mode = POOL_PREFORK, .batch = batch,
                                .time_limit_ms = time_limit_ms };
    struct pool *p = NULL;

    CU_ASSERT_EQUAL_FATAL(pool_create(&p, &opt), 0);
    return p;
}

static uint64_t submit_letter(struct pool *p, pool_job_fn fn, char letter, int gate_fd)
{
    struct arg a = { .tell_fd = runs[1], .gate_fd = gate_fd, .letter = letter };

    return submit(p, fn, &a, sizeof a);
}

/* Reads one "letter, pid digit" pair from `runs`, waiting at most ms;
 * returns the letter, 0 if none came. */
static char next_run(int ms)
{
    char line[2];

    if (!readable_within(runs[0], ms) || read_full(runs[0], line, 2) != 2)
        return 0;
    return line[0];
}

static void setup(void)
{
    CU_ASSERT_EQUAL_FATAL(pipe(runs), 0);
}

static void teardown(void)
{
    CU_ASSERT_EQUAL(next_run(0), 0);     /* nothing ran that the test did not see */
    close(runs[0]);
    close(runs[1]);
    CU_ASSERT_TRUE(no_children());
}

/* The results of a batch come back together: the first job of [a, b]
 * has run, but its result waits until b (held by a gate) is done. */
static void test_results_in_one_frame(void)
{
    int g[2], b_gate[2];
    struct pool *p;
    struct pool_result r;

    setup();
    CU_ASSERT_EQUAL_FATAL(pipe(g), 0);
    CU_ASSERT_EQUAL_FATAL(pipe(b_gate), 0);
    p = make(1, 4, 0);
    submit_letter(p, letter_job, 'G', g[0]);
    uint64_t a = submit_letter(p, letter_job, 'a', -1);
    uint64_t b = submit_letter(p, letter_job, 'b', b_gate[0]);
    CU_ASSERT_EQUAL(pool_counts(p).pending, 2);          /* the worker is busy */
    CU_ASSERT_EQUAL(pool_get(p, 0, &r), ETIMEDOUT);      /* the loop sends [a, b] */
    CU_ASSERT_EQUAL(pool_counts(p).pending, 0);
    CU_ASSERT_EQUAL(next_run(LONG_WAIT_MS), 'G');
    write_full(g[1], "g", 1);
    r = get(p);
    CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
    pool_result_free(&r);
    CU_ASSERT_EQUAL(next_run(LONG_WAIT_MS), 'a');
    CU_ASSERT_EQUAL(next_run(LONG_WAIT_MS), 'b');        /* a is done: b runs */
    CU_ASSERT_EQUAL(pool_get(p, 300, &r), ETIMEDOUT);    /* a's result waits for b */
    write_full(b_gate[1], "g", 1);
    r = get(p);
    CU_ASSERT_EQUAL(r.id, a);
    pool_result_free(&r);
    r = get(p);
    CU_ASSERT_EQUAL(r.id, b);
    CU_ASSERT_TRUE(r.outcome == POOL_DONE && r.len == 1 && r.output[0] == 'b');
    pool_result_free(&r);
    pool_destroy(p);
    for (int i = 0; i < 2; i++) {
        close(g[i]);
        close(b_gate[i]);
    }
    teardown();
}

/* A crash in the middle of the batch [a, b, c, d] (b crashes): a ran and
 * is done, with the dead worker's pid (its result is recovered from the
 * worker's progress slot); b is killed; c and d never started there: they
 * are queued again and run once, in a new worker. */
static void fault_mid_batch(bool crash)
{
    int g[2];
    struct pool *p;
    struct pool_result r, *all;
    size_t count;
    pid_t first;
    char order[5] = { 0 };

    setup();
    CU_ASSERT_EQUAL_FATAL(pipe(g), 0);
    p = make(1, 4, crash ? 0 : 1000);
    submit_letter(p, letter_job, 'G', g[0]);
    uint64_t a = submit_letter(p, letter_job, 'a', -1);
    uint64_t b = submit_letter(p, crash ? letter_crash_job : letter_sleep_job, 'b', -1);
    uint64_t c = submit_letter(p, letter_job, 'c', -1);
    uint64_t d = submit_letter(p, letter_job, 'd', -1);
    CU_ASSERT_EQUAL(pool_get(p, 0, &r), ETIMEDOUT);      /* sends [a, b, c, d] */
    CU_ASSERT_EQUAL(pool_counts(p).running, 5);
    CU_ASSERT_EQUAL(next_run(LONG_WAIT_MS), 'G');
    write_full(g[1], "g", 1);
    r = get(p);
    first = r.pid;
    pool_result_free(&r);
    CU_ASSERT_EQUAL(pool_get_all(p, LONG_WAIT_MS, &all, &count), 0);
    CU_ASSERT_EQUAL(count, 4);
    for (size_t k = 0; k < count; k++) {
        if (all[k].id == a) {
            CU_ASSERT_EQUAL(all[k].outcome, POOL_DONE);
            CU_ASSERT_EQUAL(all[k].pid, first);
        } else if (all[k].id == b && crash) {
            CU_ASSERT_EQUAL(all[k].outcome, POOL_KILLED);
            CU_ASSERT_EQUAL(all[k].code, SIGSEGV);
            CU_ASSERT_EQUAL(all[k].pid, first);
        } else if (all[k].id == b) {
            CU_ASSERT_EQUAL(all[k].outcome, POOL_TIMED_OUT);
            CU_ASSERT_PTR_NOT_NULL(strstr(all[k].detail, "1000 ms time limit"));
        } else {
            CU_ASSERT_TRUE(all[k].id == c || all[k].id == d);
            CU_ASSERT_EQUAL(all[k].outcome, POOL_DONE);
            CU_ASSERT_TRUE(all[k].pid > 0 && all[k].pid != first);
        }
    }
    /* Each ran exactly once, in order: nothing after b started twice. */
    for (int i = 0; i < 4; i++)
        order[i] = next_run(LONG_WAIT_MS);
    CU_ASSERT_STRING_EQUAL(order, "abcd");
    CU_ASSERT_EQUAL(pool_counts(p).forks, 2);
    pool_results_free(all, count);
    free(all);
    pool_destroy(p);
    close(g[0]);
    close(g[1]);
    teardown();
}

static void test_crash_mid_batch(void) { fault_mid_batch(true); }
static void test_time_limit_mid_batch(void) { fault_mid_batch(false); }

/* pool_kill in a batch [a, b, c] while a runs: b (waiting behind a) is
 * cancelled alone, a is killed by the signal, and c, which never started,
 * runs once in a new worker; b never runs at all. */
static void test_kill_in_batch(void)
{
    int g[2], ga[2];
    struct pool *p;
    struct pool_result r;
    char order[4] = { 0 };

    setup();
    CU_ASSERT_EQUAL_FATAL(pipe(g), 0);
    CU_ASSERT_EQUAL_FATAL(pipe(ga), 0);
    p = make(1, 4, 0);
    submit_letter(p, letter_job, 'G', g[0]);
    uint64_t a = submit_letter(p, letter_job, 'a', ga[0]);
    uint64_t b = submit_letter(p, letter_job, 'b', -1);
    uint64_t c = submit_letter(p, letter_job, 'c', -1);
    CU_ASSERT_EQUAL(pool_get(p, 0, &r), ETIMEDOUT);      /* sends [a, b, c] */
    CU_ASSERT_EQUAL(next_run(LONG_WAIT_MS), 'G');
    write_full(g[1], "g", 1);
    r = get(p);
    pool_result_free(&r);
    CU_ASSERT_EQUAL(next_run(LONG_WAIT_MS), 'a');        /* a runs, b and c wait */
    CU_ASSERT_EQUAL(pool_kill(p, b, SIGTERM), 0);
    r = get(p);
    CU_ASSERT_EQUAL(r.id, b);
    CU_ASSERT_EQUAL(r.outcome, POOL_CANCELLED);
    pool_result_free(&r);
    CU_ASSERT_EQUAL(pool_kill(p, a, SIGUSR1), 0);
    for (int i = 0; i < 2; i++) {
        r = get(p);
        if (r.id == a) {
            CU_ASSERT_EQUAL(r.outcome, POOL_KILLED);
            CU_ASSERT_EQUAL(r.code, SIGUSR1);
        } else {
            CU_ASSERT_EQUAL(r.id, c);
            CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
        }
        pool_result_free(&r);
    }
    CU_ASSERT_EQUAL(pool_get(p, 0, &r), ENOENT);
    order[0] = next_run(LONG_WAIT_MS);
    CU_ASSERT_EQUAL(order[0], 'c');                      /* and b never ran */
    CU_ASSERT_EQUAL(pool_counts(p).forks, 2);
    pool_destroy(p);
    for (int i = 0; i < 2; i++) {
        close(g[i]);
        close(ga[i]);
    }
    teardown();
}

/* A short queue is spread, not batched: two jobs queued for two busy
 * workers go one to each (jobs queued / workers = 1), so opening one
 * worker's gate runs one of them, not both. */
static void test_short_queue_spread(void)
{
    int g1[2], g2[2];
    struct pool *p;
    struct pool_result r;

    setup();
    CU_ASSERT_EQUAL_FATAL(pipe(g1), 0);
    CU_ASSERT_EQUAL_FATAL(pipe(g2), 0);
    p = make(2, 8, 0);
    submit_letter(p, letter_job, 'G', g1[0]);
    submit_letter(p, letter_job, 'H', g2[0]);
    CU_ASSERT_EQUAL(pool_counts(p).workers, 2);
    submit_letter(p, letter_job, 'x', -1);
    submit_letter(p, letter_job, 'x', -1);
    CU_ASSERT_EQUAL(pool_get(p, 0, &r), ETIMEDOUT);      /* hands both over */
    CU_ASSERT_EQUAL(pool_counts(p).pending, 0);
    CU_ASSERT_TRUE(next_run(LONG_WAIT_MS) != 0 && next_run(LONG_WAIT_MS) != 0);  /* G, H */
    write_full(g1[1], "g", 1);
    CU_ASSERT_EQUAL(next_run(LONG_WAIT_MS), 'x');
    CU_ASSERT_EQUAL(next_run(300), 0);                   /* the other waits behind H */
    write_full(g2[1], "g", 1);
    CU_ASSERT_EQUAL(next_run(LONG_WAIT_MS), 'x');
    for (int i = 0; i < 4; i++) {
        r = get(p);
        CU_ASSERT_EQUAL(r.outcome, POOL_DONE);
        pool_result_free(&r);
    }
    pool_destroy(p);
    for (int i = 0; i < 2; i++) {
        close(g1[i]);
        close(g2[i]);
    }
    teardown();
}

/* Threads, batch 4: a thread takes [a, b, c] at once.  b, taken but not
 * started, can still be cancelled (a is refused: it runs); the thread
 * skips it; a's result is handed back with c's, not before. */
static void test_threads_batch(void)
{
    struct tpool_options opt = { .threads = 1, .batch = 4 };
    int g[2], ga[2], gc[2];
    struct tpool *p = NULL;
    struct pool_result r;
    uint64_t a, b, c;

    setup();
    CU_ASSERT_EQUAL_FATAL(pipe(g), 0);
    CU_ASSERT_EQUAL_FATAL(pipe(ga), 0);
    CU_ASSERT_EQUAL_FATAL(pipe(gc), 0);
    CU_ASSERT_EQUAL_FATAL(tpool_create(&p, &opt), 0);
    struct arg x = { .tell_fd = runs[1], .gate_fd = g[0], .letter = 'G' };
    CU_ASSERT_EQUAL_FATAL(tpool_submit(p, letter_job, &x, sizeof x, NULL), 0);
    CU_ASSERT_EQUAL(next_run(LONG_WAIT_MS), 'G');        /* the thread took [G] */
    x = (struct arg){ .tell_fd = runs[1], .gate_fd = ga[0], .letter = 'a' };
    CU_ASSERT_EQUAL_FATAL(tpool_submit(p, letter_job, &x, sizeof x, &a), 0);
    x = (struct arg){ .tell_fd = runs[1], .gate_fd = -1, .letter = 'b' };
    CU_ASSERT_EQUAL_FATAL(tpool_submit(p, letter_job, &x, sizeof x, &b), 0);
    x = (struct arg){ .tell_fd = runs[1], .gate_fd = gc[0], .letter = 'c' };
    CU_ASSERT_EQUAL_FATAL(tpool_submit(p, letter_job, &x, sizeof x, &c), 0);
    write_full(g[1], "g", 1);
    CU_ASSERT_EQUAL(next_run(LONG_WAIT_MS), 'a');
    CU_ASSERT_EQUAL(tpool_counts(p).pending, 0);         /* b and c: taken with a */
    CU_ASSERT_EQUAL(tpool_kill(p, b), 0);
    CU_ASSERT_EQUAL(tpool_kill(p, a), EBUSY);
    write_full(ga[1], "g", 1);
    CU_ASSERT_EQUAL(next_run(LONG_WAIT_MS), 'c');        /* b was skipped */
    for (int i = 0; i < 2; i++) {                        /* G's result, b's cancel */
        CU_ASSERT_EQUAL_FATAL(tpool_get(p, LONG_WAIT_MS, &r), 0);
        CU_ASSERT_TRUE(r.id == b ? r.outcome == POOL_CANCELLED : r.outcome == POOL_DONE);
        pool_result_free(&r);
    }
    CU_ASSERT_EQUAL(tpool_get(p, 300, &r), ETIMEDOUT);   /* a's result waits for c */
    write_full(gc[1], "g", 1);
    CU_ASSERT_EQUAL_FATAL(tpool_get(p, LONG_WAIT_MS, &r), 0);
    CU_ASSERT_EQUAL(r.id, a);
    pool_result_free(&r);
    CU_ASSERT_EQUAL_FATAL(tpool_get(p, LONG_WAIT_MS, &r), 0);
    CU_ASSERT_EQUAL(r.id, c);
    pool_result_free(&r);
    tpool_destroy(p);
    for (int i = 0; i < 2; i++) {
        close(g[i]);
        close(ga[i]);
        close(gc[i]);
    }
    teardown();
}

static void test_batch_option(void)
{
    struct pool_options opt = { .workers = 1, .mode = POOL_PREFORK, .batch = POOL_BATCH_MAX + 1 };
    struct pool *p = NULL;

    CU_ASSERT_EQUAL(pool_create(&p, &opt), EINVAL);
    opt.batch = -1;
    CU_ASSERT_EQUAL(pool_create(&p, &opt), EINVAL);
    opt.batch = 8;
    opt.prefetch = 4;                    /* a batch larger than what a worker holds */
    CU_ASSERT_EQUAL(pool_create(&p, &opt), EINVAL);
    opt.batch = POOL_BATCH_MAX;
    opt.prefetch = 0;
    CU_ASSERT_EQUAL_FATAL(pool_create(&p, &opt), 0);
    pool_destroy(p);
}

static CU_TestInfo tests[] = {
    { "a batch's results come back together, in one frame", test_results_in_one_frame },
    { "a crash mid-batch: the job before is done, the crash killed, the rest re-run once",
      test_crash_mid_batch },
    { "a time limit mid-batch: the same, with the job timed out", test_time_limit_mid_batch },
    { "pool_kill in a batch: the waiting job cancelled alone, the running one killed",
      test_kill_in_batch },
    { "a short queue is spread over the workers, not batched", test_short_queue_spread },
    { "threads, batch 4: taken together, one cancelled before it starts, results together",
      test_threads_batch },
    { "batch sizes out of range are refused", test_batch_option },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("pool batches", tests)
