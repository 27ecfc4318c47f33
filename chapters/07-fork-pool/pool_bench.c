/* pool_bench.c - jobs per second: a fork per job, prefork workers, threads, and references.
 *
 * Lesson: for a trivial job the cost is the pool's own work.  A fresh child
 * per job pays a fork, an exit and a wait every time; prefork workers pay
 * a few system calls and wake-ups per frame on a socketpair they keep, so
 * a batch of jobs in one frame divides that cost; threads pay a mutex and
 * a condition variable in memory they share.  Measured in the same run
 * (bench/refs.c): xargs -P adds an exec per job; Python's
 * multiprocessing.Pool sends one job or a chunk per message; the floor is
 * what the pool's parent cannot avoid at the same batch and depth (one
 * send() and one recv() per window of jobs a worker holds, frames as the
 * pool's), timed alone; a bare mutex + condition variable hand-off is the
 * least a thread pool can do.  Pools are started and warmed up before the clock starts.
 *
 * Run:  pool_bench                                  # what `make bench` runs
 *       pool_bench --workers 2 --rounds 1 --jobs 200 --many 5000   # quick
 *       pool_bench --batch 16                       # another batch size
 *
 * You should see one line per way of running jobs with its median rate and
 * the cost of one job, then how many times faster each is, and whether
 * that is what the chapter expects:
 *       prefork, batch 8 / fork-per-job     31.2x  (expected at least 20x: met)
 * Numbers vary with the machine and its load; only ratios measured side by
 * side in one run mean anything.
 */
#include "ipclab.h"

#include "pool.h"
#include "refs.h"
#include "tpool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define IN_FLIGHT 4096          /* jobs submitted and not yet collected */

static long slow_jobs = 1000, many_jobs = 50000, workers = 4, rounds = 3, batch = 8;
static long prefetch = 0;

/* Where the time of a run went: CPU time in user space and in the kernel,
 * and how often a process went to sleep waiting (voluntary context
 * switches) or was switched out (involuntary), for the calling process,
 * its threads, and its children once reaped: the workers. */
struct usage {
    double user_us, sys_us, sleeps, preempted;
};
static struct usage spent;           /* of the last run_procs/run_threads */

static struct usage usage_now(void)
{
    struct rusage self, kids;

    if (getrusage(RUSAGE_SELF, &self) != 0 || getrusage(RUSAGE_CHILDREN, &kids) != 0)
        die("getrusage");
    return (struct usage){
        .user_us = (self.ru_utime.tv_sec + kids.ru_utime.tv_sec) * 1e6 +
                   self.ru_utime.tv_usec + kids.ru_utime.tv_usec,
        .sys_us = (self.ru_stime.tv_sec + kids.ru_stime.tv_sec) * 1e6 +
                  self.ru_stime.tv_usec + kids.ru_stime.tv_usec,
        .sleeps = (double)self.ru_nvcsw + (double)kids.ru_nvcsw,
        .preempted = (double)self.ru_nivcsw + (double)kids.ru_nivcsw,
    };
}

/* What was spent since `before`, per job. */
static struct usage usage_since(struct usage before, long jobs)
{
    struct usage now = usage_now();

    return (struct usage){ (now.user_us - before.user_us) / jobs,
                           (now.sys_us - before.sys_us) / jobs,
                           (now.sleeps - before.sleeps) / jobs,
                           (now.preempted - before.preempted) / jobs };
}

/* region: trivial */
/* The trivial job: 8 bytes in, the same 8 bytes out. */
static size_t trivial_job(const void *arg, size_t len, void *out, size_t cap)
{
    (void)cap;
    memcpy(out, arg, len);
    return len;
}
/* end region: trivial */

/* Runs n trivial jobs through a process pool, batch jobs to a frame;
 * returns the elapsed ns.  Prefork workers are forked and have run a job
 * each before the clock starts: the work is timed, not the start-up. */
static uint64_t run_procs(enum pool_mode mode, long n, int b)
{
    struct pool_options opt = { .workers = (int)workers, .mode = mode, .batch = b,
                                .prefetch = prefetch > 0 && prefetch >= b ? (int)prefetch : 0 };
    struct pool *p;
    struct pool_result r;
    long done = 0;
    uint64_t start;
    int err = pool_create(&p, &opt);

    if (err != 0)
        die_errnum(err, "pool_create");
    for (long i = 0; mode == POOL_PREFORK && i < workers; i++)
        if ((err = pool_submit(p, trivial_job, &i, sizeof i, NULL)) != 0)
            die_errnum(err, "pool_submit");
    while (mode == POOL_PREFORK && (err = pool_get(p, 60000, &r)) == 0)
        pool_result_free(&r);
    struct usage before = usage_now();
    start = monotonic_ns();
    for (long i = 0; i < n; i++) {
        uint64_t v = (uint64_t)i;
        if ((err = pool_submit(p, trivial_job, &v, sizeof v, NULL)) != 0)
            die_errnum(err, "pool_submit");
        /* Collect while submitting: at most IN_FLIGHT jobs held at once,
         * so memory stays bounded however many jobs a round has. */
        if (i + 1 - done >= IN_FLIGHT) {
            if ((err = pool_get(p, 60000, &r)) != 0)
                die_errnum(err, "pool_get");
            if (r.outcome != POOL_DONE)
                fatal("job %llu: %s", (unsigned long long)r.id, r.detail);
            done++;
            pool_result_free(&r);
        }
    }
    while ((err = pool_get(p, 60000, &r)) == 0) {
        if (r.outcome != POOL_DONE)
            fatal("job %llu: %s", (unsigned long long)r.id, r.detail);
        done++;
        pool_result_free(&r);
    }
    if (err != ENOENT)
        die_errnum(err, "pool_get");
    uint64_t elapsed = monotonic_ns() - start;
    pool_destroy(p);                     /* the workers are reaped: counted */
    spent = usage_since(before, n);
    if (done != n)
        fatal("%ld results for %ld jobs", done, n);
    return elapsed;
}

static uint64_t run_threads(long n, int b)
{
    struct tpool_options opt = { .threads = (int)workers, .batch = b };
    struct tpool *p;
    struct pool_result r;
    long done = 0;
    uint64_t start;
    int err = tpool_create(&p, &opt);

    if (err != 0)
        die_errnum(err, "tpool_create");
    for (long i = 0; i < workers; i++)       /* start the threads */
        if ((err = tpool_submit(p, trivial_job, &i, sizeof i, NULL)) != 0)
            die_errnum(err, "tpool_submit");
    while ((err = tpool_get(p, 60000, &r)) == 0)
        pool_result_free(&r);
    struct usage before = usage_now();
    start = monotonic_ns();
    for (long i = 0; i < n; i++) {
        uint64_t v = (uint64_t)i;
        if ((err = tpool_submit(p, trivial_job, &v, sizeof v, NULL)) != 0)
            die_errnum(err, "tpool_submit");
        /* Collect while submitting: at most IN_FLIGHT jobs held at once,
         * so memory stays bounded however many jobs a round has. */
        if (i + 1 - done >= IN_FLIGHT) {
            if ((err = tpool_get(p, 60000, &r)) != 0)
                die_errnum(err, "tpool_get");
            if (r.outcome != POOL_DONE)
                fatal("job %llu: %s", (unsigned long long)r.id, r.detail);
            done++;
            pool_result_free(&r);
        }
    }
    while ((err = tpool_get(p, 60000, &r)) == 0) {
        if (r.outcome != POOL_DONE)
            fatal("job %llu: %s", (unsigned long long)r.id, r.detail);
        done++;
        pool_result_free(&r);
    }
    if (err != ENOENT)
        die_errnum(err, "tpool_get");
    uint64_t elapsed = monotonic_ns() - start;
    tpool_destroy(p);
    spent = usage_since(before, n);
    if (done != n)
        fatal("%ld results for %ld jobs", done, n);
    return elapsed;
}

enum { FORK, PRE1, PREB, THR1, THRB, HANDOFF, XARGS, PY1, PYB, FLOOR1, FLOORB, DEEP1, DEEPB,
       METHODS };
static char method_names[METHODS][32] = {
    "fork-per-job", "prefork, batch 1", "prefork, batch %ld", "threads, batch 1",
    "threads, batch %ld", "mutex+condvar", "xargs -P (exec)", "python chunksize 1",
    "python chunksize %ld", "floor, batch 1", "floor, batch %ld", "deep floor, batch 1",
    "deep floor, batch %ld",
};
static double median[METHODS];

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* region: verdicts */
/* A ratio as printed (one decimal): the verdict is the printed figure's,
 * so a reader never sees "2.0x (expected at least 2x: not met)". */
static double shown(double x)
{
    char text[32];

    snprintf(text, sizeof text, "%.1f", x);
    return strtod(text, NULL);
}

/* Prints how many times faster m is than n; with an expectation, whether
 * this run met it. */
static void faster(int m, int n, double expected)
{
    double x = shown(median[m] / median[n]);
    char what[80];

    snprintf(what, sizeof what, "%s / %s", method_names[m], method_names[n]);
    printf("  %-46s %7.1fx", what, x);
    if (expected > 0)
        printf("  (expected at least %gx: %s)", expected, x >= expected ? "met" : "not met");
    putchar('\n');
}

/* Prints how many times m's cost per job is n's; with a bound, whether
 * this run kept within it. */
static void cost(int m, int n, double bound)
{
    double x = shown(median[n] / median[m]);
    char what[80];

    snprintf(what, sizeof what, "%s us/job / %s", method_names[m], method_names[n]);
    printf("  %-46s %7.1fx", what, x);
    if (bound > 0)
        printf("  (expected at most %gx: %s)", bound, x <= bound ? "met" : "not met");
    putchar('\n');
}
/* end region: verdicts */

static const struct cli_option options[] = {
    CLI_OPTION_LONG("jobs", &slow_jobs, 10, 100000, "N",
                    "jobs per round for fork-per-job and xargs"),
    CLI_OPTION_LONG("many", &many_jobs, 10, 2000000, "N",
                    "jobs per round for prefork, threads and Python"),
    CLI_OPTION_LONG("workers", &workers, 1, POOL_WORKERS_MAX, "N",
                    "workers (processes or threads) at once"),
    CLI_OPTION_LONG("rounds", &rounds, 1, 99, "N", "rounds; the median is reported"),
    CLI_OPTION_LONG("batch", &batch, 2, POOL_BATCH_MAX, "N",
                    "jobs in one frame (prefork), one take (threads), one chunk (Python)"),
    CLI_OPTION_LONG("prefetch", &prefetch, 0, POOL_PREFETCH_MAX, "N",
                    "jobs a prefork worker holds; 0: twice the batch"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Measures jobs per second for trivial jobs through a fork-per-job pool,\n"
               "a prefork pool and a thread pool (one job at a time, and in batches),\n"
               "a bare mutex + condition variable hand-off, xargs -P running true(1),\n"
               "Python's multiprocessing.Pool (when python3 is installed), and the\n"
               "floors: the prefork parent's send() and recv() of one batch, and of a\n"
               "worker's whole window, alone.",
    .options = options,
    .details = "All are measured in turn within each round, so a change in the\n"
               "machine's load affects all of them alike.",
};

/* The jobs a prefork worker holds at batch b, as pool_create() makes it
 * from the options run_procs() passes: the deep floor's window. */
static int depth_of(int b)
{
    if (prefetch > 0 && prefetch >= b)
        return (int)prefetch;
    return 8 * b < POOL_PREFETCH_MAX ? 8 * b : POOL_PREFETCH_MAX;
}

/* Jobs one measurement of method m runs. */
static long jobs_of(int m)
{
    if (m == FORK || m == XARGS)
        return slow_jobs;
    if (m == FLOOR1 || m == FLOORB) {
        int b = m == FLOOR1 ? 1 : (int)batch;
        return many_jobs / b * b;
    }
    if (m == DEEP1 || m == DEEPB) {
        int d = depth_of(m == DEEP1 ? 1 : (int)batch);
        return many_jobs / d * d;
    }
    return many_jobs;
}

static uint64_t measure(int m)
{
    int b = (int)batch;

    switch (m) {
    case FORK:    return run_procs(POOL_FORK, slow_jobs, 1);
    case PRE1:    return run_procs(POOL_PREFORK, many_jobs, 1);
    case PREB:    return run_procs(POOL_PREFORK, many_jobs, b);
    case THR1:    return run_threads(many_jobs, 1);
    case THRB:    return run_threads(many_jobs, b);
    case HANDOFF: return ref_condvar_handoff(many_jobs, (int)workers);
    case XARGS:   return ref_xargs(slow_jobs, (int)workers);
    case PY1:     return ref_python(many_jobs, (int)workers, 1);
    case PYB:     return ref_python(many_jobs, (int)workers, b);
    case FLOOR1:  return ref_socketpair_floor(many_jobs, 1, 1);
    case FLOORB:  return ref_socketpair_floor(many_jobs / b, b, b);
    case DEEP1:   return ref_socketpair_floor(many_jobs / depth_of(1), 1, depth_of(1));
    default:      return ref_socketpair_floor(many_jobs / depth_of(b), b, depth_of(b));
    }
}

int main(int argc, char **argv)
{
    double rate[METHODS][99];
    struct usage sum[METHODS] = { { 0, 0, 0, 0 } };
    bool python = true;

    cli_parse(&cli, argc, argv);
    /* Bounded time for any accepted options: about 1 ms a job for fork and
     * xargs, 50 us for Python at chunksize 1 on a slow machine. */
    if ((double)rounds * (slow_jobs / 1000.0 + many_jobs / 20000.0) > 300)
        usage_error("--rounds %ld with --jobs %ld and --many %ld is too much work: keep "
                    "rounds x (jobs/1000 + many/20000) at most 300 (a few minutes)",
                    rounds, slow_jobs, many_jobs);
    if (prefetch > 0 && prefetch < batch)
        usage_error("--prefetch %ld is less than --batch %ld: a worker must hold a batch",
                    prefetch, batch);
    for (int m = 0; m < METHODS; m++) {
        char name[32];
        snprintf(name, sizeof name, method_names[m], batch);
        memcpy(method_names[m], name, sizeof name);
    }
    printf("trivial jobs (8 bytes in, 8 out), %ld workers, median of %ld round%s\n",
           workers, rounds, rounds > 1 ? "s" : "");
    for (long r = 0; r < rounds; r++) {
        for (int m = 0; m < METHODS; m++) {
            if ((m == PY1 || m == PYB) && !python)
                continue;
            uint64_t ns = measure(m);
            if (ns == 0) {
                python = false;          /* python3 could not be run */
                continue;
            }
            rate[m][r] = (double)jobs_of(m) / (ns / 1e9);
            if (m <= THRB) {
                sum[m].user_us += spent.user_us / rounds;
                sum[m].sys_us += spent.sys_us / rounds;
                sum[m].sleeps += spent.sleeps / rounds;
                sum[m].preempted += spent.preempted / rounds;
            }
        }
    }
    for (int m = 0; m < METHODS; m++) {
        if ((m == PY1 || m == PYB) && !python) {
            printf("  %-19s skipped: python3 is not installed\n", method_names[m]);
            continue;
        }
        qsort(rate[m], (size_t)rounds, sizeof rate[m][0], by_value);
        median[m] = rate[m][rounds / 2];
        printf("  %-19s %7ld jobs a round %9.0f jobs/s %7.3f us/job  (%.0f-%.0f)\n",
               method_names[m], jobs_of(m), median[m], 1e6 / median[m], rate[m][0],
               rate[m][rounds - 1]);
    }
    printf("floor, batch N: the parent's two system calls for one batch, alone: one\n"
           "send() of a frame of N jobs and one recv() of its frame of N results, on a\n"
           "socket pair, timed around those two calls only, divided by N.\n"
           "deep floor, batch N: the same for a worker's whole window (%d jobs at batch 1,\n"
           "%d at batch %ld) in one send() and one recv().  Every job of a pool that deep\n"
           "passes through such calls in its one parent, so no pool can cost less per job.\n",
           depth_of(1), depth_of((int)batch), batch);
    /* region: usage */
    printf("where the time goes, per job (CPU time of the program, its threads and its\n"
           "workers; sleeps: waits for something to read or a lock; preempted: switched out):\n");
    for (int m = FORK; m <= THRB; m++)
        printf("  %-19s user %7.2f us  system %7.2f us  sleeps %5.2f  preempted %5.2f\n",
               method_names[m], sum[m].user_us, sum[m].sys_us, sum[m].sleeps,
               sum[m].preempted);
    /* end region: usage */
    /* region: ratios */
    printf("ratios:\n");
    faster(PREB, FORK, 20);
    faster(PREB, PRE1, 0);
    if (python) {
        faster(PRE1, PY1, 2);
        faster(PREB, PYB, 2);
    }
    cost(PRE1, FLOOR1, 3);
    cost(PREB, FLOORB, 3);
    cost(PRE1, DEEP1, 0);
    cost(PREB, DEEPB, 0);
    faster(THRB, PREB, 0);
    cost(THR1, HANDOFF, 0);
    cost(THRB, HANDOFF, 0);
    faster(FORK, XARGS, 0);
    /* end region: ratios */
    return 0;
}
