/* cli.c - see cli.h. */
#include "cli.h"

#include "cleanup.h"

#include "die.h"
#include "parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct cli *current;

/* The defaults, as the table held them when cli_parse() began.  The usage
 * shows these, not the variables: after "--procs 5 --help" the variable
 * holds 5, and the help must still say what you get without the option. */
union default_value {
    long number;          /* CLI_LONG */
    int choice;           /* CLI_CHOICE */
    const char *text;     /* CLI_STRING */
};
static union default_value defaults[CLI_OPTIONS_MAX];

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash != NULL ? slash + 1 : path;
}

static int choice_count(const struct cli_option *opt)
{
    int n = 0;

    while (opt->choices[n] != NULL)
        n++;
    return n;
}

/* Copies every default before anything is parsed, and checks the table on
 * the way: a mistake in it is the programmer's, found on the first run. */
static void snapshot_defaults(const struct cli *cli)
{
    const struct cli_option *opt = cli->options;

    for (int i = 0; opt != NULL && opt[i].kind != CLI_END; i++) {
        if (i >= CLI_OPTIONS_MAX)
            fatal("cli: more than %d options in the table", CLI_OPTIONS_MAX);
        switch (opt[i].kind) {
        case CLI_LONG:
            defaults[i].number = *(const long *)opt[i].value;
            break;
        case CLI_CHOICE:
            defaults[i].choice = *(const int *)opt[i].value;
            if (defaults[i].choice < 0 || defaults[i].choice >= choice_count(&opt[i]))
                fatal("cli: --%s: the default %d is not an index into its choices",
                      opt[i].name, defaults[i].choice);
            break;
        case CLI_STRING:
            defaults[i].text = *(const char *const *)opt[i].value;
            break;
        default:
            break;
        }
    }
}

/* Appends formatted text to buf (size bytes, NUL-terminated); past the end
 * the text is cut. */
static void append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used + 1 >= size)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

/* "none, mutex, sem" */
static void append_choices(char *buf, size_t size, const struct cli_option *opt)
{
    for (int i = 0; opt->choices[i] != NULL; i++)
        append(buf, size, "%s%s", i > 0 ? ", " : "", opt->choices[i]);
}

/* What follows the help text: the accepted values and the default, in one
 * parenthesis, the same shape for every kind:
 *   (from 1 to 64; default 4)  (one of: none, mutex; default none)  (default x)
 * KEEP joins words that a line break must not separate ("default 4"); it
 * prints as a blank. */
#define KEEP "\x1f"
static void append_default(char *buf, size_t size, const struct cli_option *opt,
                           const union default_value *def)
{
    switch (opt->kind) {
    case CLI_LONG:
        append(buf, size, " (from" KEEP "%ld" KEEP "to" KEEP "%ld; default" KEEP "%ld)",
               opt->min, opt->max, def->number);
        break;
    case CLI_CHOICE:
        append(buf, size, " (one" KEEP "of: ");
        append_choices(buf, size, opt);
        append(buf, size, "; default" KEEP "%s)", opt->choices[def->choice]);
        break;
    case CLI_STRING:
        if (def->text != NULL)
            append(buf, size, " (default" KEEP "%s)", def->text);
        break;
    default:
        break;
    }
}

/* The usage fits an 80-column terminal: an option's description starts in
 * column DESC_COLUMN and wraps at word boundaries before USAGE_WIDTH. */
#define DESC_COLUMN 25
#define USAGE_WIDTH 79

static void print_option(FILE *out, const char *left, const char *text)
{
    size_t room = USAGE_WIDTH - DESC_COLUMN;
    int column = fprintf(out, "  %s", left);

    if (*text == '\0') {                  /* no trailing blanks */
        fputc('\n', out);
        return;
    }
    if (column >= DESC_COLUMN)            /* a long option: text on the next line */
        fprintf(out, "\n%*s", DESC_COLUMN, "");
    else
        fprintf(out, "%*s", DESC_COLUMN - column, "");
    while (*text != '\0') {
        size_t len = strlen(text), cut = len;

        if (len > room) {                 /* the last blank that fits, if any */
            cut = room;
            while (cut > 0 && text[cut] != ' ')
                cut--;
            if (cut == 0)                 /* one word longer than a line */
                cut = strcspn(text, " ");
        }
        for (size_t i = 0; i < cut; i++)
            fputc(text[i] == KEEP[0] ? ' ' : text[i], out);
        fputc('\n', out);
        text += cut;
        while (*text == ' ')
            text++;
        if (*text != '\0')
            fprintf(out, "%*s", DESC_COLUMN, "");
    }
}

void cli_print_usage(FILE *out)
{
    const struct cli_option *opt;

    fprintf(out, "Usage: %s [OPTION]...%s%s\n", program_name,
            current && current->operands ? " " : "",
            current && current->operands ? current->operands : "");
    if (current == NULL)
        return;
    fprintf(out, "%s\n\nOptions:\n", current->summary);
    for (opt = current->options; opt != NULL && opt->kind != CLI_END; opt++) {
        char left[64], text[1024];

        snprintf(left, sizeof left, "--%s%s%s", opt->name,
                 opt->metavar ? " " : "", opt->metavar ? opt->metavar : "");
        snprintf(text, sizeof text, "%s", opt->help != NULL ? opt->help : "");
        append_default(text, sizeof text, opt, &defaults[opt - current->options]);
        print_option(out, left, text);
    }
    print_option(out, "--help", "print this help and exit");
    if (current->details != NULL)
        fprintf(out, "\n%s\n", current->details);
}

void usage_error(const char *fmt, ...)
{
    char message[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "%s: %s\n", program_name, message);
    cli_print_usage(stderr);
    exit(2);
}

static const struct cli_option *find_option(const char *name, size_t len)
{
    const struct cli_option *opt;

    for (opt = current->options; opt != NULL && opt->kind != CLI_END; opt++)
        if (strlen(opt->name) == len && strncmp(opt->name, name, len) == 0)
            return opt;
    return NULL;
}

static void set_value(const struct cli_option *opt, const char *option,
                      const char *text)
{
    switch (opt->kind) {
    case CLI_LONG:
        *(long *)opt->value = parse_long_option(option, text, opt->min, opt->max);
        return;
    case CLI_CHOICE:
        for (int i = 0; opt->choices[i] != NULL; i++) {
            if (strcmp(opt->choices[i], text) == 0) {
                *(int *)opt->value = i;
                return;
            }
        }
        {
            char list[256] = "";

            append_choices(list, sizeof list, opt);
            usage_error("%s: '%s' is not one of the choices: %s", option, text, list);
        }
    case CLI_STRING:
        if (*text == '\0')
            usage_error("%s: needs a non-empty value", option);
        *(const char **)opt->value = text;
        return;
    default:
        return;
    }
}

int cli_parse(const struct cli *cli, int argc, char **argv)
{
    int i;

    snapshot_defaults(cli);
    current = cli;
    if (argc > 0 && argv[0] != NULL && argv[0][0] != '\0')
        program_name = base_name(argv[0]);
    /* Line buffering keeps stdout and stderr in terminal order when both go
     * to a pipe, and leaves no half-full buffer for fork() to duplicate. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* The cleanup handlers go in before the program creates anything, so
     * no object is ever made while a signal would still kill us bare. */
    if ((errno = cleanup_install()) != 0)
        die("installing the cleanup handlers");

    /* argv[0] is not an argument; with argc == 0 (execve with an empty
     * argv) there is nothing at all, and argv[1] must not be read. */
    for (i = argc > 0 ? 1 : 0; i < argc; i++) {
        const char *arg = argv[i];
        const struct cli_option *opt;
        const char *eq;
        char option[80];

        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli_print_usage(stdout);
            exit(0);
        }
        if (arg[0] != '-' || arg[1] == '\0')
            break;                     /* the first operand */
        if (arg[1] != '-')
            usage_error("unknown option '%s'", arg);

        eq = strchr(arg + 2, '=');
        opt = find_option(arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
        if (opt == NULL)
            usage_error("unknown option '%.*s'",
                        eq ? (int)(eq - arg) : (int)strlen(arg), arg);
        snprintf(option, sizeof option, "--%s", opt->name);
        if (opt->kind == CLI_FLAG) {
            if (eq != NULL)
                usage_error("%s takes no value", option);
            *(bool *)opt->value = true;
        } else if (eq != NULL) {
            set_value(opt, option, eq + 1);
        } else if (i + 1 < argc) {
            set_value(opt, option, argv[++i]);
        } else {
            usage_error("%s needs a value", option);
        }
    }

    if (argc - i < cli->operands_min || argc - i > cli->operands_max) {
        if (cli->operands != NULL)
            usage_error("expected %s", cli->operands);
        if (argc - i > cli->operands_max)      /* name the first extra one */
            usage_error("unexpected argument '%s'",
                        argv[i + (cli->operands_max > 0 ? cli->operands_max : 0)]);
        usage_error("missing operand");        /* never print argv[argc] */
    }
    return i;
}
