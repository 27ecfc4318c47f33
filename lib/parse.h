/* parse.h - strict number parsing: no atoi, no silent garbage.
 *
 * "12abc", "", " 7", "0x10", "+3" and numbers outside [min, max] are all
 * refused.  Only plain decimal digits with an optional leading '-' pass.
 */
#ifndef IPCLAB_PARSE_H
#define IPCLAB_PARSE_H

/* Parses text as a whole number in [min, max] into *out.
 * Returns 0, or EINVAL (not a decimal number) or ERANGE (outside [min, max],
 * or outside long).  *out is untouched on error. */
int parse_long(const char *text, long min, long max, long *out);

/* The form for command-line options: on error it reports, for example,
 *   --procs: '12abc' is not a whole number from 1 to 64
 * through usage_error() (exit status 2). */
long parse_long_option(const char *option, const char *text, long min, long max);

#endif
