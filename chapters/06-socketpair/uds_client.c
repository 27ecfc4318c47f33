/* uds_client.c - a client of uds_server: connects to its socket file, sends lines, prints the answers.
 *
 * Lesson: connect() to a Unix-domain socket names it by its path, like
 * opening a file; then the connection is an ordinary byte stream.  Lines
 * give the stream message boundaries.  Every wait for an answer is bounded,
 * and a server that goes away shows up as end-of-file.  --hold-ms keeps the
 * connection open between the first line and the rest, to show that the
 * server serves others meanwhile.  --pipeline sends every line in one
 * write() before reading any answer; --no-read never reads the answers at
 * all (a client that stops reading): the server must go on serving others.
 *
 * Run:  uds_server --idle-ms 60000 &        # prints: listening on SOCKET
 *       uds_client SOCKET hello world
 *       uds_client --hold-ms 5000 SOCKET first second &
 *       uds_client SOCKET meanwhile       # answered while the other waits
 *       uds_client --pipeline SOCKET a b c
 *
 * You should see one line per message:
 *       sent "hello", got "HELLO"
 * and, if the server stops while this client holds its connection:
 *       uds_client: the server closed the connection
 */
#include "ipclab.h"
#include "common/uds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SEND_MAX (4L * 1024 * 1024)     /* bytes one run may send */
static long hold_ms = 0, timeout_ms = 2000, repeat = 1;
static bool pipeline, no_read;

static const struct cli_option options[] = {
    CLI_OPTION_LONG("hold-ms", &hold_ms, 0, 600000, "MS",
                    "after the first message, keep the connection this long"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "longest wait for an answer"),
    CLI_OPTION_FLAG("pipeline", &pipeline, "send every line in one write(), then read the answers"),
    CLI_OPTION_FLAG("no-read", &no_read,
                    "send every line in one write() and never read: hold, then close"),
    CLI_OPTION_LONG("repeat", &repeat, 1, 100000, "N", "send the MESSAGEs N times over"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Connects to uds_server's SOCKET, sends each MESSAGE as a line and\n"
               "prints the answer.",
    .options = options,
    .operands = "SOCKET [MESSAGE]...",
    .operands_min = 1,
    .operands_max = 1000,
    .details = "Without MESSAGE, sends \"hello\".  At most 4 MiB in all.",
};

/* Every line, repeat times over, in one buffer sent by one write(). */
static void send_all(int fd, char **messages, int count, long *lines)
{
    size_t size = 0, at = 0;
    char *buf;

    for (int i = 0; i < count; i++)
        size += strlen(messages[i]) + 1;
    buf = malloc(size * (size_t)repeat);
    if (buf == NULL)
        die("malloc");
    for (long r = 0; r < repeat; r++)
        for (int i = 0; i < count; i++) {
            size_t len = strlen(messages[i]);
            memcpy(buf + at, messages[i], len);
            buf[at + len] = '\n';
            at += len + 1;
        }
    write_full_or_die(fd, buf, at);
    free(buf);
    *lines = repeat * count;
}

int main(int argc, char **argv)
{
    int first = cli_parse(&cli, argc, argv), fd;
    const char *path = argv[first];
    char *hello[] = { "hello" };
    char **messages = argc - first > 1 ? argv + first + 1 : hello;
    int count = argc - first > 1 ? argc - first - 1 : 1;
    struct line_reader reader;

    long total = 0, lines;

    for (int i = 0; i < count; i++) {
        if (strchr(messages[i], '\n') != NULL || strlen(messages[i]) >= LINE_MAX_BYTES)
            usage_error("MESSAGE %d must be one line of fewer than %d bytes", i + 1, LINE_MAX_BYTES);
        total += (long)strlen(messages[i]) + 1;
    }
    if (total * repeat > SEND_MAX)
        usage_error("--repeat %ld x %ld bytes of lines is more than %ld bytes", repeat, total, SEND_MAX);
    if (repeat > 1 && !pipeline && !no_read)
        usage_error("--repeat needs --pipeline or --no-read");

    fd = uds_connect(path);
    if (fd < 0)
        die("connect %s", path);
    line_reader_init(&reader, fd);

    if (no_read) {
        send_all(fd, messages, count, &lines);
        printf("sent %ld lines in one write(); not reading the answers; holding the "
               "connection for %ld ms\n", lines, hold_ms);
        struct timespec hold = { hold_ms / 1000, (hold_ms % 1000) * 1000000 };
        while (nanosleep(&hold, &hold) != 0 && errno == EINTR)
            ;                                /* answers pile up meanwhile, unread */
        printf("closing without reading the answers\n");
        close(fd);
        return 0;
    }
    if (pipeline) {
        send_all(fd, messages, count, &lines);
        for (long k = 0; k < lines; k++) {
            char answer[LINE_MAX_BYTES];
            ssize_t got = line_read(&reader, answer, sizeof answer, timeout_ms);

            if (got == -2)
                fatal("the server closed the connection after %ld answers", k);
            if (got < 0)
                die("waiting for answer %ld of %ld", k + 1, lines);
            printf("sent \"%s\", got \"%s\"\n", messages[k % count], answer);
        }
        close(fd);
        return 0;
    }

    /* region: exchange */
    for (int i = 0; i < count; i++) {
        char answer[LINE_MAX_BYTES];
        ssize_t got;

        if (i == 1 && hold_ms > 0) {
            /* Hold the connection; readable now can only mean end-of-file. */
            int ready = wait_readable(fd, hold_ms);
            if (ready < 0)
                die("poll");
            if (ready > 0 && line_fill(&reader) <= 0)
                fatal("the server closed the connection");
        }
        write_full_or_die(fd, messages[i], strlen(messages[i]));
        write_full_or_die(fd, "\n", 1);
        got = line_read(&reader, answer, sizeof answer, timeout_ms);
        if (got == -2)
            fatal("the server closed the connection");
        if (got < 0)
            die("waiting for the answer to \"%s\"", messages[i]);
        printf("sent \"%s\", got \"%s\"\n", messages[i], answer);
    }
    /* end region: exchange */
    close(fd);
    return 0;
}
