/* fd_worker.c - answers on an inherited descriptor: one frame, PHP serialize() form or raw.
 *
 * Lesson: a descriptor survives exec unless it is close-on-exec, so a
 * parent can make a socketpair, start a program, and hand it one end by
 * number: no name, no path, nobody else can connect.  The pool of the PHP
 * articles forks a PHP worker; this one is exec'd (PHP's proc_open with
 * the socket end as descriptor 3), and speaks the pool's wire format: a
 * 4-byte big-endian length, then the payload.  The pool unserialize()s
 * the payload, so by default the worker writes its answer as PHP's
 * serialize() writes a string, s:LEN:"TEXT"; (--payload raw: the bare
 * text, which the pool's unserialize() refuses).
 *
 * Run:  fd_worker --job 7 | od -c | head -3    # the frame, on stdout (fd 1)
 *       php pool.php                           # a PHP pool starting fd_worker --fd 3
 *
 * You should see, from the pool, one result per job:
 *       GOT: 7 : 7 squared is 49, from a C worker (pid 4711)
 * and on standard error, one line per worker:
 *       fd_worker: job 7 answered on fd 3 (59 bytes, php payload)
 */
#include "ipclab.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum payload { PAYLOAD_PHP, PAYLOAD_RAW };
static const char *const payload_names[] = { "php", "raw", NULL };

static long fd = 1, job = 1, work_ms = 0;
static int payload = PAYLOAD_PHP;

static const struct cli_option options[] = {
    CLI_OPTION_LONG("fd", &fd, 1, 1023, "N", "the inherited descriptor to answer on"),
    CLI_OPTION_LONG("job", &job, 0, 1000000, "N", "the job: the number to square"),
    CLI_OPTION_LONG("work-ms", &work_ms, 0, 10000, "MS", "pretend the job takes this long"),
    CLI_OPTION_CHOICE("payload", &payload, payload_names, "FORM",
                      "php: s:LEN:\"TEXT\"; as serialize() writes it; raw: TEXT"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Answers one job with one length-prefixed frame on descriptor --fd,\n"
               "as a worker of a PHP process pool.",
    .options = options,
    .details = "The frame: 4 bytes of length (big-endian, PHP's pack('N')), then\n"
               "the payload.  Exit status 1 if --fd is not open.",
};

int main(int argc, char **argv)
{
    char text[128], frame_payload[192];
    struct stat st;
    int len;

    cli_parse(&cli, argc, argv);
    /* Not inherited: say so plainly, before doing the work. */
    if (fstat((int)fd, &st) != 0)
        die("fstat fd %ld (was it passed to us?)", fd);

    struct timespec work = { work_ms / 1000, work_ms % 1000 * 1000000 };
    while (nanosleep(&work, &work) != 0)
        if (errno != EINTR)
            die("nanosleep");

    snprintf(text, sizeof text, "%ld : %ld squared is %lld, from a C worker (pid %ld)", job, job,
             (long long)job * job, (long)getpid());
    if (payload == PAYLOAD_PHP)         /* LEN counts bytes, as strlen() */
        len = snprintf(frame_payload, sizeof frame_payload, "s:%zu:\"%s\";", strlen(text), text);
    else
        len = snprintf(frame_payload, sizeof frame_payload, "%s", text);
    frame_send_or_die((int)fd, frame_payload, (size_t)len);
    fprintf(stderr, "fd_worker: job %ld answered on fd %ld (%d bytes, %s payload)\n", job, fd,
            len, payload_names[payload]);
    return 0;
}
