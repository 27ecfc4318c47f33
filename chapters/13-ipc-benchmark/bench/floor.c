/* floor.c - what no mechanism can beat, measured in the same run.
 *
 *  - a cache line passed back and forth by spinning: the least a round
 *    trip through shared memory can cost (on one CPU: a hand-off by
 *    sched_yield, as the spinning mechanism does there);
 *  - a futex wake round trip: the least a round trip that sleeps costs;
 *  - a trivial system call (getppid) and a clock reading;
 *  - memcpy of each message size: the least moving the bytes costs.
 * Each latency sample is taken exactly as the harness takes a mechanism's
 * (one clock reading per round trip, or per group of GROUP round trips when
 * they are that short), so the ratios compare like with like.
 */
#define _GNU_SOURCE     /* syscall() for futex, which glibc does not wrap */
#include "bench.h"

#include "ipclab.h"

#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* region: spin */
void spin_until_eq(_Atomic uint32_t *word, uint32_t want, enum placement p)
{
    unsigned n = 0;

    while (atomic_load_explicit(word, memory_order_acquire) != want) {
        if (p == SAME_CPU || ++n % 4096 == 0)
            sched_yield();      /* the other side needs this CPU to answer */
        else
            cpu_relax();
    }
}
/* end region: spin */

void spin_until_ge(_Atomic uint32_t *word, uint32_t want, enum placement p)
{
    unsigned n = 0;

    while ((int32_t)(atomic_load_explicit(word, memory_order_acquire) - want) < 0) {
        if (p == SAME_CPU || ++n % 4096 == 0)
            sched_yield();
        else
            cpu_relax();
    }
}

/* Shared (not private) futexes: the two sides are different processes. */
long futex_wait(_Atomic uint32_t *word, uint32_t val)
{
    return syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, val, NULL, NULL, 0);
}

long futex_wake(_Atomic uint32_t *word)
{
    return syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static uint64_t now(void)
{
    return monotonic_ns();
}

/* region: cacheline */
/* One round of count round trips; the median ns.  *seq is this side's
 * count of values written so far (both sides start at 0).  The first
 * GROUP round trips, timed as a whole, decide how: a round trip shorter
 * than GROUP_BELOW_NS is timed GROUP at a time (*group says which), as the
 * latency phase times a mechanism that fast. */
static void cl_trip(_Atomic uint32_t *line, uint32_t *seq, enum placement p)
{
    atomic_store_explicit(line, *seq + 1, memory_order_release);
    spin_until_eq(line, *seq + 2, p);           /* the echo's answer */
    *seq += 2;
}

double cl_round_driver(_Atomic uint32_t *line, long count, uint32_t *seq, enum placement p,
                       long *group)
{
    uint64_t *s = malloc((size_t)count * sizeof *s), t, t1;
    long g, n = 0;
    double med;

    if (s == NULL)
        die("malloc");
    t = now();
    for (long i = 0; i < GROUP; i++)
        cl_trip(line, seq, p);
    t1 = now();
    g = (double)(t1 - t) / GROUP < GROUP_BELOW_NS ? GROUP : 1;
    t = t1;
    for (long i = GROUP; i + g <= count; i += g) {
        for (long j = 0; j < g; j++)
            cl_trip(line, seq, p);
        t1 = now();
        s[n++] = t1 - t;
        t = t1;
    }
    for (long i = GROUP + n * g; i < count; i++)        /* the echo side does count */
        cl_trip(line, seq, p);
    med = median_u64(s, n) / (double)g;
    free(s);
    *group = g;
    return med;
}

/* A bare loop's call moved r bytes instead of n. */
void bare_fail(ssize_t r, size_t n, const char *call)
{
    if (r < 0)
        die("%s", call);
    fatal("%s moved %zd bytes, expected %zu", call, r, n);
}

void cl_round_echo(_Atomic uint32_t *line, long count, uint32_t *seq, enum placement p)
{
    for (long i = 0; i < count; i++) {
        spin_until_eq(line, *seq + 1, p);
        atomic_store_explicit(line, *seq + 2, memory_order_release);
        *seq += 2;
    }
}
/* end region: cacheline */

/* The futex round trip: always wake, sleep while the word is unchanged. */
double futex_rt_driver(_Atomic uint32_t *word, long count, uint32_t *seq)
{
    uint64_t *s = malloc((size_t)count * sizeof *s), t, t1;
    double med;

    if (s == NULL)
        die("malloc");
    t = now();
    for (long i = 0; i < count; i++) {
        atomic_store(word, *seq + 1);
        futex_wake(word);
        while (atomic_load(word) == *seq + 1)
            futex_wait(word, *seq + 1);
        *seq += 2;
        t1 = now();
        s[i] = t1 - t;
        t = t1;
    }
    med = median_u64(s, count);
    free(s);
    return med;
}

void futex_rt_echo(_Atomic uint32_t *word, long count, uint32_t *seq)
{
    for (long i = 0; i < count; i++) {
        while (atomic_load(word) == *seq)
            futex_wait(word, *seq);
        atomic_store(word, *seq + 2);
        futex_wake(word);
        *seq += 2;
    }
}

/* Best of reps: the floor is what the machine CAN do; noise only slows. */
void floor_solo(struct floor_result *f, bool quick)
{
    const int reps = 5;
    const long calls = quick ? 20000 : 200000;
    const size_t moved = quick ? 8u << 20 : 64u << 20;
    unsigned char *src = malloc(MAX_MSG), *dst = malloc(MAX_MSG);
    volatile pid_t sink = 0;
    uint64_t t, best;
    struct timespec ts;

    if (src == NULL || dst == NULL)
        die("malloc");
    memset(src, 'x', MAX_MSG);
    memset(dst, 'y', MAX_MSG);
    best = UINT64_MAX;
    for (int r = 0; r < reps; r++) {
        t = now();
        for (long i = 0; i < calls; i++)
            clock_gettime(CLOCK_MONOTONIC, &ts);
        t = now() - t;
        best = t < best ? t : best;
    }
    f->clock_ns = (double)best / (double)calls;
    best = UINT64_MAX;
    for (int r = 0; r < reps; r++) {
        t = now();
        for (long i = 0; i < calls; i++)
            sink = getppid();           /* glibc does not cache it: a real system call */
        t = now() - t;
        best = t < best ? t : best;
    }
    (void)sink;
    f->syscall_ns = (double)best / (double)calls;
    for (int k = 0; k < NSIZES; k++) {
        size_t n = tput_sizes[k], copies = moved / n;
        best = UINT64_MAX;
        for (int r = 0; r < reps; r++) {
            t = now();
            for (size_t i = 0; i < copies; i++) {
                memcpy(dst, src, n);
                __asm__ volatile("" : : "r"(dst) : "memory");   /* keep every copy */
            }
            t = now() - t;
            best = t < best ? t : best;
        }
        f->memcpy_mbps[k] = (double)(copies * n) / (double)best * 1000.0;
    }
    free(src);
    free(dst);
}
