/* keyopt.c - see keyopt.h. */
#include "keyopt.h"

#include "parse.h"

#include <stdbool.h>
#include <string.h>

static const char *proj_text;
static bool proj_missing;

/* Whether --name (without "=value") is an option of cli's table that takes
 * a value: then the next word is that value, never an option. */
static bool takes_value(const struct cli *cli, const char *name)
{
    for (const struct cli_option *o = cli->options; o != NULL && o->name != NULL; o++)
        if (strcmp(o->name, name) == 0)
            return o->kind != CLI_FLAG;
    return false;
}

int key_option_take(const struct cli *cli, int argc, char **argv)
{
    int out = 1;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];

        argv[out++] = argv[i];
        if (strcmp(arg, "--") == 0) {          /* operands only from here */
            while (++i < argc)
                argv[out++] = argv[i];
            break;
        }
        if (strncmp(arg, "--key", 5) == 0 && (arg[5] == '\0' || arg[5] == '=')) {
            if (arg[5] == '\0' && i + 1 < argc)
                argv[out++] = argv[++i];       /* PATH: cli_parse takes it */
            if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                proj_text = argv[++i];         /* PROJ: ours */
                proj_missing = false;
            } else {
                proj_missing = true;
            }
        } else if (strncmp(arg, "--", 2) == 0 && strchr(arg, '=') == NULL &&
                   takes_value(cli, arg + 2) && i + 1 < argc) {
            argv[out++] = argv[++i];           /* another option's value */
        }
    }
    argv[out] = NULL;
    return out;
}

int key_option_proj(const char *key_path)
{
    if (key_path == NULL)
        usage_error("--key PATH PROJ is required: the System V key is ftok(PATH, PROJ)");
    if (proj_missing || proj_text == NULL)
        usage_error("--key: PROJ missing after PATH (--key PATH PROJ, as --key key A)");
    return parse_proj_id_option("--key PROJ", proj_text);
}
