/* zmq_pool_worker.c - a worker of the distributed pool: takes jobs from zmq_pool over ZeroMQ, runs each in a child.
 *
 * Lesson: a worker on any host reaches the dispatcher with one DEALER
 * socket and says READY; from then on it receives one job at a time, runs
 * it in a child process with a time limit (as chapter 07's pool does),
 * and sends back the outcome: done, exited, killed or timed out.  If the
 * worker itself dies, the dispatcher notices the missing result and sends
 * the job to another worker.
 *
 * Run:  zmq_pool --local 0 --min-workers 1 &          # prints its endpoint
 *       zmq_pool_worker --endpoint tcp://127.0.0.1:PORT --host here
 *
 * You should see one line per job it ran, then why it stopped:
 *       worker here/4242: job 3 done in 10 ms
 *       worker here/4242: the dispatcher said stop after 20 jobs
 */
#include "ipclab.h"
#include "zh.h"
#include "zpool.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static const char *endpoint = NULL, *host = "local";
static long idle_ms = 5000;
static bool quiet = false;

static const struct cli_option options[] = {
    CLI_OPTION_STRING("endpoint", &endpoint, "ENDPOINT", "the dispatcher's endpoint (required)"),
    CLI_OPTION_STRING("host", &host, "NAME", "the host name it reports"),
    CLI_OPTION_LONG("idle-ms", &idle_ms, 1, 600000, "MS", "stop after this long without a message"),
    CLI_OPTION_FLAG("quiet", &quiet, "print nothing (the local workers of zmq_pool)"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Joins a zmq_pool dispatcher at ENDPOINT and runs the jobs it sends, one at a time.",
    .options = options,
};

int main(int argc, char **argv)
{
    char text[ZPOOL_TEXT_MAX], spec[ZPOOL_TEXT_MAX];
    void *ctx, *sock;
    long jobs = 0;
    const char *why = "?";

    cli_parse(&cli, argc, argv);
    if (endpoint == NULL)
        usage_error("--endpoint is required: the dispatcher (zmq_pool) prints it");
    if (strlen(host) > 40 || strpbrk(host, " \t\n") != NULL)
        usage_error("--host: 1 to 40 characters, no blanks");
    zh_stop_on_signals();
    ctx = zh_context();
    sock = zh_socket(ctx, ZMQ_DEALER);
    zh_setint(sock, ZMQ_RCVTIMEO, (int)idle_ms, "zmq_setsockopt ZMQ_RCVTIMEO");
    zh_connect(sock, endpoint);
    snprintf(text, sizeof text, "READY %s %ld", host, (long)getpid());
    if (zh_send(sock, text, false) != 0)
        zh_die("zmq_send");
    /* region: loop */
    for (;;) {
        unsigned long long id;
        long limit, len = zh_recv(sock, text, sizeof text, NULL);
        int code, pid;
        uint64_t start;
        enum zpool_outcome outcome;

        if (len < 0) {
            why = errno == EAGAIN ? "no message from the dispatcher in time" : "stopped by a signal";
            if (errno != EAGAIN && errno != EINTR)
                zh_die("zmq_recv");
            break;
        }
        if (strcmp(text, "STOP") == 0) {
            why = "the dispatcher said stop";
            break;
        }
        if (len >= (long)sizeof text || sscanf(text, "JOB %llu %ld %255[^\n]", &id, &limit, spec) != 3) {
            fprintf(stderr, "%s: dropped a malformed message (%ld bytes)\n", program_name, len);
            continue;
        }
        start = monotonic_ns();
        outcome = zpool_run(spec, limit, &code, &pid);
        if (zh_stopping()) {
            why = "stopped by a signal";
            break;
        }
        jobs++;
        if (!quiet)
            printf("worker %s/%ld: job %llu %s in %.0f ms\n", host, (long)getpid(), id,
                   zpool_outcome_name(outcome), ns_to_ms(monotonic_ns() - start));
        snprintf(text, sizeof text, "RESULT %llu %d %d %.0f %d", id, (int)outcome, code,
                 ns_to_ms(monotonic_ns() - start), pid);
        if (zh_send(sock, text, false) != 0)
            zh_die("zmq_send");
    }
    /* end region: loop */
    if (!quiet)
        printf("worker %s/%ld: %s after %ld jobs\n", host, (long)getpid(), why, jobs);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    zh_exit_if_stopped();
    return 0;
}
