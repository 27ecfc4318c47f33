/* fifo_client.c - send requests to a running fifo_server through its FIFO.
 *
 * Lesson: a FIFO lets two unrelated programs meet through a path.  The
 * client opens the server's FIFO with O_NONBLOCK, so it learns at once
 * (ENXIO) that no server is reading, rather than blocking until one starts;
 * it gets its replies through a FIFO of its own in a private directory.
 * It refuses a SERVER_FIFO that is not a FIFO (a regular file is left as it
 * was), and --reply-path plays a misbehaving client that names someone
 * else's file as its reply FIFO: the server must refuse to write there.
 *
 * Run:  fifo_server --clients 0 --requests 3 > server.out &
 *       fifo_client --requests 3 "$(sed -n 's/.*listening on //p' server.out)"
 *       fifo_client --reply-path "$HOME/.profile" SERVER_FIFO   # the server refuses
 *
 * You should see one reply per request, numbered in the server's order,
 * then the verdict:
 *       client (pid 4720): reply to request 1: served 1: hello 1 from 4720
 *       result: requests=3 replies=3
 */
#include "ipclab.h"
#include "fifo/fifo.h"

#include <stdio.h>
#include <unistd.h>

static long requests = 1, timeout_ms = 1000;
static const char *reply_path = NULL;

static const struct cli_option options[] = {
    CLI_OPTION_LONG("requests", &requests, 1, 100000, "N", "requests to send"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 600000, "MS", "wait this long for a reply"),
    CLI_OPTION_STRING("reply-path", &reply_path, "PATH",
                      "misbehave: send one request naming PATH as my reply FIFO, then leave"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends requests to fifo_server through the FIFO at SERVER_FIFO and\n"
               "prints the replies.",
    .options = options,
    .operands = "SERVER_FIFO",
    .operands_min = 1,
    .operands_max = 1,
};

int main(int argc, char **argv)
{
    int first = cli_parse(&cli, argc, argv);
    char label[64];
    int good;

    snprintf(label, sizeof label, "client (pid %ld)", (long)getpid());
    if (reply_path != NULL) {
        fifo_client_forge(label, argv[first], reply_path, timeout_ms);
        return 0;
    }
    good = fifo_client_run(label, argv[first], requests, timeout_ms);
    printf("result: requests=%ld replies=%d\n", requests, good);
    return good == requests ? 0 : 1;
}
