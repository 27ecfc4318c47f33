/* test_race.c - the yield window and the verdict line (lib/race.c).
 *
 * This file defines sched_yield(): race_window_pass(), linked into this
 * executable, calls it instead of the C library's, so the test counts the
 * yields and sees on which passes they came. */
#include "unit.h"

#include "race.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int yields;
static long current_pass;
static long yielded_on[64];

int sched_yield(void)
{
    if (yields < 64)
        yielded_on[yields] = current_pass;
    yields++;
    return 0;
}

/* Runs n passes through w, numbered from 1; returns the number of yields. */
static int run_passes(struct race_window *w, long n)
{
    yields = 0;
    for (current_pass = 1; current_pass <= n; current_pass++)
        race_window_pass(w);
    return yields;
}

static void test_init(void)
{
    struct race_window w = { -9, -9 };

    race_window_init(&w, 100);
    CU_ASSERT_EQUAL(w.every, 100);
    CU_ASSERT_EQUAL(w.countdown, 100);
}

static void test_yields_on_every_nth_pass(void)
{
    struct race_window w;

    race_window_init(&w, 3);
    CU_ASSERT_EQUAL(run_passes(&w, 10), 3);
    CU_ASSERT_EQUAL(yielded_on[0], 3);
    CU_ASSERT_EQUAL(yielded_on[1], 6);
    CU_ASSERT_EQUAL(yielded_on[2], 9);
    CU_ASSERT_EQUAL(w.countdown, 2);       /* pass 10 used one of three */

    race_window_init(&w, 1000);
    CU_ASSERT_EQUAL(run_passes(&w, 999), 0);
    CU_ASSERT_EQUAL(run_passes(&w, 1), 1);  /* the 1000th */
    CU_ASSERT_EQUAL(run_passes(&w, 2000), 2);
}

static void test_every_pass_with_one(void)
{
    struct race_window w;

    race_window_init(&w, 1);
    CU_ASSERT_EQUAL(run_passes(&w, 10), 10);
    CU_ASSERT_EQUAL(yielded_on[0], 1);
    CU_ASSERT_EQUAL(yielded_on[9], 10);
}

static void test_zero_or_negative_never_yields(void)
{
    struct race_window w;

    race_window_init(&w, 0);
    CU_ASSERT_EQUAL(run_passes(&w, 100000), 0);
    race_window_init(&w, -5);
    CU_ASSERT_EQUAL(run_passes(&w, 100000), 0);
}

static void test_print_result(void)
{
    struct unit_redirect r;
    char out[512];
    long lost[3];

    unit_redirect_begin(&r, STDOUT_FILENO);
    lost[0] = race_print_result(20000, 10117, 1402000);
    lost[1] = race_print_result(20000, 20000, 0);
    lost[2] = race_print_result(10, 15, 2500000000u);
    unit_redirect_end(&r, out, sizeof out);
    CU_ASSERT_EQUAL(lost[0], 9883);
    CU_ASSERT_EQUAL(lost[1], 0);
    CU_ASSERT_EQUAL(lost[2], -5);
    CU_ASSERT_STRING_EQUAL(out,
        "result: expected=20000 counted=10117 lost=9883 ms=1.402\n"
        "result: expected=20000 counted=20000 lost=0 ms=0.000\n"
        "result: expected=10 counted=15 lost=-5 ms=2500.000\n");
}

static CU_TestInfo tests[] = {
    { "race_window_init sets every and the countdown", test_init },
    { "yields on exactly every N-th pass", test_yields_on_every_nth_pass },
    { "every = 1 yields on every pass", test_every_pass_with_one },
    { "every = 0 (or less) never yields", test_zero_or_negative_never_yields },
    { "race_print_result line and lost count", test_print_result },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("race", tests)
