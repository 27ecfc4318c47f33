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

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash != NULL ? slash + 1 : path;
}

static void print_default(FILE *out, const struct cli_option *opt)
{
    switch (opt->kind) {
    case CLI_LONG:
        fprintf(out, " (%ld-%ld, default %ld)", opt->min, opt->max,
                *(const long *)opt->value);
        break;
    case CLI_CHOICE:
        fputs(": ", out);
        for (int i = 0; opt->choices[i] != NULL; i++)
            fprintf(out, "%s%s", i > 0 ? ", " : "", opt->choices[i]);
        fprintf(out, " (default %s)", opt->choices[*(const int *)opt->value]);
        break;
    case CLI_STRING:
        if (*(const char *const *)opt->value != NULL)
            fprintf(out, " (default %s)", *(const char *const *)opt->value);
        break;
    default:
        break;
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
        char left[64];

        snprintf(left, sizeof left, "--%s%s%s", opt->name,
                 opt->metavar ? " " : "", opt->metavar ? opt->metavar : "");
        fprintf(out, "  %-22s %s", left, opt->help);
        print_default(out, opt);
        fputc('\n', out);
    }
    fprintf(out, "  %-22s %s\n", "--help", "print this help and exit");
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
        usage_error("%s: '%s' is not one of the choices listed below", option, text);
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
