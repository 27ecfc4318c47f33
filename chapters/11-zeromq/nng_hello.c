/* nng_hello.c - the REQ/REP hello pair again, in nng, nanomsg's successor.
 *
 * Lesson: nng keeps ZeroMQ's patterns (REQ/REP here) with a smaller API: a
 * socket is a value opened per protocol (nng_rep0_open), a listener binds
 * a URL, nng_recv() can allocate the message, and errors are returned as
 * numbers (nng_strerror), not through errno.  Set beside zmq_hello_client,
 * the two read almost line for line.  The server is a thread of this
 * process, on a free port of 127.0.0.1 ("tcp://127.0.0.1:0"), a socket
 * file in a private 0700 directory, or inproc; or at --endpoint.
 *
 * Run:  nng_hello
 *       nng_hello --transport tcp --requests 5
 *
 * You should see where the server listens, then one line per request:
 *       client: 'hello 1' -> 'world: hello 1'
 */
#include "ipclab.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

static int transport = 2;
static const char *const transports[] = { "tcp", "ipc", "inproc", NULL };
static const char *endpoint = NULL;
static long requests = 3, timeout_ms = 1000;

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("transport", &transport, transports, "KIND", "the wire to the server thread"),
    CLI_OPTION_STRING("endpoint", &endpoint, "URL", "listen and dial exactly here (tcp://127.0.0.1:PORT, ipc://PATH)"),
    CLI_OPTION_LONG("requests", &requests, 1, 10000, "N", "requests to send"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "longest wait for each reply"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "A REQ client and a REP server thread in nng, nanomsg's successor.",
    .options = options,
};

static _Noreturn void nng_die(const char *what, int rv)
{
    fatal("%s: %s", what, nng_strerror(rv));
}

/* region: server */
static void *server_main(void *arg)
{
    nng_socket rep = *(nng_socket *)arg;
    char *request, reply[128];
    size_t len;

    /* nng_close() in main ends the wait with NNG_ECLOSED. */
    while (nng_recv(rep, &request, &len, NNG_FLAG_ALLOC) == 0) {
        snprintf(reply, sizeof reply, "world: %.*s", (int)(len < 64 ? len : 64), request);
        nng_free(request, len);
        if (nng_send(rep, reply, strlen(reply), 0) != 0)
            break;
    }
    return NULL;
}
/* end region: server */

/* An ipc:// socket file goes away on every exit path (cleanup.h). */
static void register_file(const char *url)
{
    sigset_t saved;

    cleanup_block_signals(&saved);
    cleanup_check(cleanup_add_path(url + strlen("ipc://")), "the socket file");
    cleanup_unblock_signals(&saved);
}

static void listen_url(nng_socket rep, char *url, size_t size)
{
    char dir[PATH_MAX];
    nng_listener listener;
    int rv, port;

    if (endpoint != NULL) {
        if (snprintf(url, size, "%s", endpoint) >= (int)size)
            usage_error("--endpoint: longer than %zu characters", size - 1);
    } else if (transport == 0) {
        snprintf(url, size, "tcp://127.0.0.1:0");
    }
    if (strncmp(url, "tcp://", 6) == 0 && strrchr(url, ':') > url + 6) {
        /* Port 0: the system picks one; the listener says which. */
        char *colon = strrchr(url, ':');

        if ((rv = nng_listen(rep, url, &listener, 0)) != 0)
            nng_die("nng_listen", rv);
        if ((rv = nng_listener_get_int(listener, NNG_OPT_TCP_BOUND_PORT, &port)) != 0)
            nng_die("nng_listener_get_int", rv);
        snprintf(colon, size - (size_t)(colon - url), ":%d", port);
        return;
    }
    if (endpoint != NULL) {
        /* ipc:// or inproc:// as given */
    } else if (transport == 2) {
        snprintf(url, size, "inproc://hello");
    } else {
        ipc_private_dir_create_or_die(dir, sizeof dir, "nng");
        if (snprintf(url, size, "ipc://%s/hello", dir) >= (int)size)
            fatal("ipc path too long in %s", dir);
    }
    if (strncmp(url, "ipc://", 6) == 0)
        register_file(url);
    if ((rv = nng_listen(rep, url, NULL, 0)) != 0)
        nng_die("nng_listen", rv);
}

int main(int argc, char **argv)
{
    nng_socket rep, req;
    pthread_t thread;
    sigset_t saved;
    char url[PATH_MAX + 8], text[64], *reply;
    size_t len;
    int rv, rc = 0;

    cli_parse(&cli, argc, argv);
    /* nng starts its own threads at the first call: they inherit these
     * blocked signals, which then reach main, where cleanup.h acts. */
    cleanup_block_signals(&saved);
    if ((rv = nng_rep0_open(&rep)) != 0 || (rv = nng_req0_open(&req)) != 0)
        nng_die("nng_rep0_open", rv);
    listen_url(rep, url, sizeof url);
    if ((rv = pthread_create(&thread, NULL, server_main, &rep)) != 0)
        die_errnum(rv, "pthread_create");
    cleanup_unblock_signals(&saved);
    printf("server thread on %s\n", url);

    /* region: client */
    if ((rv = nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, (nng_duration)timeout_ms)) != 0)
        nng_die("nng_socket_set_ms", rv);
    if ((rv = nng_dial(req, url, NULL, 0)) != 0)
        nng_die("nng_dial", rv);
    for (long n = 1; n <= requests && rc == 0; n++) {
        snprintf(text, sizeof text, "hello %ld", n);
        if ((rv = nng_send(req, text, strlen(text), 0)) != 0 ||
            (rv = nng_recv(req, &reply, &len, NNG_FLAG_ALLOC)) != 0) {
            printf("client: no reply to '%s': %s\n", text, nng_strerror(rv));
            rc = 1;
            break;
        }
        printf("client: '%s' -> '%.*s'\n", text, (int)len, reply);
        nng_free(reply, len);
    }
    /* end region: client */
    nng_close(req);
    nng_close(rep);
    pthread_join(thread, NULL);
    return rc;
}
