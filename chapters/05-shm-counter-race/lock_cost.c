/* lock_cost.c - what one increment of a shared counter costs under each lock,
 * measured inside the workers: alone, and with every worker wanting the lock.
 *
 * Lesson: timing a whole run times fork() and exit(), which cost more than a
 * million increments.  So each worker reads the clock just before its first
 * increment and just after its last, and the cost of an increment is that
 * time divided by the worker's increments.  One worker alone never finds the
 * lock taken; with two or more, released together, every worker wants it all
 * the time, and "overlap" says how much of the time they really ran at once.
 * The locks are shm_counter's (locks/lock.c): none, sysv-sem, posix-sem,
 * mutex, atomic.
 *
 * Run:  lock_cost                          # every lock, 1 and 2 workers, 5 rounds
 *       lock_cost --lock mutex --procs 4   # one lock, alone and 4 at once
 *
 * You should see one line a lock and a number of workers, the median of the
 * rounds, which run the locks side by side (round 1 of each, then round 2):
 *       lock=mutex workers=1 ns_per_increment=14.1 overlap=100% lost=0
 *       lock=mutex workers=2 ns_per_increment=44.7 overlap=98% lost=0
 * The System V semaphore is a system call per operation: it makes
 * --sysv-iters increments (fewer), the others --iters.
 */
#include "ipclab.h"
#include "locks/lock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/shm.h>

/* --lock: one of shm_counter's locks, or all of them (filled in by main). */
#define LOCK_ALL LOCK_KINDS
static const char *choices[LOCK_KINDS + 2];

#define MAX_PROCS 8
#define MAX_ROUNDS 9
/* The most increments one lock_cost run may make, in all. */
#define MAX_INCREMENTS 100000000L
#define MAX_INCREMENTS_SYSV 2000000L

static long procs = 2, iters = 200000, sysv_iters = 10000, rounds = 5;
static int which = LOCK_ALL;

struct shared {
    volatile long counter;
    atomic_long atomic_counter;
    struct lock_shared lock;     /* posix-sem and mutex keep theirs here */
    uint64_t began[MAX_PROCS], ended[MAX_PROCS];
};

static struct shared *shared;
static struct lock locks[LOCK_KINDS];   /* every kind, made once (locks/lock.c) */
static const struct lock *lock;  /* the lock of the runs being made */
static long lock_iters;          /* and their increments per worker */

/* One segment for every run, removed at once (gone when unmapped), and
 * every lock in it, or registered for removal on every way out (the
 * System V semaphore). */
static void set_up(void)
{
    shared = cleanup_private_shm_or_die(sizeof *shared, "the counters", NULL);
    for (int k = 0; k < LOCK_KINDS; k++)
        lock_init(&locks[k], k, &shared->lock);
}

/* region: loop */
static int increment(int index, void *arg)
{
    (void)arg;
    shared->began[index] = monotonic_ns();     /* after fork, after the barrier */
    for (long i = 0; i < lock_iters; i++) {
        if (lock->kind == LOCK_NONE) {         /* the floor: no call at all */
            shared->counter = shared->counter + 1;
        } else if (lock->kind == LOCK_ATOMIC) {
            long v = atomic_load(&shared->atomic_counter);
            while (!atomic_compare_exchange_weak(&shared->atomic_counter, &v, v + 1))
                ;
        } else {                               /* sysv-sem, posix-sem, mutex */
            lock_acquire(lock);
            shared->counter = shared->counter + 1;
            lock_release(lock);
        }
    }
    shared->ended[index] = monotonic_ns();     /* before exit */
    return 0;
}
/* end region: loop */

struct sample {
    double ns;           /* a worker's loop time / its increments, averaged */
    double overlap;      /* share of the span when every worker was in its loop */
    long lost;
};

/* region: measure */
static struct sample measure(int kind, int workers)
{
    struct sample s = { 0, 0, 0 };
    uint64_t first_begin = UINT64_MAX, last_begin = 0, first_end = UINT64_MAX, last_end = 0;
    uint64_t elapsed;

    lock = &locks[kind];
    lock_iters = kind == LOCK_SYSV_SEM ? sysv_iters : iters;
    shared->counter = 0;
    atomic_store(&shared->atomic_counter, 0);
    int failed = workers_run(workers, increment, NULL, &elapsed);
    if (failed != 0) {
        fprintf(stderr, "%s: %d of %d workers failed\n", program_name, failed, workers);
        exit(1);
    }
    for (int w = 0; w < workers; w++) {
        uint64_t b = shared->began[w], e = shared->ended[w];
        s.ns += (double)(e - b) / (double)lock_iters / workers;
        first_begin = b < first_begin ? b : first_begin;
        last_begin = b > last_begin ? b : last_begin;
        first_end = e < first_end ? e : first_end;
        last_end = e > last_end ? e : last_end;
    }
    /* All workers ran from the last one's start to the first one's end. */
    if (first_end > last_begin && last_end > first_begin)
        s.overlap = (double)(first_end - last_begin) / (double)(last_end - first_begin);
    long counted = kind == LOCK_ATOMIC ? atomic_load(&shared->atomic_counter) : shared->counter;
    s.lost = workers * lock_iters - counted;
    return s;
}
/* end region: measure */

static int by_ns(const void *a, const void *b)
{
    double x = ((const struct sample *)a)->ns, y = ((const struct sample *)b)->ns;
    return (x > y) - (x < y);
}

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("lock", &which, choices, "KIND", "the lock to measure, or all of them"),
    CLI_OPTION_LONG("procs", &procs, 2, MAX_PROCS, "N", "workers in the contended runs"),
    CLI_OPTION_LONG("iters", &iters, 1, 10000000, "N", "increments per worker"),
    CLI_OPTION_LONG("sysv-iters", &sysv_iters, 1, 1000000, "N",
                    "increments per worker with --lock sysv-sem"),
    CLI_OPTION_LONG("rounds", &rounds, 1, MAX_ROUNDS, "N", "rounds; the median is shown"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Measures what one increment of a shared counter costs under each lock,\n"
               "inside the workers: one worker alone, then --procs workers at once.",
    .options = options,
    .details = "ns_per_increment: a worker's own loop time divided by its increments,\n"
               "the median of the rounds; fork, exit and start-up are not in it.\n"
               "overlap: the share of that time during which all workers ran their loops.",
};

int main(int argc, char **argv)
{
    static struct sample samples[LOCK_KINDS][2][MAX_ROUNDS];
    int first, last;

    for (int k = 0; k < LOCK_KINDS; k++)
        choices[k] = lock_names[k];
    choices[LOCK_ALL] = "all";
    cli_parse(&cli, argc, argv);
    first = which == LOCK_ALL ? 0 : which;
    last = which == LOCK_ALL ? LOCK_KINDS - 1 : which;
    if (rounds * (1 + procs) * iters * (last - first + 1) > MAX_INCREMENTS)
        usage_error("--rounds x (1 + --procs) x --iters is too much work (at most %ld increments "
                    "in all)", MAX_INCREMENTS);
    if (rounds * (1 + procs) * sysv_iters > MAX_INCREMENTS_SYSV)
        usage_error("--rounds x (1 + --procs) x --sysv-iters is more than %ld increments",
                    MAX_INCREMENTS_SYSV);
    set_up();

    /* Side by side: a busy moment of the machine touches every lock alike. */
    for (long r = 0; r < rounds; r++)
        for (int k = first; k <= last; k++) {
            samples[k][0][r] = measure(k, 1);
            samples[k][1][r] = measure(k, (int)procs);
        }
    for (int k = first; k <= last; k++)
        for (int c = 0; c < 2; c++) {
            qsort(samples[k][c], (size_t)rounds, sizeof samples[k][c][0], by_ns);
            struct sample m = samples[k][c][rounds / 2];
            printf("lock=%s workers=%ld ns_per_increment=%.1f overlap=%.0f%% lost=%ld\n",
                   lock_names[k], c == 0 ? 1L : procs, m.ns, 100.0 * m.overlap, m.lost);
        }
    return 0;
}
