/* zpool_job.c - a job of the distributed pool, run in a new child process (--fork-per-job).
 *
 * The child of a process that runs zmq's threads may only make
 * async-signal-safe calls (another thread may hold a lock the child would
 * need), so the job body is nanosleep, abort and _exit, and the parent
 * waits for it in poll() on a pipe the child holds open: end-of-file says
 * the child ended, the poll's timeout that it overran its limit. */
#include "zpool.h"

#include "ipclab.h"
#include "zh.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const names[ZPOOL_OUTCOMES] = { "done", "exited", "killed", "timed out", "lost" };

const char *zpool_outcome_name(enum zpool_outcome outcome)
{
    return outcome < ZPOOL_OUTCOMES ? names[outcome] : "?";
}

struct zpool_job zpool_parse(const char *spec)
{
    struct zpool_job job = { ZPOOL_UNKNOWN, 0 };
    char extra;

    if (sscanf(spec, "ok %ld %c", &job.arg, &extra) == 1 && job.arg >= 0)
        job.kind = ZPOOL_OK;
    else if (sscanf(spec, "exit %ld %c", &job.arg, &extra) == 1)
        job.kind = ZPOOL_EXIT;
    else if (strcmp(spec, "crash") == 0)
        job.kind = ZPOOL_CRASH;
    else if (strcmp(spec, "hang") == 0)
        job.kind = ZPOOL_HANG;
    return job;
}

void zpool_job_signals(void)
{
    struct sigaction dfl;

    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &dfl, NULL);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGHUP, &dfl, NULL);
}

void zpool_job_body(struct zpool_job job)
{
    struct timespec t;

    switch (job.kind) {
    case ZPOOL_OK:
        t.tv_sec = job.arg / 1000;
        t.tv_nsec = (job.arg % 1000) * 1000000L;
        while (nanosleep(&t, &t) != 0 && errno == EINTR)
            ;
        return;
    case ZPOOL_EXIT:
        _exit((int)job.arg & 0xff);
    case ZPOOL_CRASH:
        abort();
    case ZPOOL_HANG:
        for (;;)
            pause();
    default:
        _exit(126);                      /* a spec this worker does not know */
    }
}

int zpool_wait_readable(int fd, uint64_t deadline)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    for (;;) {
        uint64_t now = monotonic_ns();
        int left = now >= deadline ? 0 : (int)((deadline - now) / 1000000u) + 1;
        int rc = poll(&pfd, 1, left);

        if (rc > 0)
            return 1;
        if (rc == 0 && monotonic_ns() >= deadline)
            return 0;
        if (rc < 0 && errno != EINTR)
            die("poll");
        if (rc < 0 && zh_stopping())
            return -1;
    }
}

int zpool_reap(int pid, int handle)
{
    int status = 0;

    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    cleanup_forget(handle);
    return status;
}

enum zpool_outcome zpool_outcome_of(int status, bool timed_out, int *code)
{
    *code = 0;
    if (timed_out)
        return ZPOOL_TIMED_OUT;
    if (WIFSIGNALED(status)) {
        *code = WTERMSIG(status);
        return ZPOOL_KILLED;
    }
    *code = WEXITSTATUS(status);
    return *code == 0 ? ZPOOL_DONE : ZPOOL_EXITED;
}

enum zpool_outcome zpool_run(const char *spec, long limit_ms, int *code, int *pid)
{
    int fds[2], handle, ready;
    uint64_t deadline = monotonic_ns() + (uint64_t)limit_ms * 1000000u;
    pid_t child;
    struct zpool_job job = zpool_parse(spec);   /* parsed here: sscanf is not for the child */

    if (pipe(fds) != 0)
        die("pipe");
    child = fork_child_or_die(&handle);
    if (child == 0) {
        close(fds[0]);                   /* fds[1] stays open until the end */
        zpool_job_signals();
        zpool_job_body(job);
        _exit(0);
    }
    close(fds[1]);
    *pid = (int)child;
    ready = zpool_wait_readable(fds[0], deadline);   /* readable: end-of-file, the child ended */
    if (ready <= 0)
        kill(child, SIGKILL);            /* overran its limit, or we are stopping */
    close(fds[0]);
    return zpool_outcome_of(zpool_reap(child, handle), ready == 0, code);
}
