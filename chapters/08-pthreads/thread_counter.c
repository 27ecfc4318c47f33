/* thread_counter.c - the counter race again, with threads instead of processes.
 *
 * Lesson: threads share all of their process's memory, so the counter needs
 * no shared segment, and the race is the same as chapter 05's: a load and a
 * store that another thread can slip between.  A mutex, a spinlock or a C11
 * atomic compare-and-swap makes every update count; --lock is the only thing
 * that changes between them.  Unlike the process version, a race detector
 * (ThreadSanitizer, helgrind, drd) can see this one: `make tsan`.
 *
 * Run:  thread_counter --lock none  --pin --window 100   # thousands lost, every run
 *       thread_counter --lock mutex --pin --window 100   # none lost, ever
 *       thread_counter --lock spinlock --pin --window 100 --iters 1000   # none lost, slowly
 *       thread_counter --lock none --iters 1000000       # the natural race: sometimes
 *
 * You should see one line describing the run, then the verdict, in the same
 * form as chapter 05's shm_counter:
 *       result: expected=20000 counted=10100 lost=9900 ms=1.234
 *
 * Why --pin and --window: as in chapter 05, a plain loop loses updates only
 * when a context switch lands between load and store.  Pinned to one CPU,
 * with a yield there every --window increments, the loss is certain without
 * a lock and impossible with one.  A spinlock pays for that yield: the
 * thread that wants the lock spins on the only CPU until its time slice
 * ends, while the holder, who could release it, is not running.
 */
#include "ipclab.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

enum lock_kind { LOCK_NONE, LOCK_MUTEX, LOCK_SPINLOCK, LOCK_ATOMIC };
static const char *const lock_names[] = { "none", "mutex", "spinlock", "atomic", NULL };

static long threads = 2, iters = 10000, window = 0;
static int lock = LOCK_NONE;
static bool pin = false;

/* The most work a run may ask for: increments in all, yields in all, and
 * for a spinlock, time slices spun away (each yield inside it can cost
 * every other thread one; a spinlock also gets fewer increments, since a
 * holder preempted by the timer costs the spinners a slice each too). */
#define MAX_INCREMENTS 100000000L
#define MAX_INCREMENTS_SPIN 10000000L
#define MAX_YIELDS 1000000L
#define MAX_SPUN_SLICES 10000L

/* region: shared */
/* What the threads share: ordinary globals, no shared segment needed. */
static volatile long counter;        /* volatile: one load and one store per pass */
static atomic_long atomic_counter;   /* --lock atomic counts here instead */
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_spinlock_t spinlock;  /* no static initializer: pthread_spin_init */
static pthread_barrier_t start_line; /* every thread starts at once */
/* end region: shared */

/* region: locks */
static void lock_acquire(void)
{
    int err = 0;

    if (lock == LOCK_MUTEX)
        err = pthread_mutex_lock(&mutex);        /* sleeps while another holds it */
    else if (lock == LOCK_SPINLOCK)
        err = pthread_spin_lock(&spinlock);      /* burns the CPU until it is free */
    if (err != 0)
        die_errnum(err, lock == LOCK_MUTEX ? "pthread_mutex_lock" : "pthread_spin_lock");
}

static void lock_release(void)
{
    int err = 0;

    if (lock == LOCK_MUTEX)
        err = pthread_mutex_unlock(&mutex);
    else if (lock == LOCK_SPINLOCK)
        err = pthread_spin_unlock(&spinlock);
    if (err != 0)
        die_errnum(err, lock == LOCK_MUTEX ? "pthread_mutex_unlock" : "pthread_spin_unlock");
}
/* end region: locks */

/* region: worker */
static void *add_one_many_times(void *arg)
{
    struct race_window window_state;
    int err;

    (void)arg;
    race_window_init(&window_state, window);
    err = pthread_barrier_wait(&start_line);
    if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD)
        die_errnum(err, "pthread_barrier_wait");
    for (long i = 0; i < iters; i++) {
        if (lock == LOCK_ATOMIC) {
            /* No lock: the store succeeds only if nobody stored since our
             * load; otherwise v is refreshed and we try again. */
            long v = atomic_load(&atomic_counter);
            race_window_pass(&window_state);
            while (!atomic_compare_exchange_weak(&atomic_counter, &v, v + 1))
                ;
            continue;
        }
        lock_acquire();                    /* LOCK_NONE: does nothing */
        long v = counter;                  /* load */
        race_window_pass(&window_state);   /* maybe let another thread run */
        counter = v + 1;                   /* store */
        lock_release();
    }
    return NULL;
}
/* end region: worker */

static const struct cli_option options[] = {
    CLI_OPTION_LONG("threads", &threads, 1, 64, "N", "worker threads"),
    CLI_OPTION_LONG("iters", &iters, 1, 100000000, "N", "increments per thread"),
    CLI_OPTION_CHOICE("lock", &lock, lock_names, "KIND", "what guards the increment"),
    CLI_OPTION_LONG("window", &window, 0, 1000000, "N",
                    "yield between load and store every N-th increment, 0: never"),
    CLI_OPTION_FLAG("pin", &pin, "run every thread on one CPU"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "N threads add 1 to a shared counter, with or without a lock,\n"
               "and report how many updates were lost.",
    .options = options,
    .details = "Without a lock, --pin --window 100 loses updates in every run;\n"
               "with any lock, it never loses one.  Pinned, a spinlock is slow:\n"
               "each yield inside it costs the waiters a whole time slice.",
};

/* region: main */
int main(int argc, char **argv)
{
    pthread_t tids[64];
    uint64_t start, elapsed;
    long counted;
    int cpu = -1, err;

    cli_parse(&cli, argc, argv);
    long increments = threads * iters, yields = window > 0 ? increments / window : 0;
    if (increments > (lock == LOCK_SPINLOCK ? MAX_INCREMENTS_SPIN : MAX_INCREMENTS))
        usage_error("--threads x --iters is %ld increments; at most %ld with --lock %s",
                    increments, lock == LOCK_SPINLOCK ? MAX_INCREMENTS_SPIN : MAX_INCREMENTS,
                    lock_names[lock]);
    if (yields > MAX_YIELDS)
        usage_error("--threads x --iters / --window is %ld yields; at most %ld",
                    yields, MAX_YIELDS);
    if (lock == LOCK_SPINLOCK && (threads - 1) * yields > MAX_SPUN_SLICES)
        usage_error("with a spinlock, (--threads - 1) x --threads x --iters / --window "
                    "is %ld time slices spun away; at most %ld",
                    (threads - 1) * yields, MAX_SPUN_SLICES);
    if (pin)
        cpu = pin_to_one_cpu_or_die();   /* threads created later inherit it */
    err = pthread_spin_init(&spinlock, PTHREAD_PROCESS_PRIVATE);
    if (err == 0)   /* +1: main waits at the start line too */
        err = pthread_barrier_init(&start_line, NULL, (unsigned)threads + 1);
    if (err != 0)
        die_errnum(err, "pthread_spin_init / pthread_barrier_init");

    printf("%ld threads x %ld increments, lock %s, window %ld, ",
           threads, iters, lock_names[lock], window);
    if (pin)
        printf("all on CPU %d\n", cpu);
    else
        printf("not pinned\n");

    for (long t = 0; t < threads; t++) {
        err = pthread_create(&tids[t], NULL, add_one_many_times, NULL);
        if (err != 0)
            die_errnum(err, "pthread_create");
    }
    /* The clock starts before the start line: once it opens, main may not
     * run again until the threads are done. */
    start = monotonic_ns();
    err = pthread_barrier_wait(&start_line);
    if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD)
        die_errnum(err, "pthread_barrier_wait");
    for (long t = 0; t < threads; t++) {
        err = pthread_join(tids[t], NULL);
        if (err != 0)
            die_errnum(err, "pthread_join");
    }
    elapsed = monotonic_ns() - start;

    counted = lock == LOCK_ATOMIC ? atomic_load(&atomic_counter) : counter;
    race_print_result(threads * iters, counted, elapsed);
    pthread_barrier_destroy(&start_line);
    pthread_spin_destroy(&spinlock);
    return 0;
}
/* end region: main */
