#define _GNU_SOURCE   /* cpu_set_t, sched_getaffinity: CPU affinity is Linux */
/* test_cpu.c - pinning to one CPU (lib/cpu.c).  Every test puts the
 * original affinity mask back before it ends. */
#include "unit.h"

#include "cpu.h"

#include <sched.h>

static cpu_set_t original;

static void save_mask(void)
{
    CU_ASSERT_EQUAL_FATAL(sched_getaffinity(0, sizeof original, &original), 0);
}

static void restore_mask(void)
{
    CU_ASSERT_EQUAL(sched_setaffinity(0, sizeof original, &original), 0);
}

static int lowest_cpu(const cpu_set_t *set)
{
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, set))
            return i;
    return -1;
}

static void test_pins_to_the_lowest_allowed_cpu(void)
{
    cpu_set_t now;
    int cpu = -1, rc;

    save_mask();
    rc = pin_to_one_cpu(&cpu);
    CU_ASSERT(sched_getaffinity(0, sizeof now, &now) == 0);
    restore_mask();
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(CPU_COUNT(&now), 1);             /* exactly one CPU */
    CU_ASSERT(cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &now));
    CU_ASSERT(cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &original));
    CU_ASSERT_EQUAL(cpu, lowest_cpu(&original));
}

/* With the lowest CPU taken away (taskset does that), the next one is
 * chosen: the current mask is respected. */
static void test_respects_the_current_mask(void)
{
    cpu_set_t narrowed, now;
    int cpu = -1, rc;

    save_mask();
    if (CPU_COUNT(&original) < 2) {
        /* A one-CPU machine: nothing to narrow, only check the pinning. */
        CU_ASSERT_EQUAL(pin_to_one_cpu(&cpu), 0);
        CU_ASSERT_EQUAL(cpu, lowest_cpu(&original));
        restore_mask();
        return;
    }
    narrowed = original;
    CPU_CLR(lowest_cpu(&original), &narrowed);
    CU_ASSERT_EQUAL_FATAL(sched_setaffinity(0, sizeof narrowed, &narrowed), 0);
    rc = pin_to_one_cpu(&cpu);
    CU_ASSERT(sched_getaffinity(0, sizeof now, &now) == 0);
    restore_mask();
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(cpu, lowest_cpu(&narrowed));
    CU_ASSERT_EQUAL(CPU_COUNT(&now), 1);
    CU_ASSERT(cpu >= 0 && CPU_ISSET(cpu, &now));
}

static void test_null_cpu_and_or_die(void)
{
    cpu_set_t now;
    int rc, cpu;

    save_mask();
    rc = pin_to_one_cpu(NULL);
    CU_ASSERT(sched_getaffinity(0, sizeof now, &now) == 0);
    restore_mask();
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(CPU_COUNT(&now), 1);

    cpu = pin_to_one_cpu_or_die();
    CU_ASSERT(sched_getaffinity(0, sizeof now, &now) == 0);
    restore_mask();
    CU_ASSERT_EQUAL(cpu, lowest_cpu(&original));
    CU_ASSERT_EQUAL(CPU_COUNT(&now), 1);
    CU_ASSERT(cpu >= 0 && CPU_ISSET(cpu, &now));
}

static void test_allowed_cpu_count(void)
{
    int before, pinned, after;

    save_mask();
    before = allowed_cpu_count();
    pin_to_one_cpu(NULL);
    pinned = allowed_cpu_count();
    restore_mask();
    after = allowed_cpu_count();
    CU_ASSERT_EQUAL(before, CPU_COUNT(&original));
    CU_ASSERT_EQUAL(pinned, 1);
    CU_ASSERT_EQUAL(after, before);
}

static CU_TestInfo tests[] = {
    { "pins to the lowest CPU of the mask, exactly one", test_pins_to_the_lowest_allowed_cpu },
    { "respects a narrowed mask", test_respects_the_current_mask },
    { "NULL cpu, and the or_die form", test_null_cpu_and_or_die },
    { "allowed_cpu_count follows the mask", test_allowed_cpu_count },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("cpu", tests)
