/* zmq_pool_worker.c - a worker of the distributed pool: takes jobs from zmq_pool over ZeroMQ, runs them in its child.
 *
 * Lesson: a worker on any host reaches the dispatcher with one DEALER
 * socket and says READY; from then on jobs wait in its socket (the
 * dispatcher keeps a few out at each worker), and it runs them one after
 * the other in a child process it keeps (prefork, as chapter 07's pool
 * does), with a time limit, and sends back each outcome: done, exited,
 * killed or timed out.  A job that ends or overruns its child costs a new
 * child, not the worker.  --fork-per-job forks a child for every job
 * instead: the same outcomes, a fork's price each time.  If the worker
 * itself dies, the dispatcher notices the missing results and sends its
 * jobs to another worker.
 *
 * Run:  zmq_pool --local 0 --min-workers 1 &          # prints its endpoint
 *       zmq_pool_worker --endpoint tcp://127.0.0.1:PORT --host here
 *
 * You should see one line per job it ran (and its child), then why it stopped:
 *       worker here/4242: job 3 done in 10 ms (child 4243)
 *       worker here/4242: the dispatcher said stop after 20 jobs, 1 child forked
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
static bool quiet = false, fork_per_job = false;

static const struct cli_option options[] = {
    CLI_OPTION_STRING("endpoint", &endpoint, "ENDPOINT", "the dispatcher's endpoint (required)"),
    CLI_OPTION_STRING("host", &host, "NAME", "the host name it reports"),
    CLI_OPTION_LONG("idle-ms", &idle_ms, 1, 600000, "MS", "stop after this long without a message"),
    CLI_OPTION_FLAG("fork-per-job", &fork_per_job, "a new child for every job, not one kept across jobs"),
    CLI_OPTION_FLAG("quiet", &quiet, "print nothing (the local workers of zmq_pool)"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Joins a zmq_pool dispatcher at ENDPOINT and runs the jobs it sends, one at a time,\n"
               "in a child process it keeps (a new one after a job that ends it).",
    .options = options,
};

int main(int argc, char **argv)
{
    char text[ZPOOL_TEXT_MAX], spec[ZPOOL_TEXT_MAX];
    void *ctx, *sock;
    long jobs = 0;
    struct zpool_child child;
    const char *why = "?";

    cli_parse(&cli, argc, argv);
    if (endpoint == NULL)
        usage_error("--endpoint is required: the dispatcher (zmq_pool) prints it");
    if (strlen(host) > 40 || strpbrk(host, " \t\n") != NULL)
        usage_error("--host: 1 to 40 characters, no blanks");
    zh_stop_on_signals();
    zpool_child_init(&child);
    ctx = zh_context();
    sock = zh_connected(ctx, ZMQ_DEALER, endpoint, idle_ms);
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
        if (fork_per_job)
            outcome = zpool_run(spec, limit, &code, &pid);
        else
            outcome = zpool_child_run(&child, spec, limit, &code, &pid);
        if (zh_stopping()) {
            why = "stopped by a signal";
            break;
        }
        jobs++;
        if (!quiet)
            printf("worker %s/%ld: job %llu %s in %.0f ms (child %d)\n", host, (long)getpid(), id,
                   zpool_outcome_name(outcome), ns_to_ms(monotonic_ns() - start), pid);
        if (!quiet && !fork_per_job && child.pid != pid)
            printf("worker %s/%ld: child %d ended with job %llu: child %d forked for the next job\n",
                   host, (long)getpid(), pid, id, child.pid);
        snprintf(text, sizeof text, "RESULT %llu %d %d %.0f %d", id, (int)outcome, code,
                 ns_to_ms(monotonic_ns() - start), pid);
        if (zh_send(sock, text, false) != 0)
            zh_die("zmq_send");
    }
    /* end region: loop */
    if (!quiet)
        printf("worker %s/%ld: %s after %ld jobs, %ld child%s forked\n", host, (long)getpid(), why,
               jobs, fork_per_job ? jobs : child.forks, (fork_per_job ? jobs : child.forks) == 1 ? "" : "ren");
    zpool_child_stop(&child);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    zh_exit_if_stopped();
    return 0;
}
