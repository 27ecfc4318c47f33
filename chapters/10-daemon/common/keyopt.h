/* keyopt.h - the option `--key PATH PROJ`: one option that takes two words.
 *
 * A System V key is ftok(PATH, PROJ): two values that only mean something
 * together, so they are given together.  lib/cli.h gives every option one
 * value; key_option_take() runs before cli_parse() and takes the second
 * word (PROJ) out of argv, so cli_parse() sees an ordinary `--key PATH`
 * (a CLI_OPTION_STRING whose metavar reads "PATH PROJ").  It knows the
 * option table, so a value that happens to read "--key" (as in
 * `--data --key`) is skipped like any other value.
 */
#ifndef DAEMON10_KEYOPT_H
#define DAEMON10_KEYOPT_H

#include "cli.h"

/* Before cli_parse(): finds each --key PATH PROJ (or --key=PATH PROJ) up to
 * "--", removes PROJ from argv and remembers it (the last --key wins).
 * Returns the new argc. */
int key_option_take(const struct cli *cli, int argc, char **argv);

/* After cli_parse(): the PROJ given with --key, parsed strictly (1 to 255
 * or one character); a missing --key or PROJ is a usage error. */
int key_option_proj(const char *key_path);

#endif
