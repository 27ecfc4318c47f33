/* cli.h - command-line options described once, parsed strictly.
 *
 * A program lists its options in a table; cli_parse() parses argv against
 * it and writes the usage text from the same table, so the help can never
 * drift from what the parser accepts.  Conventions every ipclab program
 * shares:
 *   --help (or -h)   usage on stdout, exit status 0;
 *   a bad argument   one line saying what is wrong, then the usage, on
 *                    stderr, exit status 2;
 *   --name VALUE and --name=VALUE are both accepted; "--" ends the options.
 */
#ifndef IPCLAB_CLI_H
#define IPCLAB_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum cli_kind {
    CLI_END = 0,  /* terminates an option table */
    CLI_FLAG,     /* --name: sets a bool to true */
    CLI_LONG,     /* --name N: a whole number in [min, max], into a long */
    CLI_CHOICE,   /* --name WORD: one of choices[], its index into an int */
    CLI_STRING,   /* --name TEXT: any non-empty text, into a const char * */
};

struct cli_option {
    const char *name;             /* without the leading "--" */
    enum cli_kind kind;
    void *value;                  /* bool *, long *, int * or const char ** */
    long min, max;                /* CLI_LONG only */
    const char *const *choices;   /* CLI_CHOICE only, NULL-terminated */
    const char *metavar;          /* shown in the usage: "N", "KIND", "PATH" */
    const char *help;             /* one line; the values accepted and the
                                     default are appended, so the help
                                     text should not list them again */
};

/* The most options one table may hold (cli_parse() says so if a table
 * holds more). */
#define CLI_OPTIONS_MAX 64

#define CLI_OPTION_FLAG(name, ptr, help) \
    { (name), CLI_FLAG, (ptr), 0, 0, NULL, NULL, (help) }
#define CLI_OPTION_LONG(name, ptr, lo, hi, metavar, help) \
    { (name), CLI_LONG, (ptr), (lo), (hi), NULL, (metavar), (help) }
#define CLI_OPTION_CHOICE(name, ptr, choices, metavar, help) \
    { (name), CLI_CHOICE, (ptr), 0, 0, (choices), (metavar), (help) }
#define CLI_OPTION_STRING(name, ptr, metavar, help) \
    { (name), CLI_STRING, (ptr), 0, 0, NULL, (metavar), (help) }
#define CLI_OPTION_END { NULL, CLI_END, NULL, 0, 0, NULL, NULL, NULL }

struct cli {
    const char *summary;               /* one sentence: what the program shows */
    const struct cli_option *options;  /* may be NULL: only --help */
    const char *operands;              /* "PATH PROJ_ID" in the usage line, or NULL */
    int operands_min, operands_max;    /* how many operands are accepted */
    const char *details;               /* optional paragraph after the options */
};

/* Parses argv.  Sets program_name (die.h) from argv[0], makes stdout
 * line-buffered, so output keeps its order when piped and is not duplicated
 * by fork(), and installs the cleanup handlers (cleanup.h).  Handles --help
 * and every error itself; returns the index in argv of the first operand.
 *
 * The values the option variables hold when cli_parse() is called are the
 * defaults: it copies them first, and the usage always shows those copies,
 * so "--procs 5 --help" still says "default 4", and so does a usage_error()
 * after parsing.  Each option's help ends with what it accepts, so the help
 * text itself should not list the choices or the range again:
 *   --procs N              worker processes (from 1 to 64; default 4)
 *   --lock KIND            what guards it (one of: none, mutex; default none)
 *   --path PATH            where to write (default out.txt)
 * (a string without a default shows nothing).  Lines wrap at blanks to fit
 * 79 columns, never inside "default X" or "from N to M". */
int cli_parse(const struct cli *cli, int argc, char **argv);

/* Writes the usage text of the cli last given to cli_parse(). */
void cli_print_usage(FILE *out);

/* For errors found after parsing (two options that conflict, a bad
 * operand): prints "<program>: <message>" and the usage on stderr, exit 2. */
_Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
