/* pool_bench.c - jobs per second: a fork per job, prefork workers, threads, and xargs -P.
 *
 * Lesson: for a trivial job the cost is the pool's own work.  A fresh child
 * per job pays a fork, an exit and a wait every time; prefork workers pay a
 * few system calls per job on a socketpair they keep; threads pay a mutex
 * and a condition variable in memory they share.  xargs -P, measured in the
 * same run, adds an exec per job: an outside reference.
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

/* region: xargs */
/* xargs -P workers -n 1 true, fed n lines: n runs of true(1), each a fork
 * and an exec, workers at a time. */
static uint64_t run_xargs(long n)
{
    char parallel[24];
    int in[2], status, handle;
    uint64_t start;
    pid_t pid;

    snprintf(parallel, sizeof parallel, "%ld", workers);
    if (pipe(in) != 0)
        die("pipe");
    start = monotonic_ns();
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (dup2(in[0], STDIN_FILENO) < 0 || null < 0 || dup2(null, STDOUT_FILENO) < 0)
            _exit(126);
        close(in[0]);
        close(in[1]);
        close(null);
        execlp("xargs", "xargs", "-P", parallel, "-n", "1", "true", (char *)NULL);
        _exit(127);
    }
    handle = cleanup_check(cleanup_add_child(pid), "xargs");
    close(in[0]);
    for (long i = 0; i < n; i++)
        write_full_or_die(in[1], "x\n", 2);
    close(in[1]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    uint64_t elapsed = monotonic_ns() - start;
    cleanup_forget(handle);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char how[64];
        wait_status_describe(status, how, sizeof how);
        fatal("xargs %s", how);
    }
    return elapsed;
}
/* end region: xargs */

enum { FORK, PREFORK, THREADS, XARGS, METHODS };
static const char *const method_names[METHODS] = {
    "fork-per-job", "prefork", "threads", "xargs -P (exec)"
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

    printf("  %-28s %8.1fx", what, x);
    if (expected > 0)
        printf("  (expected at least %gx: %s)", expected, x >= expected ? "yes" : "no, not on this run");
    putchar('\n');
}

static const struct cli_option options[] = {
    CLI_OPTION_LONG("jobs", &slow_jobs, 10, 100000, "N",
                    "jobs per round for fork-per-job and xargs"),
    CLI_OPTION_LONG("many", &many_jobs, 10, 5000000, "N",
                    "jobs per round for prefork and threads"),
    CLI_OPTION_LONG("workers", &workers, 1, POOL_WORKERS_MAX, "N",
                    "workers (processes or threads) at once"),
    CLI_OPTION_LONG("rounds", &rounds, 1, 99, "N", "rounds; the median is reported"),
    CLI_OPTION_LONG("prefetch", &prefetch, 1, 16, "N", "jobs a prefork worker holds"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Measures jobs per second for trivial jobs through a fork-per-job pool,\n"
               "a prefork pool, a thread pool, and xargs -P running true(1).",
    .options = options,
    .details = "The four are measured in turn within each round, so a change in the\n"
               "machine's load affects all of them alike.",
};

int main(int argc, char **argv)
{
    double rate[METHODS][99];
    double median[METHODS];

    cli_parse(&cli, argc, argv);
    /* Bounded time for any accepted options: about 1 ms a job for fork and
     * xargs, 10 us for prefork and threads on a slow machine. */
    if ((double)rounds * (slow_jobs / 1000.0 + many_jobs / 100000.0) > 300)
        usage_error("--rounds %ld with --jobs %ld and --many %ld is too much work: keep "
                    "rounds x (jobs/1000 + many/100000) at most 300 (a few minutes)",
                    rounds, slow_jobs, many_jobs);
    printf("trivial jobs (8 bytes in, 8 out), %ld workers, prefork prefetch %ld, "
           "median of %ld round%s\n", workers, prefetch, rounds, rounds > 1 ? "s" : "");
    for (long r = 0; r < rounds; r++) {
        rate[FORK][r] = slow_jobs / (run_procs(POOL_FORK, slow_jobs) / 1e9);
        rate[PREFORK][r] = many_jobs / (run_procs(POOL_PREFORK, many_jobs) / 1e9);
        rate[THREADS][r] = many_jobs / (run_threads(many_jobs) / 1e9);
        rate[XARGS][r] = slow_jobs / (run_xargs(slow_jobs) / 1e9);
    }
    for (int m = 0; m < METHODS; m++) {
        long n = m == PREFORK || m == THREADS ? many_jobs : slow_jobs;
        qsort(rate[m], (size_t)rounds, sizeof rate[m][0], by_value);
        median[m] = rate[m][rounds / 2];
        printf("  %-16s %8ld jobs a round %10.0f jobs/s %9.2f us/job  (range %.0f-%.0f)\n",
               method_names[m], n, median[m], 1e6 / median[m], rate[m][0],
               rate[m][rounds - 1]);
    }
    printf("ratios:\n");
    ratio("prefork / fork-per-job", median[PREFORK], median[FORK], 20);
    ratio("threads / prefork", median[THREADS], median[PREFORK], 1);
    ratio("fork-per-job / xargs -P", median[FORK], median[XARGS], 0);
    ratio("prefork / xargs -P", median[PREFORK], median[XARGS], 0);
    return 0;
}
