/* test_clock.c - monotonic time in nanoseconds (lib/clock.c). */
#include "unit.h"

#include "clock.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>

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

static CU_TestInfo tests[] = {
    { "reads CLOCK_MONOTONIC in nanoseconds", test_reads_the_monotonic_clock_in_ns },
    { "never goes back", test_never_goes_back },
    { "a 20 ms sleep measures at least 20 ms", test_measures_a_sleep },
    { "ns_to_ms", test_ns_to_ms },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("clock", tests)
