/* test_cli.c - option tables, strict parsing, usage text (lib/cli.c). */
#include "unit.h"

#include "cli.h"
#include "die.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The option table every test parses against; reset() restores the
 * defaults before each parse. */
static bool verbose;
static long procs;
static int lock;
static const char *path;
static const char *label;

static const char *const locks[] = { "none", "mutex", "sem", NULL };

static const struct cli_option options[] = {
    CLI_OPTION_FLAG("verbose", &verbose, "print every step"),
    CLI_OPTION_LONG("procs", &procs, 1, 64, "N", "worker processes"),
    CLI_OPTION_CHOICE("lock", &lock, locks, "KIND", "how the counter is guarded"),
    CLI_OPTION_STRING("path", &path, "PATH", "where to write"),
    CLI_OPTION_STRING("label", &label, "TEXT", "a name for the run"),
    CLI_OPTION_END,
};

static const struct cli cli = {
    .summary = "Counts with several processes.",
    .options = options,
    .operands = "FILE...",
    .operands_min = 0,
    .operands_max = 2,
    .details = "Details come last.",
};

/* The usage text, with the default shown for --procs as a %ld. */
static const char usage_format[] =
    "Usage: prog [OPTION]... FILE...\n"
    "Counts with several processes.\n"
    "\n"
    "Options:\n"
    "  --verbose              print every step\n"
    "  --procs N              worker processes (1-64, default %ld)\n"
    "  --lock KIND            how the counter is guarded: none, mutex, sem (default mutex)\n"
    "  --path PATH            where to write\n"
    "  --label TEXT           a name for the run (default run)\n"
    "  --help                 print this help and exit\n"
    "\n"
    "Details come last.\n";

static const char *usage_for(long procs_default)
{
    static char text[2048];

    snprintf(text, sizeof text, usage_format, procs_default);
    return text;
}

static void reset(void)
{
    verbose = false;
    procs = 4;
    lock = 1;
    path = NULL;
    label = "run";
}

#define ARGC(argv) ((int)(sizeof (argv) / sizeof (argv)[0]) - 1)

static void test_defaults_untouched_without_options(void)
{
    char *argv[] = { "/usr/local/bin/prog", NULL };

    reset();
    CU_ASSERT_EQUAL(cli_parse(&cli, ARGC(argv), argv), 1);
    CU_ASSERT_STRING_EQUAL(program_name, "prog");   /* base name of argv[0] */
    CU_ASSERT_FALSE(verbose);
    CU_ASSERT_EQUAL(procs, 4);
    CU_ASSERT_EQUAL(lock, 1);
    CU_ASSERT_PTR_NULL(path);
    CU_ASSERT_STRING_EQUAL(label, "run");
}

static void test_every_kind_with_separate_values(void)
{
    char *argv[] = { "prog", "--verbose", "--procs", "64", "--lock", "none",
                     "--path", "/x/y", "--label", "a b", NULL };

    reset();
    CU_ASSERT_EQUAL(cli_parse(&cli, ARGC(argv), argv), ARGC(argv));
    CU_ASSERT_TRUE(verbose);
    CU_ASSERT_EQUAL(procs, 64);
    CU_ASSERT_EQUAL(lock, 0);
    CU_ASSERT_STRING_EQUAL(path, "/x/y");
    CU_ASSERT_STRING_EQUAL(label, "a b");
}

static void test_name_equals_value(void)
{
    char *argv[] = { "prog", "--procs=1", "--lock=sem", "--path=a=b", NULL };

    reset();
    CU_ASSERT_EQUAL(cli_parse(&cli, ARGC(argv), argv), ARGC(argv));
    CU_ASSERT_EQUAL(procs, 1);
    CU_ASSERT_EQUAL(lock, 2);
    CU_ASSERT_STRING_EQUAL(path, "a=b");      /* only the first '=' splits */
}

static void test_last_occurrence_wins(void)
{
    char *argv[] = { "prog", "--procs", "2", "--procs=3", NULL };

    reset();
    cli_parse(&cli, ARGC(argv), argv);
    CU_ASSERT_EQUAL(procs, 3);
}

static void test_operands_and_double_dash(void)
{
    char *argv1[] = { "prog", "--verbose", "--", "--procs", "7", NULL };
    char *argv2[] = { "prog", "one", "--verbose", NULL };
    char *argv3[] = { "prog", "-", "--procs=9", NULL };
    int first;

    reset();
    first = cli_parse(&cli, ARGC(argv1), argv1);
    CU_ASSERT_EQUAL(first, 3);                 /* after "--" */
    CU_ASSERT_TRUE(verbose);
    CU_ASSERT_EQUAL(procs, 4);                 /* "--procs" is an operand */

    reset();
    first = cli_parse(&cli, ARGC(argv2), argv2);
    CU_ASSERT_EQUAL(first, 1);                 /* the first operand ends options */
    CU_ASSERT_FALSE(verbose);

    reset();
    first = cli_parse(&cli, ARGC(argv3), argv3);
    CU_ASSERT_EQUAL(first, 1);                 /* "-" is an operand (stdin) */
    CU_ASSERT_EQUAL(procs, 4);
}

static void test_usage_text_from_the_table(void)
{
    char *argv[] = { "prog", NULL };
    char *text = NULL;
    size_t size = 0;
    FILE *out;

    reset();
    cli_parse(&cli, ARGC(argv), argv);
    out = open_memstream(&text, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    cli_print_usage(out);
    fclose(out);
    CU_ASSERT_STRING_EQUAL(text, usage_for(4));
    free(text);
}

static void test_usage_shows_current_defaults(void)
{
    char *argv[] = { "prog", NULL };
    char *text = NULL;
    size_t size = 0;
    FILE *out;

    reset();
    procs = 17;
    lock = 2;
    path = "/tmp/p";
    cli_parse(&cli, ARGC(argv), argv);
    out = open_memstream(&text, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    cli_print_usage(out);
    fclose(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "worker processes (1-64, default 17)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "none, mutex, sem (default sem)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "where to write (default /tmp/p)\n"));
    free(text);
}

static void test_only_help_without_a_table(void)
{
    static const struct cli bare = { .summary = "Bare.", .operands_max = 0 };
    char *argv[] = { "bare", NULL };
    char *text = NULL;
    size_t size = 0;
    FILE *out;

    CU_ASSERT_EQUAL(cli_parse(&bare, ARGC(argv), argv), 1);
    out = open_memstream(&text, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    cli_print_usage(out);
    fclose(out);
    CU_ASSERT_STRING_EQUAL(text, "Usage: bare [OPTION]...\nBare.\n\nOptions:\n"
                                 "  --help                 print this help and exit\n");
    free(text);
}

/* --- paths that exit: run in a child ------------------------------------ */

struct args {
    const struct cli *cli;
    char *argv[8];
};

static int parse_in_child(void *arg)
{
    struct args *a = arg;
    int argc = 0;

    while (a->argv[argc] != NULL)
        argc++;
    reset();
    return 10 + cli_parse(a->cli, argc, a->argv);   /* 10 + first operand */
}

/* Runs argv; expects exit 2, stderr = "prog: <message>\n" + usage, no stdout. */
static void expect_usage_error(const struct cli *c, const char *usage,
                               char *argv[], const char *message)
{
    struct args a = { c, { NULL } };
    struct unit_output o;
    char expected[4096];

    for (int i = 0; argv[i] != NULL && i < 7; i++)
        a.argv[i] = argv[i];
    unit_capture(parse_in_child, &a, &o);
    snprintf(expected, sizeof expected, "prog: %s\n%s", message, usage);
    if (strcmp(o.err, expected) != 0)
        fprintf(stderr, "\nexpected stderr:\n%s\ngot:\n%s\n", expected, o.err);
    CU_ASSERT(unit_exited(o.status, 2));
    CU_ASSERT_STRING_EQUAL(o.err, expected);
    CU_ASSERT_STRING_EQUAL(o.out, "");
}

static void test_help_goes_to_stdout_exit_0(void)
{
    char *argv1[] = { "prog", "--procs", "3", "--help", "--bogus", NULL };
    char *argv2[] = { "prog", "-h", NULL };
    struct args a1 = { &cli, { NULL } }, a2 = { &cli, { NULL } };
    struct unit_output o;

    memcpy(a1.argv, argv1, sizeof argv1);
    memcpy(a2.argv, argv2, sizeof argv2);
    unit_capture(parse_in_child, &a1, &o);
    CU_ASSERT(unit_exited(o.status, 0));
    CU_ASSERT_STRING_EQUAL(o.err, "");
    /* The value parsed before --help shows as the default. */
    CU_ASSERT_STRING_EQUAL(o.out, usage_for(3));
    unit_capture(parse_in_child, &a2, &o);
    CU_ASSERT(unit_exited(o.status, 0));
    CU_ASSERT_STRING_EQUAL(o.out, usage_for(4));
    CU_ASSERT_STRING_EQUAL(o.err, "");
}

static void test_unknown_options(void)
{
    char *a1[] = { "prog", "--bogus", NULL };
    char *a2[] = { "prog", "--bogus=3", NULL };
    char *a3[] = { "prog", "-x", NULL };
    char *a4[] = { "prog", "--verb", NULL };          /* no prefix matching */
    char *a5[] = { "prog", "--verbosely", NULL };

    expect_usage_error(&cli, usage_for(4), a1, "unknown option '--bogus'");
    expect_usage_error(&cli, usage_for(4), a2, "unknown option '--bogus'");
    expect_usage_error(&cli, usage_for(4), a3, "unknown option '-x'");
    expect_usage_error(&cli, usage_for(4), a4, "unknown option '--verb'");
    expect_usage_error(&cli, usage_for(4), a5, "unknown option '--verbosely'");
}

static void test_missing_and_unwanted_values(void)
{
    char *a1[] = { "prog", "--procs", NULL };
    char *a2[] = { "prog", "--verbose=yes", NULL };
    char *a3[] = { "prog", "--path=", NULL };
    char *a4[] = { "prog", "--label", "", NULL };

    expect_usage_error(&cli, usage_for(4), a1, "--procs needs a value");
    expect_usage_error(&cli, usage_for(4), a2, "--verbose takes no value");
    expect_usage_error(&cli, usage_for(4), a3, "--path: needs a non-empty value");
    expect_usage_error(&cli, usage_for(4), a4, "--label: needs a non-empty value");
}

static void test_numbers_are_strict_and_in_range(void)
{
    char *a1[] = { "prog", "--procs", "0", NULL };
    char *a2[] = { "prog", "--procs=65", NULL };
    char *a3[] = { "prog", "--procs", "12abc", NULL };
    char *a4[] = { "prog", "--procs", "-1", NULL };

    expect_usage_error(&cli, usage_for(4), a1, "--procs: '0' is not a whole number from 1 to 64");
    expect_usage_error(&cli, usage_for(4), a2, "--procs: '65' is not a whole number from 1 to 64");
    expect_usage_error(&cli, usage_for(4), a3, "--procs: '12abc' is not a whole number from 1 to 64");
    expect_usage_error(&cli, usage_for(4), a4, "--procs: '-1' is not a whole number from 1 to 64");
}

static void test_bad_choice(void)
{
    char *a1[] = { "prog", "--lock", "spin", NULL };
    char *a2[] = { "prog", "--lock=Mutex", NULL };
    char *a3[] = { "prog", "--lock=", NULL };

    expect_usage_error(&cli, usage_for(4), a1, "--lock: 'spin' is not one of the choices listed below");
    expect_usage_error(&cli, usage_for(4), a2, "--lock: 'Mutex' is not one of the choices listed below");
    expect_usage_error(&cli, usage_for(4), a3, "--lock: '' is not one of the choices listed below");
}

static const struct cli two = {
    .summary = "Takes two operands.",
    .operands = "PATH PROJ_ID",
    .operands_min = 2,
    .operands_max = 2,
};
static const char two_usage[] =
    "Usage: prog [OPTION]... PATH PROJ_ID\nTakes two operands.\n\nOptions:\n"
    "  --help                 print this help and exit\n";

static const struct cli none = { .summary = "Takes none.", .operands_max = 0 };
static const char none_usage[] =
    "Usage: prog [OPTION]...\nTakes none.\n\nOptions:\n"
    "  --help                 print this help and exit\n";

static void test_operand_count(void)
{
    char *ok[] = { "prog", "a", "1", NULL };
    char *few[] = { "prog", "a", NULL };
    char *many[] = { "prog", "a", "1", "b", NULL };
    char *dash[] = { "prog", "--", "a", "1", "b", NULL };
    char *extra[] = { "prog", "stray", NULL };
    char *three[] = { "prog", "x", "y", "z", NULL };
    struct args a = { &two, { "prog", "--", "-a", "-1", NULL } };
    struct unit_output o;

    CU_ASSERT_EQUAL(cli_parse(&two, ARGC(ok), ok), 1);
    unit_capture(parse_in_child, &a, &o);       /* "--" then two operands */
    CU_ASSERT(unit_exited(o.status, 10 + 2));   /* operands from argv[2] */
    expect_usage_error(&two, two_usage, few, "expected PATH PROJ_ID");
    expect_usage_error(&two, two_usage, many, "expected PATH PROJ_ID");
    expect_usage_error(&two, two_usage, dash, "expected PATH PROJ_ID");
    expect_usage_error(&none, none_usage, extra, "unexpected argument 'stray'");
    expect_usage_error(&cli, usage_for(4), three, "expected FILE...");
}

/* A table that wants operands but has no operands text, and an empty argv
 * (execve allows argc == 0): the message must never print argv[argc]. */
static const struct cli unnamed = { .summary = "Unnamed.", .operands_min = 1, .operands_max = 1 };

static int parse_empty_argv(void *arg)
{
    char *argv[] = { NULL };

    (void)arg;
    return 10 + cli_parse(&none, 0, argv);
}

static void test_odd_argv_and_tables(void)
{
    char *a1[] = { "prog", NULL };
    char *a2[] = { "prog", "x", "y", NULL };
    struct unit_output o;

    expect_usage_error(&unnamed, "Usage: prog [OPTION]...\nUnnamed.\n\nOptions:\n"
                       "  --help                 print this help and exit\n",
                       a1, "missing operand");
    expect_usage_error(&unnamed, "Usage: prog [OPTION]...\nUnnamed.\n\nOptions:\n"
                       "  --help                 print this help and exit\n",
                       a2, "unexpected argument 'y'");
    unit_capture(parse_empty_argv, NULL, &o);
    CU_ASSERT(unit_exited(o.status, 10 + 0));
    CU_ASSERT_STRING_EQUAL(o.err, "");
}

static int call_usage_error(void *arg)
{
    char *argv[] = { "prog", "--procs", "2", NULL };

    (void)arg;
    reset();
    cli_parse(&cli, ARGC(argv), argv);
    usage_error("--procs %ld conflicts with --lock %s", procs, locks[lock]);
}

static void test_usage_error_after_parsing(void)
{
    struct unit_output o;
    char expected[4096];

    unit_capture(call_usage_error, NULL, &o);
    /* the usage shows the value parsed as the default */
    snprintf(expected, sizeof expected, "prog: --procs 2 conflicts with --lock mutex\n%s",
             usage_for(2));
    CU_ASSERT(unit_exited(o.status, 2));
    CU_ASSERT_STRING_EQUAL(o.err, expected);
    CU_ASSERT_STRING_EQUAL(o.out, "");
}

static CU_TestInfo tests[] = {
    { "defaults stay without options; program name from argv[0]", test_defaults_untouched_without_options },
    { "flag, long, choice, strings with separate values", test_every_kind_with_separate_values },
    { "--name=value", test_name_equals_value },
    { "the last occurrence wins", test_last_occurrence_wins },
    { "operands, '--' and '-'", test_operands_and_double_dash },
    { "usage text generated from the table", test_usage_text_from_the_table },
    { "usage shows the current values as defaults", test_usage_shows_current_defaults },
    { "a cli without options has only --help", test_only_help_without_a_table },
    { "--help and -h: usage on stdout, exit 0", test_help_goes_to_stdout_exit_0 },
    { "unknown options: one line + usage, exit 2", test_unknown_options },
    { "missing, unwanted and empty values", test_missing_and_unwanted_values },
    { "numbers strict and in range", test_numbers_are_strict_and_in_range },
    { "a word that is not a choice", test_bad_choice },
    { "operand count checked both ways", test_operand_count },
    { "usage_error after parsing", test_usage_error_after_parsing },
    { "empty argv, operands without a name", test_odd_argv_and_tables },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("cli", tests)
