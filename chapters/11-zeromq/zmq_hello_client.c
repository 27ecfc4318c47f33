/* zmq_hello_client.c - a ZeroMQ REQ client that gives up, or retries, when no reply comes.
 *
 * Lesson: a REQ socket sends a request and then may only receive; if the
 * reply never comes, recv would wait forever, so ZMQ_RCVTIMEO bounds the
 * wait and the client says it gave up.  The lazy pirate (--retries N)
 * recovers from a lost reply: it closes the stuck REQ socket, opens a new
 * one and sends the request again, N times at most.  Without --endpoint
 * the client runs the server in a thread of its own (inproc by default).
 *
 * Run:  zmq_hello_client                                   # server in a thread
 *       zmq_hello_client --endpoint tcp://127.0.0.1:1 --timeout-ms 300
 *       zmq_hello_client --transport tcp --drop 2 --retries 3 --timeout-ms 300
 *
 * You should see one line per request:
 *       client: 'hello 1' -> 'world: hello 1' (0.3 ms)
 * with no server, "no reply to 'hello 1' in 300 ms: giving up" (status 1),
 * and with --retries, "closing the socket and sending again (retry 1 of 3)".
 */
#include "ipclab.h"
#include "hello.h"
#include "zh.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

static int transport = ZH_INPROC;
static const char *endpoint = NULL;
static long requests = 3, timeout_ms = 1000, retries = 0, frames = 1, size = 0, drop = 0;

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("transport", &transport, zh_transport_names, "KIND",
                      "how to reach the server thread when --endpoint is not given"),
    CLI_OPTION_STRING("endpoint", &endpoint, "ENDPOINT", "connect to a server there instead"),
    CLI_OPTION_LONG("requests", &requests, 1, 10000, "N", "requests to send"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "longest wait for each reply (ZMQ_RCVTIMEO)"),
    CLI_OPTION_LONG("retries", &retries, 0, 10, "N", "lazy pirate: new socket and resend, N times at most"),
    CLI_OPTION_LONG("frames", &frames, 1, 8, "N", "frames per request (the server wants 1)"),
    CLI_OPTION_LONG("size", &size, 0, 1000000, "BYTES", "pad each request to this size (0: no padding)"),
    CLI_OPTION_LONG("drop", &drop, 0, 10000, "N", "the server thread leaves request N unanswered"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends hello requests on a ZeroMQ REQ socket; gives up, or retries with a\n"
               "new socket, when a reply does not come in time.",
    .options = options,
};

static void *ctx;
static char where[ZH_ENDPOINT_MAX];

static void *server_main(void *arg)
{
    hello_serve(arg);
    return NULL;
}

/* Sends request text (padded to --size, split into --frames). */
static int send_request(void *req, const char *text)
{
    static char padded[1000001];
    size_t len = strlen(text);

    for (long f = 1; f < frames; f++)
        if (zh_send(req, "extra", true) != 0)
            return -1;
    if ((size_t)size <= len)
        return zh_send(req, text, false);
    memcpy(padded, text, len);
    memset(padded + len, '.', (size_t)size - len);
    return zmq_send(req, padded, (size_t)size, 0) < 0 ? -1 : 0;
}

/* region: pirate */
/* One request, with the lazy pirate's retries.  Returns 0 or 1 (gave up). */
static int ask(void **req, long n)
{
    char text[64], reply[HELLO_REQUEST_MAX + 64];

    snprintf(text, sizeof text, "hello %ld", n);
    for (long attempt = 0; attempt <= retries; attempt++) {
        uint64_t start = monotonic_ns();
        long len;

        if (send_request(*req, text) != 0)
            return errno == EINTR || errno == ETERM ? 1 : (zh_die("zmq_send"), 1);
        len = zh_recv(*req, reply, sizeof reply, NULL);
        if (len >= 0) {
            printf("client: '%s' -> '%.60s' (%.1f ms)\n", text, reply,
                   ns_to_ms(monotonic_ns() - start));
            return 0;
        }
        if (errno != EAGAIN)
            return 1;                   /* a stop signal, or the context ended */
        if (attempt == retries) {
            printf("client: no reply to '%s' in %ld ms: giving up%s\n", text, timeout_ms,
                   retries > 0 ? " after every retry" : " (is the server running?)");
            return 1;
        }
        /* The REQ socket now waits for a reply that will never come, and
         * refuses to send: only a new socket can ask again. */
        printf("client: no reply to '%s' in %ld ms: closing the socket and sending again "
               "(retry %ld of %ld)\n", text, timeout_ms, attempt + 1, retries);
        zmq_close(*req);
        *req = zh_connected(ctx, ZMQ_REQ, where, timeout_ms);
    }
    return 1;
}
/* end region: pirate */

int main(int argc, char **argv)
{
    struct hello_server server = { 0 };
    pthread_t thread;
    void *req;
    int rc = 0;

    cli_parse(&cli, argc, argv);
    if (drop > 0 && endpoint != NULL)
        usage_error("--drop is for the server thread: give it to zmq_hello_server instead");
    if (drop > 0 && transport == ZH_IPC)
        usage_error("--drop needs tcp or inproc: the server binds the same endpoint again");
    zh_stop_on_signals();
    ctx = zh_context();
    if (endpoint == NULL) {
        server.ctx = ctx;
        server.sock = zh_socket(ctx, ZMQ_REP);
        zh_bind(server.sock, transport, "hello", NULL, where, sizeof where);
        server.endpoint = where;
        server.idle_ms = -1;
        server.drop = drop;
        server.quiet = true;
        printf("client: server thread on %s\n", where);
        zh_thread(&thread, server_main, &server);
    } else {
        snprintf(where, sizeof where, "%s", endpoint);
    }
    req = zh_connected(ctx, ZMQ_REQ, where, timeout_ms);
    for (long n = 1; n <= requests && rc == 0 && !zh_stopping(); n++)
        rc = ask(&req, n);
    zmq_close(req);
    zmq_ctx_shutdown(ctx);              /* the server thread's recv ends: ETERM */
    if (endpoint == NULL)
        pthread_join(thread, NULL);
    zmq_ctx_term(ctx);
    zh_exit_if_stopped();
    return rc;
}
