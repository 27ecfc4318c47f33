/* parse.c - see parse.h. */
#include "parse.h"

#include "cli.h"

#include <errno.h>
#include <sys/stat.h>
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

int parse_proj_id(const char *text, int *out)
{
    long value;
    unsigned char c = (unsigned char)text[0];

    if (parse_long(text, 1, 255, &value) == 0) {
        *out = (int)value;
        return 0;
    }
    /* One character that is not a digit: "7" already parsed as the number
     * 7, and '0' would be the classic zero proj_id. */
    if (c != '\0' && text[1] == '\0' && (c < '0' || c > '9')) {
        *out = c;
        return 0;
    }
    return EINVAL;
}

int parse_proj_id_option(const char *option, const char *text)
{
    int proj_id;

    if (parse_proj_id(text, &proj_id) != 0)
        usage_error("%s: '%s' is neither a number from 1 to 255 nor one character",
                    option, text);
    return proj_id;
}

int parse_mode(const char *text, unsigned *out)
{
    unsigned value = 0;
    size_t n = 0;

    for (const char *p = text; *p != '\0'; p++, n++) {
        if (*p < '0' || *p > '7' || n >= 4)
            return EINVAL;
        value = value * 8 + (unsigned)(*p - '0');
    }
    if (n == 0 || value > (S_IRWXU | S_IRWXG | S_IRWXO))
        return EINVAL;
    *out = value;
    return 0;
}

unsigned parse_mode_option(const char *option, const char *text)
{
    unsigned mode;

    if (parse_mode(text, &mode) != 0)
        usage_error("%s: '%s' is not an octal mode (digits 0-7, at most 777), as 600 or 0640",
                    option, text);
    return mode;
}
