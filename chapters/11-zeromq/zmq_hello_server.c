/* zmq_hello_server.c - a ZeroMQ REP socket answers "hello" requests, one at a time.
 *
 * Lesson: a REP socket receives a request and must send exactly one reply
 * before it may receive the next; the library keeps the connections, the
 * framing and the envelope.  It binds where the system chooses (a free
 * port on 127.0.0.1, or a socket file in a private 0700 directory) and
 * prints the endpoint, so a client knows where to connect.  A malformed
 * request (several frames, too long) gets an error reply, never a crash;
 * a message over 64 KiB (ZMQ_MAXMSGSIZE) makes zmq drop the connection.
 *
 * Run:  zmq_hello_server --requests 3 &        # prints its endpoint
 *       zmq_hello_client --endpoint tcp://127.0.0.1:PORT --requests 3
 *
 * You should see the endpoint first, then one line per request:
 *       serving on tcp://127.0.0.1:39417
 *       server: request 1 'hello 1' answered
 * and after --idle-ms without a request: "no request for 2000 ms: stopping".
 */
#include "ipclab.h"
#include "hello.h"
#include "zh.h"

#include <stdio.h>
#include <string.h>
#include <zmq.h>

static int transport = ZH_TCP;
static const char *endpoint = NULL;
static long requests = 10, idle_ms = 2000, drop = 0;

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("transport", &transport, zh_transport_names, "KIND",
                      "where to bind when --endpoint is not given (inproc: see zmq_hello_client)"),
    CLI_OPTION_STRING("endpoint", &endpoint, "ENDPOINT", "bind exactly here (tcp://HOST:PORT, ipc://PATH)"),
    CLI_OPTION_LONG("requests", &requests, 0, 1000000, "N", "answer N requests, then stop (0: no limit)"),
    CLI_OPTION_LONG("idle-ms", &idle_ms, 1, 600000, "MS", "stop after this long without a request"),
    CLI_OPTION_LONG("drop", &drop, 0, 1000000, "N", "leave request N unanswered, as a crash would (tcp only)"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Answers REQ/REP hello requests on a ZeroMQ REP socket and prints where it listens.",
    .options = options,
};

int main(int argc, char **argv)
{
    char bound[ZH_ENDPOINT_MAX];
    struct hello_server server = { 0 };
    long answered;

    cli_parse(&cli, argc, argv);
    if (transport == ZH_INPROC && endpoint == NULL)
        usage_error("--transport inproc connects threads of one process: "
                    "zmq_hello_client --transport inproc runs both ends");
    if (drop > 0 && (endpoint != NULL ? strncmp(endpoint, "tcp://", 6) != 0 : transport != ZH_TCP))
        usage_error("--drop needs tcp: the server binds the same port again after closing");
    zh_stop_on_signals();

    server.ctx = zh_context();
    server.sock = zh_socket(server.ctx, ZMQ_REP);
    zh_bind(server.sock, transport, "hello", endpoint, bound, sizeof bound);
    printf("serving on %s\n", bound);
    server.endpoint = bound;
    server.requests = requests;
    server.idle_ms = idle_ms;
    server.drop = drop;
    answered = hello_serve(&server);
    if (zh_stopping())
        printf("server: stopped by %s after %ld replies\n", signal_name(zh_stop_signal()), answered);
    else
        printf("server: %ld requests answered\n", answered);
    zmq_ctx_term(server.ctx);
    zh_exit_if_stopped();
    return 0;
}
