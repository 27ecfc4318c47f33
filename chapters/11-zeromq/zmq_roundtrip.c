/* zmq_roundtrip.c - what one ZeroMQ REQ/REP round trip costs over inproc, ipc and tcp.
 *
 * Lesson: the same two sockets and the same code run between threads
 * (inproc: no system call for the data), over a Unix socket (ipc) and
 * over TCP on loopback; only the endpoint changes, and the cost of each
 * round trip says what the wire adds.  The server is a thread of this
 * process: a REP socket that sends every request back.
 *
 * Run:  zmq_roundtrip --transport tcp --count 10000
 *
 * You should see exactly one line:
 *       zmq_roundtrip: 10000 round trips over tcp: 41.2 us median, 88.0 us p99, 23000 per second
 */
#include "ipclab.h"
#include "stats.h"
#include "zh.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static int transport = ZH_INPROC;
static const char *endpoint = NULL;
static long count = 10000, size = 100, timeout_ms = 5000;

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("transport", &transport, zh_transport_names, "KIND", "the wire to the echo thread"),
    CLI_OPTION_STRING("endpoint", &endpoint, "ENDPOINT", "bind the echo thread exactly here"),
    CLI_OPTION_LONG("count", &count, 1, 1000000, "N", "round trips to time"),
    CLI_OPTION_LONG("size", &size, 1, 65536, "BYTES", "bytes of each request and reply"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "longest wait for one reply"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Times N REQ/REP round trips to an echo thread and prints the median, the\n"
               "99th percentile and the rate, on one line.",
    .options = options,
};

static void *echo_main(void *arg)
{
    void *rep = arg;
    zmq_msg_t msg;

    zmq_msg_init(&msg);
    while (zmq_msg_recv(&msg, rep, 0) >= 0 && zmq_msg_send(&msg, rep, 0) >= 0)
        ;
    zmq_msg_close(&msg);
    zmq_close(rep);                       /* ETERM: the context is shutting down */
    return NULL;
}

int main(int argc, char **argv)
{
    char where[ZH_ENDPOINT_MAX];
    void *ctx, *rep, *req;
    pthread_t echo;
    uint64_t *ns, start;
    unsigned char *buf;
    double secs;
    long done = 0;

    cli_parse(&cli, argc, argv);
    zh_stop_on_signals();
    ns = malloc((size_t)count * sizeof *ns);
    buf = calloc(1, (size_t)size);
    if (ns == NULL || buf == NULL)
        die("malloc");
    ctx = zh_context();
    rep = zh_socket(ctx, ZMQ_REP);
    zh_bind(rep, transport, "roundtrip", endpoint, where, sizeof where);
    zh_thread(&echo, echo_main, rep);
    req = zh_connected(ctx, ZMQ_REQ, where, timeout_ms);
    /* One untimed round trip first: it waits for the connection. */
    if (zmq_send(req, buf, (size_t)size, 0) < 0 || zmq_recv(req, buf, (size_t)size, 0) < 0) {
        if (!zh_stopping())
            zh_die("the first round trip");
    }
    start = monotonic_ns();
    for (; done < count && !zh_stopping(); done++) {
        uint64_t t0 = monotonic_ns();

        if (zmq_send(req, buf, (size_t)size, 0) < 0 || zmq_recv(req, buf, (size_t)size, 0) < 0) {
            if (errno == EINTR)
                break;
            zh_die("round trip");
        }
        ns[done] = monotonic_ns() - t0;
    }
    secs = (double)(monotonic_ns() - start) / 1e9;
    zmq_close(req);
    zmq_ctx_shutdown(ctx);
    pthread_join(echo, NULL);
    zmq_ctx_term(ctx);
    zh_exit_if_stopped();
    stats_print_round_trips(zh_transport_names[transport], ns, (size_t)done, secs);
    free(ns);
    free(buf);
    return 0;
}
