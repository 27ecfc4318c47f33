/* test_parse.c - strict number parsing (lib/parse.c). */
#include "unit.h"

#include "die.h"
#include "io.h"
#include "parse.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_accepts_plain_decimals(void)
{
    long v = -1;

    CU_ASSERT_EQUAL(parse_long("0", 0, 10, &v), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(parse_long("64", 1, 64, &v), 0);
    CU_ASSERT_EQUAL(v, 64);
    CU_ASSERT_EQUAL(parse_long("-5", -10, 10, &v), 0);
    CU_ASSERT_EQUAL(v, -5);
    CU_ASSERT_EQUAL(parse_long("007", 0, 10, &v), 0);
    CU_ASSERT_EQUAL(v, 7);
}

static void test_range_is_inclusive_and_checked(void)
{
    long v = 99;

    CU_ASSERT_EQUAL(parse_long("1", 1, 64, &v), 0);
    CU_ASSERT_EQUAL(v, 1);
    CU_ASSERT_EQUAL(parse_long("0", 1, 64, &v), ERANGE);
    CU_ASSERT_EQUAL(parse_long("65", 1, 64, &v), ERANGE);
    CU_ASSERT_EQUAL(parse_long("-5", 1, 64, &v), ERANGE);
    CU_ASSERT_EQUAL(v, 1);   /* untouched by the failures */
}

static void test_refuses_junk(void)
{
    const char *bad[] = { "", "12abc", "abc", " 7", "7 ", "+3", "0x10", "1e3",
                          "-", "--1", "3.0", "\t1", "1\n" };
    long v = 42;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse_long(bad[i], LONG_MIN, LONG_MAX, &v);
        if (rc != EINVAL)
            fprintf(stderr, "accepted or misjudged '%s': %d\n", bad[i], rc);
        CU_ASSERT_EQUAL(rc, EINVAL);
    }
    CU_ASSERT_EQUAL(v, 42);
}

static void test_overflow_is_a_range_error(void)
{
    long v = 0;
    char text[64];

    CU_ASSERT_EQUAL(parse_long("99999999999999999999", LONG_MIN, LONG_MAX, &v), ERANGE);
    CU_ASSERT_EQUAL(parse_long("-99999999999999999999", LONG_MIN, LONG_MAX, &v), ERANGE);
    snprintf(text, sizeof text, "%ld", LONG_MAX);
    CU_ASSERT_EQUAL(parse_long(text, LONG_MIN, LONG_MAX, &v), 0);
    CU_ASSERT_EQUAL(v, LONG_MAX);
}

/* The option form exits 2 with the option's name, the text and the range. */
static int parse_bad_option(void *arg)
{
    (void)arg;
    parse_long_option("--procs", "12abc", 1, 64);
    return 0;    /* not reached if the check works */
}

static void test_option_form_reports_and_exits_2(void)
{
    int fds[2], status;
    char buf[512] = "";
    ssize_t n;
    pid_t pid;

    CU_ASSERT_FATAL(pipe(fds) == 0);
    unit_flush();
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        _exit(parse_bad_option(NULL));
    }
    close(fds[1]);
    n = read_full(fds[0], buf, sizeof buf - 1);   /* to EOF: no SIGPIPE */
    close(fds[0]);
    status = unit_wait(pid);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    CU_ASSERT_TRUE(n > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "--procs: '12abc' is not a whole number from 1 to 64\n"));
}

static void test_proj_id_number_or_one_character(void)
{
    const char *bad[] = { "", "0", "256", "-1", "AB", "12abc", " 7", "+1" };
    int id = -7;

    CU_ASSERT_EQUAL(parse_proj_id("1", &id), 0);
    CU_ASSERT_EQUAL(id, 1);
    CU_ASSERT_EQUAL(parse_proj_id("255", &id), 0);
    CU_ASSERT_EQUAL(id, 255);
    CU_ASSERT_EQUAL(parse_proj_id("A", &id), 0);   /* PHP's ftok($path, 'A') */
    CU_ASSERT_EQUAL(id, 65);
    CU_ASSERT_EQUAL(parse_proj_id("z", &id), 0);
    CU_ASSERT_EQUAL(id, 'z');
    CU_ASSERT_EQUAL(parse_proj_id("7", &id), 0);   /* a digit is the number */
    CU_ASSERT_EQUAL(id, 7);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        id = -7;
        CU_ASSERT_EQUAL(parse_proj_id(bad[i], &id), EINVAL);
        CU_ASSERT_EQUAL(id, -7);
    }
}

static void test_mode_is_octal_rwx_only(void)
{
    const char *bad[] = { "", "8", "0800", "1777", "00600", "-600", "6a0", "0x1" };
    unsigned mode = 1;

    CU_ASSERT_EQUAL(parse_mode("600", &mode), 0);
    CU_ASSERT_EQUAL(mode, 0600u);
    CU_ASSERT_EQUAL(parse_mode("0640", &mode), 0);
    CU_ASSERT_EQUAL(mode, 0640u);
    CU_ASSERT_EQUAL(parse_mode("0", &mode), 0);
    CU_ASSERT_EQUAL(mode, 0u);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mode = 1;
        CU_ASSERT_EQUAL(parse_mode(bad[i], &mode), EINVAL);
        CU_ASSERT_EQUAL(mode, 1u);
    }
}

/* The option forms: the value on success; on error one line naming the
 * option and what it takes, the usage, exit 2. */
struct option_case {
    int which;                 /* 0: proj_id, 1: mode */
    const char *text;
};

static int parse_option_in_child(void *arg)
{
    const struct option_case *c = arg;

    program_name = "prog";
    if (c->which == 0)
        return parse_proj_id_option("--proj", c->text);
    return (int)parse_mode_option("--mode", c->text) == 0640 ? 0 : 1;
}

static void expect_option_error(int which, const char *text, const char *line)
{
    struct option_case c = { which, text };
    struct unit_output o;
    char expected[512];

    unit_capture(parse_option_in_child, &c, &o);
    snprintf(expected, sizeof expected, "prog: %s\nUsage: prog [OPTION]...\n", line);
    CU_ASSERT_TRUE(unit_exited(o.status, 2));
    CU_ASSERT_STRING_EQUAL(o.err, expected);
    CU_ASSERT_STRING_EQUAL(o.out, "");
}

static void test_proj_id_and_mode_option_forms(void)
{
    struct option_case ok_char = { 0, "A" }, ok_num = { 0, "200" }, ok_mode = { 1, "0640" };
    struct unit_output o;

    unit_capture(parse_option_in_child, &ok_char, &o);
    CU_ASSERT_TRUE(unit_exited(o.status, 'A'));
    unit_capture(parse_option_in_child, &ok_num, &o);
    CU_ASSERT_TRUE(unit_exited(o.status, 200));
    unit_capture(parse_option_in_child, &ok_mode, &o);
    CU_ASSERT_TRUE(unit_exited(o.status, 0));
    CU_ASSERT_STRING_EQUAL(o.err, "");
    expect_option_error(0, "AB", "--proj: 'AB' is neither a number from 1 to 255 nor one character");
    expect_option_error(0, "0", "--proj: '0' is neither a number from 1 to 255 nor one character");
    expect_option_error(0, "256", "--proj: '256' is neither a number from 1 to 255 nor one character");
    expect_option_error(1, "0800", "--mode: '0800' is not an octal mode (digits 0-7, at most 777), as 600 or 0640");
    expect_option_error(1, "1777", "--mode: '1777' is not an octal mode (digits 0-7, at most 777), as 600 or 0640");
    expect_option_error(1, "", "--mode: '' is not an octal mode (digits 0-7, at most 777), as 600 or 0640");
}

static CU_TestInfo tests[] = {
    { "proj id and mode option forms: value, or one line + usage, exit 2", test_proj_id_and_mode_option_forms },
    { "proj id: 1-255 or one character, nothing else", test_proj_id_number_or_one_character },
    { "mode: octal digits, rwx bits only", test_mode_is_octal_rwx_only },
    { "accepts plain decimals", test_accepts_plain_decimals },
    { "range is inclusive and checked", test_range_is_inclusive_and_checked },
    { "refuses junk: blanks, signs, hex, trailing text", test_refuses_junk },
    { "overflow is a range error", test_overflow_is_a_range_error },
    { "option form reports the option and exits 2", test_option_form_reports_and_exits_2 },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("parse", tests)
