/* pool_bench.c - jobs per second: a fork per job, prefork workers, threads, and references.
 *
 * Lesson: for a trivial job the cost is the pool's own work.  A fresh child
 * per job pays a fork, an exit and a wait every time; prefork workers pay a
 * few system calls per job on a socketpair they keep; threads pay a mutex
 * and a condition variable in memory they share.  Measured in the same
 * run (bench/refs.c): xargs -P adds an exec per job; Python's
 * multiprocessing.Pool sends one job or a chunk of 8 per message; the
 * floor is the system calls of a socketpair alone; a bare mutex +
 * condition variable hand-off is the least a thread pool can do.
 *
 * Run:  pool_bench                                  # what `make bench` runs
 *       pool_bench --workers 2 --rounds 1 --jobs 200 --many 5000   # quick
 *
 * You should see one line per way of running jobs with its median rate and
 * the cost of one job, then how many times faster each is, and whether
 * that is what the chapter expects:
 *       prefork / fork-per-job     31.2x  (expected at least 20x: yes)
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
#include <sys/wait.h>
#include <unistd.h>

#define IN_FLIGHT 4096          /* jobs submitted and not yet collected */

static long slow_jobs = 1000, many_jobs = 50000, workers = 4, rounds = 3, prefetch = 8;

/* region: trivial */
/* The trivial job: 8 bytes in, the same 8 bytes out. */
static size_t trivial_job(const void *arg, size_t len, void *out, size_t cap)
{
    (void)cap;
    memcpy(out, arg, len);
    return len;
}
/* end region: trivial */

/* Runs n trivial jobs through a process pool; returns the elapsed ns. */
static uint64_t run_procs(enum pool_mode mode, long n)
{
    struct pool_options opt = { .workers = (int)workers, .mode = mode,
                                .prefetch = (int)prefetch };
    struct pool *p;
    struct pool_result r;
    long done = 0;
    uint64_t start;
    int err = pool_create(&p, &opt);

    if (err != 0)
        die_errnum(err, "pool_create");
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
    pool_destroy(p);
    if (done != n)
        fatal("%ld results for %ld jobs", done, n);
    return elapsed;
}

static uint64_t run_threads(long n)
{
    struct tpool_options opt = { .threads = (int)workers };
    struct tpool *p;
    struct pool_result r;
    long done = 0;
    uint64_t start;
    int err = tpool_create(&p, &opt);

    if (err != 0)
        die_errnum(err, "tpool_create");
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
    if (done != n)
        fatal("%ld results for %ld jobs", done, n);
    return elapsed;
}

enum { FORK, PREFORK, THREADS, HANDOFF, XARGS, PY1, PY8, FLOOR1, FLOOR8, METHODS };
static const char *const method_names[METHODS] = {
    "fork-per-job", "prefork", "threads", "mutex+condvar", "xargs -P (exec)",
    "python chunksize 1", "python chunksize 8", "floor, batch 1", "floor, batch 8",
};

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Prints how many times faster `what` is; with an expectation, whether
 * this run met it. */
static void ratio(const char *what, double num, double den, double expected)
{
    double x = num / den;

    printf("  %-36s %8.1fx", what, x);
    if (expected > 0)
        printf("  (expected at least %gx: %s)", expected, x >= expected ? "yes" : "no, not on this run");
    putchar('\n');
}

static const struct cli_option options[] = {
    CLI_OPTION_LONG("jobs", &slow_jobs, 10, 100000, "N",
                    "jobs per round for fork-per-job and xargs"),
    CLI_OPTION_LONG("many", &many_jobs, 10, 2000000, "N",
                    "jobs per round for prefork, threads and Python"),
    CLI_OPTION_LONG("workers", &workers, 1, POOL_WORKERS_MAX, "N",
                    "workers (processes or threads) at once"),
    CLI_OPTION_LONG("rounds", &rounds, 1, 99, "N", "rounds; the median is reported"),
    CLI_OPTION_LONG("prefetch", &prefetch, 1, 16, "N", "jobs a prefork worker holds"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Measures jobs per second for trivial jobs through a fork-per-job pool,\n"
               "a prefork pool, a thread pool, a bare mutex + condition variable\n"
               "hand-off, xargs -P running true(1), Python's multiprocessing.Pool\n"
               "(when python3 is installed), and the floor of a socketpair.",
    .options = options,
    .details = "All are measured in turn within each round, so a change in the\n"
               "machine's load affects all of them alike.",
};

/* Jobs one measurement of method m runs (the floor: round trips). */
static long jobs_of(int m)
{
    return m == FORK || m == XARGS ? slow_jobs : m == FLOOR8 ? many_jobs / 8 : many_jobs;
}

static uint64_t measure(int m)
{
    switch (m) {
    case FORK:    return run_procs(POOL_FORK, slow_jobs);
    case PREFORK: return run_procs(POOL_PREFORK, many_jobs);
    case THREADS: return run_threads(many_jobs);
    case HANDOFF: return ref_condvar_handoff(many_jobs, (int)workers);
    case XARGS:   return ref_xargs(slow_jobs, (int)workers);
    case PY1:     return ref_python(many_jobs, (int)workers, 1);
    case PY8:     return ref_python(many_jobs, (int)workers, 8);
    case FLOOR1:  return ref_socketpair_floor(many_jobs, 1);
    default:      return ref_socketpair_floor(many_jobs / 8, 8);
    }
}

int main(int argc, char **argv)
{
    double rate[METHODS][99];
    double median[METHODS];
    bool python = true;

    cli_parse(&cli, argc, argv);
    /* Bounded time for any accepted options: about 1 ms a job for fork and
     * xargs, 50 us for Python at chunksize 1 on a slow machine. */
    if ((double)rounds * (slow_jobs / 1000.0 + many_jobs / 20000.0) > 300)
        usage_error("--rounds %ld with --jobs %ld and --many %ld is too much work: keep "
                    "rounds x (jobs/1000 + many/20000) at most 300 (a few minutes)",
                    rounds, slow_jobs, many_jobs);
    printf("trivial jobs (8 bytes in, 8 out), %ld workers, median of %ld round%s\n"
           "the prefork pool sends one job per frame; a worker holds up to %ld\n",
           workers, rounds, rounds > 1 ? "s" : "", prefetch);
    for (long r = 0; r < rounds; r++) {
        for (int m = 0; m < METHODS; m++) {
            if ((m == PY1 || m == PY8) && !python)
                continue;
            uint64_t ns = measure(m);
            if (ns == 0) {
                python = false;          /* python3 could not be run */
                continue;
            }
            /* The floor is per job: round trips x batch size. */
            rate[m][r] = (double)jobs_of(m) * (m == FLOOR8 ? 8 : 1) / (ns / 1e9);
        }
    }
    for (int m = 0; m < METHODS; m++) {
        if ((m == PY1 || m == PY8) && !python) {
            printf("  %-20s skipped: python3 is not installed\n", method_names[m]);
            continue;
        }
        qsort(rate[m], (size_t)rounds, sizeof rate[m][0], by_value);
        median[m] = rate[m][rounds / 2];
        printf("  %-20s %8ld jobs a round %10.0f jobs/s %9.2f us/job  (range %.0f-%.0f)\n",
               method_names[m], jobs_of(m) * (m == FLOOR8 ? 8 : 1), median[m],
               1e6 / median[m], rate[m][0], rate[m][rounds - 1]);
    }
    printf("ratios:\n");
    ratio("prefork / fork-per-job", median[PREFORK], median[FORK], 20);
    ratio("threads / prefork", median[THREADS], median[PREFORK], 1);
    ratio("fork-per-job / xargs -P", median[FORK], median[XARGS], 0);
    ratio("prefork / xargs -P", median[PREFORK], median[XARGS], 0);
    if (python) {
        ratio("prefork / python chunksize 1", median[PREFORK], median[PY1], 2);
        ratio("prefork / python chunksize 8", median[PREFORK], median[PY8], 2);
    }
    /* Cost ratios: how many floors one prefork job costs (at most 3). */
    printf("  %-36s %8.1fx  (expected at most 3x: %s)\n", "prefork us/job / floor at batch 1",
           median[FLOOR1] / median[PREFORK],
           median[FLOOR1] / median[PREFORK] <= 3 ? "yes" : "no, not on this run");
    printf("  %-36s %8.1fx\n", "threads us/job / mutex+condvar us/job",
           median[HANDOFF] / median[THREADS]);
    return 0;
}
