/* zmq_pipeline.c - PUSH/PULL: a ventilator spreads tasks over workers, a sink collects every result.
 *
 * Lesson: a PUSH socket deals messages round-robin to the PULL sockets
 * connected to it, so tasks spread over the workers with no scheduler; the
 * workers PUSH their results to one PULL socket, the sink.  PUSH deals
 * only among the peers connected at that moment: the ventilator first waits
 * until every worker has connected (a barrier, then a socket monitor that
 * reports each finished handshake), or the first worker to arrive would
 * take everything.
 *
 * Run:  zmq_pipeline
 *       zmq_pipeline --transport tcp --workers 4 --tasks 100
 *
 * You should see how many tasks each worker did, and the sink's total:
 *       worker 1: 10 tasks
 *       sink: 30 results of 30 tasks
 */
#include "ipclab.h"
#include "zh.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define MAX_WORKERS 16

static int transport = ZH_INPROC;
static const char *endpoint = NULL;
static long nworkers = 3, tasks = 30, task_us = 1000, timeout_ms = 5000;

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("transport", &transport, zh_transport_names, "KIND", "the wire between the threads"),
    CLI_OPTION_STRING("endpoint", &endpoint, "ENDPOINT", "bind the ventilator exactly here"),
    CLI_OPTION_LONG("workers", &nworkers, 1, MAX_WORKERS, "N", "worker threads"),
    CLI_OPTION_LONG("tasks", &tasks, 1, 100000, "N", "tasks to hand out"),
    CLI_OPTION_LONG("task-us", &task_us, 0, 100000, "US", "how long one task takes"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "longest wait for one message"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "A ventilator PUSHes tasks to worker threads, which PUSH results to a sink.",
    .options = options,
};

static void *ctx;
static char vent_at[ZH_ENDPOINT_MAX], sink_at[ZH_ENDPOINT_MAX];
static long per_worker[MAX_WORKERS];
static long sink_total;
static pthread_barrier_t connected;     /* the workers and main */

/* region: worker */
static void *worker_main(void *arg)
{
    int index = (int)(long)arg;
    void *in = zh_connected(ctx, ZMQ_PULL, vent_at, -1);
    void *out = zh_connected(ctx, ZMQ_PUSH, sink_at, -1);
    char task[64], result[96];
    struct timespec work = { 0, task_us * 1000 };

    pthread_barrier_wait(&connected);     /* connect never blocks: this is quick */
    while (zh_recv(in, task, sizeof task, NULL) >= 0) {
        nanosleep(&work, NULL);           /* the work itself */
        snprintf(result, sizeof result, "%d %s", index, task);
        if (zh_send(out, result, false) != 0)
            break;
    }
    zmq_close(in);
    zmq_close(out);
    return NULL;
}
/* end region: worker */

static void *sink_main(void *arg)
{
    void *in = arg;
    char result[96];
    int index;

    zh_setint(in, ZMQ_RCVTIMEO, (int)timeout_ms, "zmq_setsockopt ZMQ_RCVTIMEO");
    while (sink_total < tasks && zh_recv(in, result, sizeof result, NULL) >= 0) {
        if (sscanf(result, "%d", &index) == 1 && index >= 1 && index <= nworkers)
            per_worker[index - 1]++;
        sink_total++;
    }
    zmq_close(in);
    zh_done_signal();
    return NULL;
}

/* region: monitor */
/* A monitor reports each connection that finished its handshake with sock;
 * set it up before the workers connect.  inproc has no handshake and no
 * events: its peers are attached as soon as they connect, and the next
 * send sees them.  Returns NULL then. */
static void *watch(void *sock)
{
    if (strncmp(vent_at, "inproc://", 9) == 0)
        return NULL;
    if (zmq_socket_monitor(sock, "inproc://ventilator-monitor", ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0)
        zh_die("zmq_socket_monitor");
    return zh_connected(ctx, ZMQ_PAIR, "inproc://ventilator-monitor", timeout_ms);
}

static void wait_for_workers(void *mon, int count)
{
    zmq_msg_t frame;

    if (mon == NULL)
        return;
    for (int seen = 0; seen < 2 * count; seen++) {   /* two frames per event */
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, mon, 0) < 0) {
            if (zh_stopping())
                break;
            zh_die("zmq_msg_recv (waiting for the workers)");
        }
        zmq_msg_close(&frame);
    }
    zmq_close(mon);
}
/* end region: monitor */

int main(int argc, char **argv)
{
    void *vent, *sink, *mon;
    pthread_t sink_thread, workers[MAX_WORKERS];
    char task[64];
    long total = 0;

    cli_parse(&cli, argc, argv);
    zh_stop_on_signals();
    zh_done_init();
    ctx = zh_context();
    vent = zh_socket(ctx, ZMQ_PUSH);
    sink = zh_socket(ctx, ZMQ_PULL);
    zh_setint(vent, ZMQ_SNDTIMEO, (int)timeout_ms, "zmq_setsockopt ZMQ_SNDTIMEO");
    zh_bind(vent, transport, "ventilator", endpoint, vent_at, sizeof vent_at);
    zh_bind(sink, transport, "sink", NULL, sink_at, sizeof sink_at);
    printf("ventilator on %s, sink on %s\n", vent_at, sink_at);
    zh_thread(&sink_thread, sink_main, sink);
    mon = watch(vent);
    if (pthread_barrier_init(&connected, NULL, (unsigned)nworkers + 1) != 0)
        die("pthread_barrier_init");
    for (long i = 0; i < nworkers; i++)
        zh_thread(&workers[i], worker_main, (void *)(i + 1));
    pthread_barrier_wait(&connected);
    wait_for_workers(mon, (int)nworkers);
    for (long t = 1; t <= tasks && !zh_stopping(); t++) {
        snprintf(task, sizeof task, "task %ld", t);
        if (zh_send(vent, task, false) != 0 && errno != EINTR)
            zh_die("zmq_send");
    }
    zh_done_wait(1);
    zmq_ctx_shutdown(ctx);
    for (long i = 0; i < nworkers; i++) {
        pthread_join(workers[i], NULL);
        printf("worker %ld: %ld tasks\n", i + 1, per_worker[i]);
        total += per_worker[i];
    }
    pthread_join(sink_thread, NULL);
    printf("sink: %ld results of %ld tasks\n", sink_total, tasks);
    zmq_close(vent);
    zmq_ctx_term(ctx);
    zh_exit_if_stopped();
    printf("result: tasks=%ld results=%ld counted=%ld\n", tasks, sink_total, total);
    return sink_total == tasks ? 0 : 1;
}
