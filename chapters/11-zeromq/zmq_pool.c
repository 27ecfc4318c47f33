/* zmq_pool.c - chapter 07's pool spread over hosts: a dispatcher hands jobs to workers over ZeroMQ.
 *
 * Lesson: the dispatcher binds one ROUTER socket; workers anywhere connect
 * with a DEALER, say READY, and get up to --inflight jobs at a time (a
 * credit: one more for each result), so the next job is already at the
 * worker when one ends.  Results come back with chapter 07's outcomes
 * (done, exited, killed, timed out), so a fault in a job is a result.  A
 * fault of a worker is a missing result: when its next result is later
 * than the time limit plus --lost-ms, the worker is taken for dead and its
 * jobs go to other workers (--resends times at most) or are reported lost.  Each job has exactly one result line; a
 * second result for a job that has one is dropped.  A worker that joins
 * late gets work from then on.
 *
 * Run:  zmq_pool                              # 2 local workers, 20 jobs
 *       zmq_pool --mix --jobs 30 --time-limit-ms 300
 *
 * You should see the endpoint, one line per job, the hosts, then a summary:
 *       job 3: exited with status 3 (host local, worker 4242)
 *       result: jobs=30 done=21 exited=3 killed=3 timed_out=3 lost=0 resent=0 duplicates=0
 */
#include "ipclab.h"
#include "stats.h"
#include "zh.h"
#include "zpool.h"
#include "zpool_dispatch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <zmq.h>

static struct zd_options opt = {
    .jobs = 20, .job_ms = 10, .time_limit_ms = 1000, .lost_ms = 1000, .resends = 1,
    .min_workers = 1, .wait_ms = 5000, .inflight = 4,
};
static bool fork_per_job = false;
static int transport = ZH_TCP;
static const char *endpoint = NULL;
static long local = 2;

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("transport", &transport, zh_transport_names, "KIND",
                      "where to bind when --endpoint is not given (not inproc: workers are processes)"),
    CLI_OPTION_STRING("endpoint", &endpoint, "ENDPOINT", "bind exactly here, e.g. tcp://10.1.2.1:*"),
    CLI_OPTION_LONG("jobs", &opt.jobs, 1, ZD_JOBS_MAX, "N", "jobs to run"),
    CLI_OPTION_LONG("job-ms", &opt.job_ms, 0, 10000, "MS", "how long a job works"),
    CLI_OPTION_FLAG("mix", &opt.mix, "make every 10th+3 exit 3, +6 crash, +9 hang"),
    CLI_OPTION_LONG("time-limit-ms", &opt.time_limit_ms, 1, 60000, "MS", "a job's time limit (the worker enforces it)"),
    CLI_OPTION_LONG("lost-ms", &opt.lost_ms, 1, 60000, "MS", "past the limit, how long to wait before a job counts as lost"),
    CLI_OPTION_LONG("resends", &opt.resends, 0, 3, "N", "how many times a lost job goes to another worker"),
    CLI_OPTION_LONG("inflight", &opt.inflight, 1, ZD_INFLIGHT_MAX, "N",
                    "jobs out at one worker at a time: the next waits there while one runs"),
    CLI_OPTION_LONG("local", &local, 0, 16, "N", "workers to start here (zmq_pool_worker)"),
    CLI_OPTION_FLAG("fork-per-job", &fork_per_job, "the local workers fork a child for every job"),
    CLI_OPTION_LONG("min-workers", &opt.min_workers, 1, ZD_WORKERS_MAX, "N", "workers to wait for before the first job"),
    CLI_OPTION_LONG("wait-ms", &opt.wait_ms, 1, 600000, "MS", "longest wait for a worker while jobs wait"),
    CLI_OPTION_FLAG("quiet", &opt.quiet, "no line per job"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Runs jobs on zmq_pool_worker processes over ZeroMQ, here and on other hosts,\n"
               "and reports one result per job.",
    .options = options,
};

static pid_t locals[16];
static int local_handles[16];

/* The worker program is this program's neighbour in the same directory. */
static void start_local_workers(const char *at)
{
    char self[PATH_MAX], path[PATH_MAX + 32];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash;

    if (len < 0)
        die("readlink /proc/self/exe");
    self[len] = '\0';
    slash = strrchr(self, '/');
    *slash = '\0';
    snprintf(path, sizeof path, "%s/zmq_pool_worker", self);
    for (int i = 0; i < local; i++) {
        locals[i] = fork_child_or_die(&local_handles[i]);
        if (locals[i] == 0) {
            execl(path, "zmq_pool_worker", "--endpoint", at, "--host", "local", "--quiet",
                  fork_per_job ? "--fork-per-job" : (char *)NULL, (char *)NULL);
            dprintf(2, "zmq_pool: exec %s: %s\n", path, errno_name(errno));
            _exit(127);
        }
    }
}

/* They were told STOP: give them 2 s to leave, then cleanup.h ends them. */
static void reap_local_workers(void)
{
    uint64_t deadline = monotonic_ns() + 2000000000u;

    for (int i = 0; i < local; i++) {
        while (waitpid(locals[i], NULL, WNOHANG) == 0 && monotonic_ns() < deadline) {
            struct timespec pause = { 0, 5000000 };

            nanosleep(&pause, NULL);
        }
        cleanup_remove(local_handles[i]);
    }
}

int main(int argc, char **argv)
{
    char at[ZH_ENDPOINT_MAX];
    void *ctx, *router;
    int rc;

    cli_parse(&cli, argc, argv);
    if (transport == ZH_INPROC && endpoint == NULL)
        usage_error("--transport inproc: the workers are other processes; use tcp or ipc");
    zh_stop_on_signals();
    ctx = zh_context();
    router = zh_socket(ctx, ZMQ_ROUTER);
    zh_setint(router, ZMQ_ROUTER_MANDATORY, 1, "zmq_setsockopt ZMQ_ROUTER_MANDATORY");
    zh_bind(router, transport, "pool", endpoint, at, sizeof at);
    printf("dispatcher on %s: %ld jobs\n", at, opt.jobs);
    start_local_workers(at);
    rc = zd_run(router, &opt);
    zmq_close(router);
    zmq_ctx_term(ctx);
    reap_local_workers();
    zh_exit_if_stopped();
    return rc;
}
