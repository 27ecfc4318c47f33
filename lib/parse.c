/* parse.c - see parse.h. */
#include "parse.h"

#include "cli.h"

#include <errno.h>
#include <stdlib.h>

int parse_long(const char *text, long min, long max, long *out)
{
    const char *p = text;
    char *end;
    long value;

    /* strtol() would accept leading blanks, a '+', "0x" with base 0 and
     * trailing junk; refuse all of them up front. */
    if (*p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return EINVAL;
    errno = 0;
    value = strtol(text, &end, 10);
    if (*end != '\0')
        return EINVAL;
    if (errno == ERANGE || value < min || value > max)
        return ERANGE;
    *out = value;
    return 0;
}

long parse_long_option(const char *option, const char *text, long min, long max)
{
    long value;

    if (parse_long(text, min, max, &value) != 0)
        usage_error("%s: '%s' is not a whole number from %ld to %ld",
                    option, text, min, max);
    return value;
}
