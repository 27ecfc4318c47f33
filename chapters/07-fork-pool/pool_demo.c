/* pool_demo.c - a pool of workers takes 100 sleeping jobs; results come as they finish.
 *
 * Lesson: a pool runs at most --workers jobs at once and queues the rest;
 * each result travels back as a frame carrying its job's id, so results
 * arrive in the order jobs finish, not the order they were submitted.  A
 * job that crashes, exits or overruns its time limit is a result like any
 * other, and the pool carries on.  The same jobs run as a fresh child per
 * job (fork), persistent workers (prefork), threads (thread) or in the
 * caller (sync).
 *
 * Run:  pool_demo                          # 100 jobs, 16 workers, fork: about 1 s
 *       pool_demo --mode prefork           # 16 forks instead of 100
 *       pool_demo --mode thread            # no fork at all
 *       pool_demo --jobs 30 --faults       # a crash, an exit(3), a runaway job
 *       pool_demo --jobs 8 --workers 2 --max-ms 20 --seed 7
 *       pool_demo --mode sync              # 8 jobs, one after another
 *
 * You should see one line per job, in the order they finish, e.g.
 *       job 12 done: slept 104 ms (pid 4711)
 *       job 10 killed: killed by SIGSEGV (pid 4709)
 * then the summary:
 *       result: mode=fork jobs=100 workers=16 ok=100 failed=0 forks=100 ms=1021
 *
 * The PHP pool this follows slept 1-2 s per job; here a job sleeps between
 * --max-ms/2 and --max-ms (100-200 ms by default), drawn from --seed in the
 * parent, so a run is reproducible and no child has to reseed a generator
 * it inherited.
 */
#include "ipclab.h"

#include "pool.h"
#include "tpool.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_FORK, MODE_PREFORK, MODE_THREAD, MODE_SYNC };
static const char *const mode_names[] = { "fork", "prefork", "thread", "sync", NULL };

static long jobs = 100, workers = 16, seed = 1, max_ms = 200, time_limit_ms = 0;
static long wait_ms = 1000, batch = 0;
static int mode = MODE_FORK;
static bool faults = false;

enum fault { FAULT_NONE, FAULT_CRASH, FAULT_EXIT, FAULT_HANG };

/* What a job receives: which job it is, how long to sleep, how to fail. */
struct demo_arg {
    int index;
    int sleep_ms;
    int fault;
};

/* splitmix64: a good spread from consecutive seeds, no state to share. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* region: job */
static size_t sleepy_job(const void *argp, size_t len, void *out, size_t cap)
{
    struct demo_arg arg;
    struct rlimit no_core = { 0, 0 };

    if (len != sizeof arg)
        return 0;
    memcpy(&arg, argp, sizeof arg);
    switch (arg.fault) {
    case FAULT_CRASH:                    /* what a bad pointer ends in */
        setrlimit(RLIMIT_CORE, &no_core);
        signal(SIGSEGV, SIG_DFL);        /* the signal, not a sanitizer's report */
        raise(SIGSEGV);
        break;
    case FAULT_EXIT:
        exit(3);
    case FAULT_HANG:
        sleep_ms(600000);                /* ten minutes: the time limit ends it */
        break;
    }
    sleep_ms(arg.sleep_ms);
    return (size_t)snprintf(out, cap, "slept %d ms", arg.sleep_ms);
}
/* end region: job */

/* The two pools behind one face, so the loop below is the same for all. */
static struct pool *procs;
static struct tpool *threads;

static int submit(const struct demo_arg *arg)
{
    if (threads != NULL)
        return tpool_submit(threads, sleepy_job, arg, sizeof *arg, NULL);
    return pool_submit(procs, sleepy_job, arg, sizeof *arg, NULL);
}

static int get(int timeout, struct pool_result *r)
{
    return threads ? tpool_get(threads, timeout, r) : pool_get(procs, timeout, r);
}

static struct pool_counts counts(void)
{
    return threads ? tpool_counts(threads) : pool_counts(procs);
}

static void print_result(const struct pool_result *r)
{
    char who[32] = "";

    if (r->pid > 0)
        snprintf(who, sizeof who, " (pid %ld)", (long)r->pid);
    else if (threads != NULL)
        snprintf(who, sizeof who, " (thread)");
    if (r->outcome == POOL_DONE)
        printf("job %llu done: %s%s\n", (unsigned long long)r->id, (const char *)r->output, who);
    else
        printf("job %llu %s: %s%s\n", (unsigned long long)r->id,
               pool_outcome_name(r->outcome), r->detail, who);
}

/* Whether --NAME or --NAME=VALUE is on the command line (cli_parse()
 * has checked it already; this only tells a default from a choice). */
static bool option_given(int argc, char **argv, const char *name)
{
    size_t len = strlen(name);

    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strncmp(argv[i], "--", 2) == 0 && strncmp(argv[i] + 2, name, len) == 0 &&
            (argv[i][2 + len] == '\0' || argv[i][2 + len] == '='))
            return true;
    return false;
}

static uint64_t forks_seen;

static void count_fork(pid_t pid, void *data)
{
    (void)data;
    if (pid > 0)
        forks_seen++;
}

static const struct cli_option options[] = {
    CLI_OPTION_LONG("jobs", &jobs, 1, 10000, "N", "jobs to run; 8 in sync mode unless given"),
    CLI_OPTION_LONG("workers", &workers, 1, POOL_WORKERS_MAX, "N", "jobs at once"),
    CLI_OPTION_LONG("seed", &seed, 0, 1000000000, "N", "draws every job's sleep"),
    CLI_OPTION_CHOICE("mode", &mode, mode_names, "MODE", "how the jobs run (see below)"),
    CLI_OPTION_LONG("max-ms", &max_ms, 2, 10000, "MS", "a job sleeps MS/2 to MS"),
    CLI_OPTION_LONG("time-limit", &time_limit_ms, 0, 600000, "MS",
                    "kill a job running longer, 0: no limit (--faults: 2 x max-ms + 500)"),
    CLI_OPTION_LONG("wait-ms", &wait_ms, 1, 600000, "MS",
                    "report a wait for the next result longer than this"),
    CLI_OPTION_LONG("batch", &batch, 0, POOL_BATCH_MAX, "N",
                    "jobs in one frame (prefork) or one take (thread); 0: the pool's default"),
    CLI_OPTION_FLAG("faults", &faults,
                    "every 10th job crashes, exits 3 or hangs, in turn (fork, prefork)"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Runs sleeping jobs through a pool of workers and prints each result\n"
               "as it arrives, then a summary line.",
    .options = options,
    .details = "Modes: fork (a child per job), prefork (persistent children, many jobs\n"
               "each, sent in batches), thread (a thread pool), sync (in the caller, one\n"
               "at a time: --workers and --batch have no effect).\n"
               "Any options must add up to at most two minutes of sleeping.\n"
               "Exit status: 0 if every job succeeded, 1 if any failed.",
};

int main(int argc, char **argv)
{
    long ok = 0, failed = 0;
    uint64_t start;

    cli_parse(&cli, argc, argv);
    /* Sync mode runs one job after another: 100 jobs would sleep for 15 s. */
    if (mode == MODE_SYNC && !option_given(argc, argv, "jobs"))
        jobs = 8;
    if (faults && (mode == MODE_THREAD || mode == MODE_SYNC))
        usage_error("--faults needs --mode fork or prefork: a crashing job would take "
                    "the whole program down");
    /* The limit must let every good job finish, however loaded the
     * machine: twice the longest sleep and half a second more. */
    if (faults && time_limit_ms == 0)
        time_limit_ms = 2 * max_ms + 500;
    /* Bounded time for every accepted combination: the jobs run in rounds
     * of --workers (one at a time in sync mode), each round as long as its
     * longest sleep, or the time limit for a hanging job. */
    {
        long at_once = mode == MODE_SYNC ? 1 : workers;
        long longest = faults && time_limit_ms > max_ms ? time_limit_ms : max_ms;
        /* Batches spread jobs over the workers by their share of the
         * queue, but a worker may end up with a batch's worth more than
         * the others (8 in prefork mode unless --batch says). */
        long held = mode == MODE_PREFORK ? (batch ? batch : 8) - 1
                  : mode == MODE_THREAD && batch ? batch - 1 : 0;
        long worst = ((jobs + at_once - 1) / at_once + held) * longest;
        if (worst > 120000)
            usage_error("%ld jobs of up to %ld ms, %ld at a time, could take %ld s: "
                        "keep it to 120 s (fewer --jobs, more --workers or a smaller --max-ms)",
                        jobs, longest, at_once, worst / 1000);
    }

    if (mode == MODE_THREAD) {
        struct tpool_options opt = { .threads = (int)workers,
                                     .time_limit_ms = (int)time_limit_ms, .batch = (int)batch };
        int err = tpool_create(&threads, &opt);
        if (err != 0)
            die_errnum(err, "tpool_create");
    } else {
        struct pool_options opt = {
            .workers = (int)workers,
            .mode = mode == MODE_FORK ? POOL_FORK : mode == MODE_PREFORK ? POOL_PREFORK
                                                                         : POOL_SYNC,
            .time_limit_ms = (int)time_limit_ms,
            .batch = mode == MODE_PREFORK ? (int)batch : 0,
            .after_fork = count_fork,
        };
        int err = pool_create(&procs, &opt);
        if (err != 0)
            die_errnum(err, "pool_create");
    }
    if (mode == MODE_SYNC)
        printf("%ld jobs, one at a time in this process, mode sync, sleeps %ld-%ld ms, seed %ld",
               jobs, max_ms / 2, max_ms, seed);
    else
        printf("%ld jobs, %ld workers, mode %s, sleeps %ld-%ld ms, seed %ld", jobs, workers,
               mode_names[mode], max_ms / 2, max_ms, seed);
    if (time_limit_ms > 0)
        printf(", time limit %ld ms", time_limit_ms);
    printf("%s\n", faults ? ", with faults" : "");

    start = monotonic_ns();
    /* region: submit */
    for (long i = 0; i < jobs; i++) {
        struct demo_arg arg = { .index = (int)i + 1 };
        uint64_t r = mix((uint64_t)seed * 1000003u + (uint64_t)i);
        int err;

        arg.sleep_ms = (int)(max_ms / 2 + (long)(r % (uint64_t)(max_ms - max_ms / 2 + 1)));
        if (faults && (i + 1) % 10 == 0)
            arg.fault = 1 + (int)(((i + 1) / 10 - 1) % 3);   /* crash, exit, hang */
        err = submit(&arg);
        if (err != 0)
            die_errnum(err, "submitting job %ld", i + 1);
    }
    /* end region: submit */

    /* region: collect */
    for (;;) {
        struct pool_result r;
        int err = get((int)wait_ms, &r);

        if (err == ENOENT)
            break;                       /* nothing left to wait for */
        if (err == ETIMEDOUT) {
            struct pool_counts c = counts();
            printf("(no result for %ld ms: %zu pending, %zu running)\n", wait_ms, c.pending,
                   c.running);
            continue;
        }
        if (err != 0)
            die_errnum(err, "getting a result");
        print_result(&r);
        if (r.outcome == POOL_DONE)
            ok++;
        else
            failed++;
        pool_result_free(&r);
    }
    /* end region: collect */

    printf("result: mode=%s jobs=%ld workers=%ld ok=%ld failed=%ld forks=%llu ms=%.0f\n",
           mode_names[mode], jobs, mode == MODE_SYNC ? 0 : workers, ok, failed,
           (unsigned long long)(threads ? 0 : forks_seen), ns_to_ms(monotonic_ns() - start));
    if (threads != NULL)
        tpool_destroy(threads);
    else
        pool_destroy(procs);
    return failed == 0 ? 0 : 1;
}
