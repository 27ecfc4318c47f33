/* zmq_broker.c - a ROUTER/DEALER broker (zmq_proxy) shares several workers among several clients.
 *
 * Lesson: REQ clients connect to the broker's ROUTER (frontend), REP
 * workers to its DEALER (backend), and zmq_proxy() moves messages between
 * the two.  The ROUTER puts the client's identity in front of each request
 * as an envelope frame; the reply carries it back, so every reply finds
 * the client that asked, whichever worker answered.  Clients, workers and
 * the broker are threads of this process; --transport picks the wire.
 *
 * Run:  zmq_broker
 *       zmq_broker --transport tcp --clients 4 --workers 3 --requests 50
 *
 * You should see where the broker listens, one line per client and per
 * worker, then
 *       every request got exactly its own reply: 15 of 15
 */
#include "ipclab.h"
#include "zh.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define MAX_PEERS 16

static int transport = ZH_INPROC;
static const char *endpoint = NULL;
static long clients = 3, workers = 2, requests = 5, timeout_ms = 5000;

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("transport", &transport, zh_transport_names, "KIND", "the wire between the threads"),
    CLI_OPTION_STRING("endpoint", &endpoint, "ENDPOINT", "bind the frontend exactly here"),
    CLI_OPTION_LONG("clients", &clients, 1, MAX_PEERS, "N", "REQ client threads"),
    CLI_OPTION_LONG("workers", &workers, 1, MAX_PEERS, "N", "REP worker threads"),
    CLI_OPTION_LONG("requests", &requests, 1, 10000, "N", "requests per client"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "longest wait for one reply"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Clients and workers meet through a ROUTER/DEALER broker (zmq_proxy); each\n"
               "client checks that every reply is the one to its own request.",
    .options = options,
};

static void *ctx;
static char front[ZH_ENDPOINT_MAX], back[ZH_ENDPOINT_MAX];

/* main makes each thread's socket before starting it: a stop signal (or
 * the last client's end) may shut the context down at any moment, and a
 * thread not yet at its zmq_socket would then fail with ETERM.  A socket
 * may move to another thread across a full memory barrier: pthread_create
 * is one. */
struct peer {
    pthread_t thread;
    void *sock;
    int index;
    long sent, own, wrong, answered;
};
static struct peer client_peers[MAX_PEERS], worker_peers[MAX_PEERS];

/* region: worker */
static void *worker_main(void *arg)
{
    struct peer *me = arg;
    void *rep = me->sock;
    char request[256], reply[300];

    while (zh_recv(rep, request, sizeof request, NULL) >= 0) {
        snprintf(reply, sizeof reply, "worker %d answers '%s'", me->index, request);
        if (zh_send(rep, reply, false) != 0)
            break;
        me->answered++;
    }
    zmq_close(rep);                      /* ETERM: the context is shutting down */
    return NULL;
}
/* end region: worker */

/* region: client */
static void *client_main(void *arg)
{
    struct peer *me = arg;
    void *req = me->sock;
    char request[64], reply[300], want[80];

    for (long r = 1; r <= requests; r++) {
        snprintf(request, sizeof request, "client %d request %ld", me->index, r);
        if (zh_send(req, request, false) != 0 || zh_recv(req, reply, sizeof reply, NULL) < 0)
            break;
        me->sent++;
        /* The reply must quote this client's own request, word for word. */
        snprintf(want, sizeof want, "'%s'", request);
        if (strlen(reply) >= strlen(want) && strcmp(reply + strlen(reply) - strlen(want), want) == 0)
            me->own++;
        else
            me->wrong++;
    }
    zmq_close(req);
    zh_done_signal();
    return NULL;
}
/* end region: client */

static void *proxy_main(void *arg)
{
    void **sockets = arg;

    /* Returns when the context shuts down (ETERM). */
    zmq_proxy(sockets[0], sockets[1], NULL);
    zmq_close(sockets[0]);
    zmq_close(sockets[1]);
    return NULL;
}

int main(int argc, char **argv)
{
    void *sockets[2];
    pthread_t proxy;
    long sent = 0, own = 0, wrong = 0;

    cli_parse(&cli, argc, argv);
    zh_stop_on_signals();
    zh_done_init();
    ctx = zh_context();
    sockets[0] = zh_socket(ctx, ZMQ_ROUTER);
    sockets[1] = zh_socket(ctx, ZMQ_DEALER);
    zh_bind(sockets[0], transport, "frontend", endpoint, front, sizeof front);
    zh_bind(sockets[1], transport, "backend", NULL, back, sizeof back);
    printf("broker: clients connect to %s, workers to %s\n", front, back);
    zh_thread(&proxy, proxy_main, sockets);
    for (int i = 0; i < workers; i++) {
        worker_peers[i].index = i + 1;
        worker_peers[i].sock = zh_connected(ctx, ZMQ_REP, back, -1);
        zh_thread(&worker_peers[i].thread, worker_main, &worker_peers[i]);
    }
    for (int i = 0; i < clients; i++) {
        client_peers[i].index = i + 1;
        client_peers[i].sock = zh_connected(ctx, ZMQ_REQ, front, timeout_ms);
        zh_thread(&client_peers[i].thread, client_main, &client_peers[i]);
    }
    zh_done_wait((int)clients);
    zmq_ctx_shutdown(ctx);               /* wakes every thread still waiting */
    for (int i = 0; i < clients; i++) {
        struct peer *c = &client_peers[i];

        pthread_join(c->thread, NULL);
        printf("client %d: %ld replies to %ld requests, %ld its own, %ld another's\n",
               c->index, c->sent, requests, c->own, c->wrong);
        sent += c->sent, own += c->own, wrong += c->wrong;
    }
    for (int i = 0; i < workers; i++) {
        pthread_join(worker_peers[i].thread, NULL);
        printf("worker %d: answered %ld\n", worker_peers[i].index, worker_peers[i].answered);
    }
    pthread_join(proxy, NULL);
    zmq_ctx_term(ctx);
    zh_exit_if_stopped();
    if (own == clients * requests && wrong == 0)
        printf("every request got exactly its own reply: %ld of %ld\n", own, clients * requests);
    else
        printf("replies: %ld of %ld, %ld of them another's\n", sent, clients * requests, wrong);
    printf("result: requests=%ld replies=%ld own=%ld wrong=%ld\n", clients * requests, sent, own, wrong);
    return own == clients * requests && wrong == 0 ? 0 : 1;
}
