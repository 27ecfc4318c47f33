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

/* The usage text, exactly: every value accepted and every default in one
 * parenthesis per option, each choice list once. */
static const char usage_text[] =
    "Usage: prog [OPTION]... FILE...\n"
    "Counts with several processes.\n"
    "\n"
    "Options:\n"
    "  --verbose              print every step\n"
    "  --procs N              worker processes (from 1 to 64; default 4)\n"
    "  --lock KIND            how the counter is guarded (one of: none, mutex, sem;\n"
    "                         default mutex)\n"
    "  --path PATH            where to write\n"
    "  --label TEXT           a name for the run (default run)\n"
    "  --help                 print this help and exit\n"
    "\n"
    "Details come last.\n";


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
    CU_ASSERT_STRING_EQUAL(text, usage_text);
    free(text);
}

static char *usage_now(void)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);

    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    cli_print_usage(out);
    fclose(out);
    return text;
}

/* The defaults are what the variables held when cli_parse() began, not what
 * the options then set them to. */
static void test_usage_shows_the_defaults_from_before_parsing(void)
{
    char *argv[] = { "prog", "--procs", "3", "--lock", "none", "--path", "/x",
                     "--label", "other", NULL };
    char *text;

    reset();
    procs = 17;
    lock = 2;
    path = "/tmp/p";
    cli_parse(&cli, ARGC(argv), argv);
    CU_ASSERT_EQUAL(procs, 3);                    /* the options did apply */
    CU_ASSERT_EQUAL(lock, 0);
    text = usage_now();
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  --procs N              worker processes (from 1 to 64; default 17)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " (one of: none, mutex, sem;\n"
                                        "                         default sem)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "where to write (default /tmp/p)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "a name for the run (default run)\n"));
    CU_ASSERT_PTR_NULL(strstr(text, "default 3"));
    CU_ASSERT_PTR_NULL(strstr(text, "default none"));
    CU_ASSERT_PTR_NULL(strstr(text, "/x"));
    CU_ASSERT_PTR_NULL(strstr(text, "other"));
    free(text);

    /* A later parse takes a new snapshot. */
    {
        char *again[] = { "prog", NULL };

        cli_parse(&cli, ARGC(again), again);   /* procs is 3 now */
        text = usage_now();
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "(from 1 to 64; default 3)\n"));
        free(text);
    }
}

/* A negative range reads as words, not "(-1000000-1000000"; the choice
 * list is printed once, after the help text. */
static long type, offset;
static int side;
static const char *const sides[] = { "left", "right", NULL };
static const struct cli_option signed_options[] = {
    CLI_OPTION_LONG("type", &type, -1000000, 1000000, "MSGTYP", "msgrcv's msgtyp"),
    CLI_OPTION_LONG("offset", &offset, -5, -1, "N", "from the end"),
    CLI_OPTION_CHOICE("side", &side, sides, "SIDE", "where to start"),
    CLI_OPTION_END,
};
static const struct cli signed_cli = {
    .summary = "Signed.", .options = signed_options,
};

static void test_negative_ranges_and_choices_read_clearly(void)
{
    char *argv[] = { "prog", "--type=-7", "--offset", "-5", "--side", "right", NULL };
    char *text;

    type = 0;
    offset = -1;
    side = 0;
    CU_ASSERT_EQUAL(cli_parse(&signed_cli, ARGC(argv), argv), ARGC(argv));
    CU_ASSERT_EQUAL(type, -7);
    CU_ASSERT_EQUAL(offset, -5);
    CU_ASSERT_EQUAL(side, 1);
    text = usage_now();
    CU_ASSERT_STRING_EQUAL(text,
        "Usage: prog [OPTION]...\n"
        "Signed.\n"
        "\n"
        "Options:\n"
        "  --type MSGTYP          msgrcv's msgtyp (from -1000000 to 1000000; default 0)\n"
        "  --offset N             from the end (from -5 to -1; default -1)\n"
        "  --side SIDE            where to start (one of: left, right; default left)\n"
        "  --help                 print this help and exit\n");
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
    char *argv1[] = { "prog", "--procs", "3", "--lock=sem", "--label", "x", "--help", NULL };
    char *argv2[] = { "prog", "-h", NULL };
    struct args a1 = { &cli, { NULL } }, a2 = { &cli, { NULL } };
    struct unit_output o;

    memcpy(a1.argv, argv1, sizeof argv1);
    memcpy(a2.argv, argv2, sizeof argv2);
    unit_capture(parse_in_child, &a1, &o);
    CU_ASSERT(unit_exited(o.status, 0));
    CU_ASSERT_STRING_EQUAL(o.err, "");
    /* The value parsed before --help does not show as the default. */
    CU_ASSERT_STRING_EQUAL(o.out, usage_text);
    unit_capture(parse_in_child, &a2, &o);
    CU_ASSERT(unit_exited(o.status, 0));
    CU_ASSERT_STRING_EQUAL(o.out, usage_text);
    CU_ASSERT_STRING_EQUAL(o.err, "");
}

static void test_unknown_options(void)
{
    char *a1[] = { "prog", "--bogus", NULL };
    char *a2[] = { "prog", "--bogus=3", NULL };
    char *a3[] = { "prog", "-x", NULL };
    char *a4[] = { "prog", "--verb", NULL };          /* no prefix matching */
    char *a5[] = { "prog", "--verbosely", NULL };

    expect_usage_error(&cli, usage_text, a1, "unknown option '--bogus'");
    expect_usage_error(&cli, usage_text, a2, "unknown option '--bogus'");
    expect_usage_error(&cli, usage_text, a3, "unknown option '-x'");
    expect_usage_error(&cli, usage_text, a4, "unknown option '--verb'");
    expect_usage_error(&cli, usage_text, a5, "unknown option '--verbosely'");
}

static void test_missing_and_unwanted_values(void)
{
    char *a1[] = { "prog", "--procs", NULL };
    char *a2[] = { "prog", "--verbose=yes", NULL };
    char *a3[] = { "prog", "--path=", NULL };
    char *a4[] = { "prog", "--label", "", NULL };

    expect_usage_error(&cli, usage_text, a1, "--procs needs a value");
    expect_usage_error(&cli, usage_text, a2, "--verbose takes no value");
    expect_usage_error(&cli, usage_text, a3, "--path: needs a non-empty value");
    expect_usage_error(&cli, usage_text, a4, "--label: needs a non-empty value");
}

static void test_numbers_are_strict_and_in_range(void)
{
    char *a1[] = { "prog", "--procs", "0", NULL };
    char *a2[] = { "prog", "--procs=65", NULL };
    char *a3[] = { "prog", "--procs", "12abc", NULL };
    char *a4[] = { "prog", "--procs", "-1", NULL };

    expect_usage_error(&cli, usage_text, a1, "--procs: '0' is not a whole number from 1 to 64");
    expect_usage_error(&cli, usage_text, a2, "--procs: '65' is not a whole number from 1 to 64");
    expect_usage_error(&cli, usage_text, a3, "--procs: '12abc' is not a whole number from 1 to 64");
    expect_usage_error(&cli, usage_text, a4, "--procs: '-1' is not a whole number from 1 to 64");
}

static void test_bad_choice(void)
{
    char *a1[] = { "prog", "--lock", "spin", NULL };
    char *a2[] = { "prog", "--lock=Mutex", NULL };
    char *a3[] = { "prog", "--lock=", NULL };

    expect_usage_error(&cli, usage_text, a1, "--lock: 'spin' is not one of the choices: none, mutex, sem");
    expect_usage_error(&cli, usage_text, a2, "--lock: 'Mutex' is not one of the choices: none, mutex, sem");
    expect_usage_error(&cli, usage_text, a3, "--lock: '' is not one of the choices: none, mutex, sem");
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
    expect_usage_error(&cli, usage_text, three, "expected FILE...");
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
    /* the usage shows the real default, not the value parsed */
    snprintf(expected, sizeof expected, "prog: --procs 2 conflicts with --lock mutex\n%s",
             usage_text);
    CU_ASSERT(unit_exited(o.status, 2));
    CU_ASSERT_STRING_EQUAL(o.err, expected);
    CU_ASSERT_STRING_EQUAL(o.out, "");
}

/* Lines fit 79 columns: descriptions wrap at blanks, with the continuation
 * under the description; "default X" and "from N to M" are never split; a
 * long option puts its description on the next line; a word longer than a
 * line stays whole. */
static bool flag;
static const char *tag = "a-rather-long-default-value";
static long big;
static const struct cli_option wrap_options[] = {
    CLI_OPTION_FLAG("a-very-long-option-name", &flag, "short text"),
    CLI_OPTION_STRING("tag", &tag, "T",
                      "a help text long enough to need two lines before its default is shown"),
    CLI_OPTION_LONG("big", &big, -9000000000000000000L, 9000000000000000000L, "N",
                    "huge ranges"),
    CLI_OPTION_FLAG("word", &flag,
                    "https://example.org/a/path/much/longer/than/one/line/of/the/usage/text"),
    CLI_OPTION_FLAG("quiet", &flag, ""),
    CLI_OPTION_END,
};
static const struct cli wrap_cli = { .summary = "Wraps.", .options = wrap_options };

static void test_usage_lines_wrap_at_79_columns(void)
{
    char *argv[] = { "prog", NULL };
    char *text;

    big = 0;
    cli_parse(&wrap_cli, ARGC(argv), argv);
    text = usage_now();
    CU_ASSERT_STRING_EQUAL(text,
        "Usage: prog [OPTION]...\n"
        "Wraps.\n"
        "\n"
        "Options:\n"
        "  --a-very-long-option-name\n"
        "                         short text\n"
        "  --tag T                a help text long enough to need two lines before its\n"
        "                         default is shown (default a-rather-long-default-value)\n"
        "  --big N                huge ranges\n"
        "                         (from -9000000000000000000 to 9000000000000000000;\n"
        "                         default 0)\n"
        "  --word                 https://example.org/a/path/much/longer/than/one/line/of/the/usage/text\n"
        "  --quiet\n"
        "  --help                 print this help and exit\n");
    free(text);
}

/* Mistakes in a table are reported on the first run, whatever the argv. */
static int bad_default;
static const struct cli_option bad_choice_options[] = {
    CLI_OPTION_CHOICE("lock", &bad_default, locks, "KIND", "broken"),
    CLI_OPTION_END,
};
static const struct cli bad_choice_cli = { .summary = "Bad.", .options = bad_choice_options };

static bool many_flags[CLI_OPTIONS_MAX + 1];
static struct cli_option too_many_options[CLI_OPTIONS_MAX + 2];
static const struct cli too_many_cli = { .summary = "Many.", .options = too_many_options };

static int parse_table(void *arg)
{
    char *argv[] = { "prog", NULL };

    program_name = "prog";
    cli_parse(arg, ARGC(argv), argv);
    return 0;
}

static void test_table_mistakes_are_reported(void)
{
    struct unit_output o;

    bad_default = 3;                          /* locks has 3 choices: 0-2 */
    unit_capture(parse_table, (void *)&bad_choice_cli, &o);
    CU_ASSERT(unit_exited(o.status, 1));
    CU_ASSERT_STRING_EQUAL(o.err, "prog: cli: --lock: the default 3 is not an index into its choices\n");
    bad_default = -1;
    unit_capture(parse_table, (void *)&bad_choice_cli, &o);
    CU_ASSERT(unit_exited(o.status, 1));
    bad_default = 2;
    unit_capture(parse_table, (void *)&bad_choice_cli, &o);
    CU_ASSERT(unit_exited(o.status, 0));

    for (int i = 0; i < CLI_OPTIONS_MAX + 1; i++) {
        struct cli_option flag = CLI_OPTION_FLAG("f", &many_flags[i], "a flag");
        too_many_options[i] = flag;
    }
    unit_capture(parse_table, (void *)&too_many_cli, &o);
    CU_ASSERT(unit_exited(o.status, 1));
    CU_ASSERT_STRING_EQUAL(o.err, "prog: cli: more than 64 options in the table\n");
    too_many_options[CLI_OPTIONS_MAX].kind = CLI_END;      /* 64 fit */
    unit_capture(parse_table, (void *)&too_many_cli, &o);
    CU_ASSERT(unit_exited(o.status, 0));
}

static CU_TestInfo tests[] = {
    { "defaults stay without options; program name from argv[0]", test_defaults_untouched_without_options },
    { "flag, long, choice, strings with separate values", test_every_kind_with_separate_values },
    { "--name=value", test_name_equals_value },
    { "the last occurrence wins", test_last_occurrence_wins },
    { "operands, '--' and '-'", test_operands_and_double_dash },
    { "usage text generated from the table", test_usage_text_from_the_table },
    { "usage shows the defaults from before parsing, not the options", test_usage_shows_the_defaults_from_before_parsing },
    { "negative ranges in words, each choice list once", test_negative_ranges_and_choices_read_clearly },
    { "usage lines wrap at 79 columns, never inside 'default X'", test_usage_lines_wrap_at_79_columns },
    { "a bad choice default or too many options are reported", test_table_mistakes_are_reported },
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
