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

/* A System V project id, as ftok() takes it: a whole number from 1 to 255,
 * or a single character ("A", as PHP's ftok($path, 'A') passes it), which
 * stands for its byte value.  Returns 0 or EINVAL; *out untouched on error. */
int parse_proj_id(const char *text, int *out);

/* Option form: "--proj: 'AB' is neither a number from 1 to 255 nor one
 * character" through usage_error(). */
int parse_proj_id_option(const char *option, const char *text);

/* Permission bits in octal, "600" or "0640": one to four digits 0-7, at
 * most 777 (rwx for all three) (no set-id or sticky bits: an IPC object has
 * no use for them).  Returns 0 or EINVAL; *out untouched on error.  The
 * option form: "--mode: '0800' is not an octal mode (digits 0-7, at most 777), as 600
 * or 0640" through usage_error(). */
int parse_mode(const char *text, unsigned *out);
unsigned parse_mode_option(const char *option, const char *text);

#endif
