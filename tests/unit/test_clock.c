/* test_clock.c - monotonic time in nanoseconds (lib/clock.c). */
#include "unit.h"

#include "clock.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <string.h>
#include <signal.h>

static uint64_t reference_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void test_reads_the_monotonic_clock_in_ns(void)
{
    uint64_t before = reference_ns();
    uint64_t now = monotonic_ns();
    uint64_t after = reference_ns();

    /* Between two direct readings of CLOCK_MONOTONIC: the right clock (the
     * wall clock is decades away) and the right units. */
    CU_ASSERT(before <= now);
    CU_ASSERT(now <= after);
}

static void test_never_goes_back(void)
{
    uint64_t last = monotonic_ns();
    int back = 0;

    for (int i = 0; i < 100000; i++) {
        uint64_t now = monotonic_ns();
        if (now < last)
            back++;
        last = now;
    }
    CU_ASSERT_EQUAL(back, 0);
}

static void test_measures_a_sleep(void)
{
    struct timespec t = { 0, 20000000 };    /* 20 ms */
    uint64_t start = monotonic_ns(), took;

    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
    took = monotonic_ns() - start;
    CU_ASSERT(took >= 20000000u);           /* a sleep is never shorter */
}

static void test_ns_to_ms(void)
{
    CU_ASSERT_DOUBLE_EQUAL(ns_to_ms(0), 0.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(ns_to_ms(1), 0.000001, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(ns_to_ms(1500000), 1.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(ns_to_ms(1402000), 1.402, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(ns_to_ms(3600000000000u), 3600000.0, 1e-6);   /* an hour */
}

/* --- signal_after_ms ---------------------------------------------------- */

static volatile sig_atomic_t fired;

static void on_usr1(int sig)
{
    (void)sig;
    fired = 1;
}

static void catch_usr1(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;            /* no SA_RESTART: blocked calls fail */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
}

/* In a child: the signal comes once, no sooner than asked. */
static int wait_for_timer(void *arg)
{
    const struct timespec ms1 = { 0, 1000000 };
    uint64_t start, waited;

    (void)arg;
    catch_usr1();
    start = monotonic_ns();
    if (signal_after_ms(SIGUSR1, 30) != 0)
        return 2;
    while (!fired && monotonic_ns() - start < 2000000000u)
        nanosleep(&ms1, NULL);
    waited = monotonic_ns() - start;
    if (!fired)
        return 3;                       /* never came */
    if (waited < 30000000u)
        return 4;                       /* came early */
    return 0;
}

static void test_signal_after_ms_fires_once_not_early(void)
{
    int status = unit_wait(unit_fork(wait_for_timer, NULL));

    CU_ASSERT_TRUE(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

/* In a child: a read() with nothing to read is cut short by the timer. */
static int read_interrupted(void *arg)
{
    int fds[2];
    char c;

    (void)arg;
    catch_usr1();
    if (pipe(fds) != 0 || signal_after_ms(SIGUSR1, 20) != 0)
        return 2;
    if (read(fds[0], &c, 1) != -1)      /* blocks: the write end stays open */
        return 3;
    return errno == EINTR && fired ? 0 : 4;
}

static void test_signal_after_ms_interrupts_a_blocked_call(void)
{
    int status = unit_wait(unit_fork(read_interrupted, NULL));

    CU_ASSERT_TRUE(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

static void test_signal_after_ms_refuses_no_delay(void)
{
    CU_ASSERT_EQUAL(signal_after_ms(SIGUSR1, 0), EINVAL);
    CU_ASSERT_EQUAL(signal_after_ms(SIGUSR1, -5), EINVAL);
}

static CU_TestInfo tests[] = {
    { "reads CLOCK_MONOTONIC in nanoseconds", test_reads_the_monotonic_clock_in_ns },
    { "never goes back", test_never_goes_back },
    { "a 20 ms sleep measures at least 20 ms", test_measures_a_sleep },
    { "ns_to_ms", test_ns_to_ms },
    { "signal_after_ms: the signal comes once, not early", test_signal_after_ms_fires_once_not_early },
    { "signal_after_ms: it interrupts a blocked read with EINTR", test_signal_after_ms_interrupts_a_blocked_call },
    { "signal_after_ms: a delay under 1 ms is EINVAL", test_signal_after_ms_refuses_no_delay },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("clock", tests)
