/* uds_client.c - a client of uds_server: connects to its socket file, sends lines, prints the answers.
 *
 * Lesson: connect() to a Unix-domain socket names it by its path, like
 * opening a file; then the connection is an ordinary byte stream.  Lines
 * give the stream message boundaries.  Every wait for an answer is bounded,
 * and a server that goes away shows up as end-of-file.  --hold-ms keeps the
 * connection open between the first line and the rest, to show that the
 * server serves others meanwhile.
 *
 * Run:  uds_server --idle-ms 60000 &        # prints: listening on SOCKET
 *       uds_client SOCKET hello world
 *       uds_client --hold-ms 5000 SOCKET first second &
 *       uds_client SOCKET meanwhile       # answered while the other waits
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
#include <string.h>
#include <unistd.h>

static long hold_ms = 0, timeout_ms = 2000;

static const struct cli_option options[] = {
    CLI_OPTION_LONG("hold-ms", &hold_ms, 0, 600000, "MS",
                    "after the first message, keep the connection this long"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "longest wait for an answer"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Connects to uds_server's SOCKET, sends each MESSAGE as a line and\n"
               "prints the answer.",
    .options = options,
    .operands = "SOCKET [MESSAGE]...",
    .operands_min = 1,
    .operands_max = 1000,
    .details = "Without MESSAGE, sends \"hello\".",
};

int main(int argc, char **argv)
{
    int first = cli_parse(&cli, argc, argv), fd;
    const char *path = argv[first];
    char *hello[] = { "hello" };
    char **messages = argc - first > 1 ? argv + first + 1 : hello;
    int count = argc - first > 1 ? argc - first - 1 : 1;
    struct line_reader reader;

    for (int i = 0; i < count; i++)
        if (strchr(messages[i], '\n') != NULL || strlen(messages[i]) >= LINE_MAX_BYTES)
            usage_error("MESSAGE %d must be one line of fewer than %d bytes", i + 1, LINE_MAX_BYTES);

    fd = uds_connect(path);
    if (fd < 0)
        die("connect %s", path);
    line_reader_init(&reader, fd);

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
