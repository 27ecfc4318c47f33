/* small_pool.c - the whole idea of a process pool in one file: a child per job.
 *
 * Lesson: at most --workers children run at once and the other jobs wait
 * in a queue.  Each child gets its own socketpair and sends its result back
 * as one frame (a 4-byte length, then the bytes).  SIGCHLD only writes a
 * byte to a pipe; the loop polls that pipe with the sockets and calls
 * waitpid() for each child it knows, by pid.  A child that dies without
 * sending a result is reported with how it died.
 *
 * Run:  small_pool                         # 10 jobs, 3 at a time: about 0.5 s
 *       small_pool --crash 4               # job 4 crashes; the others finish
 *       small_pool --jobs 4 --max-ms 400 --wait-ms 100   # gets that time out
 *
 * You should see one line per job as it finishes (not in the order they
 * were submitted), the second half collected by get_all, then a summary:
 *       job 2 done: slept 112 ms (pid 4711)
 *       job 4 failed: killed by SIGSEGV, no result (pid 4713)
 *       result: jobs=10 ok=9 failed=1 forks=10 ms=530
 */
#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* region: types */
#define MAX_WORKERS 32
#define MAX_JOBS 1000
#define OUT_MAX 256                       /* bytes of result a job may send */

struct result { long job; pid_t pid; int ok; char text[OUT_MAX + 64]; };

struct worker {                           /* pid 0: a free slot */
    pid_t pid;
    int fd;                               /* our end of its socketpair, -1 once read */
    int cleanup;                          /* cleanup.h: a SIGTERM to us kills it */
    long job;
    int have_result;
    struct result r;
};

struct pool {
    size_t (*fn)(long arg, char *out, size_t cap);   /* every job runs fn(job number) */
    long queued_next, queued_end;         /* jobs not started: queued_next..end-1 */
    int max, running;
    struct worker w[MAX_WORKERS];
    struct result ready[MAX_JOBS];        /* finished, not yet taken by get */
    size_t ready_head, ready_tail;
    long forks;
};

static int wake[2];                       /* the SIGCHLD handler writes to wake[1] */
/* end region: types */

/* region: sigchld */
static void on_sigchld(int sig)
{
    int saved = errno;

    (void)sig;
    (void)!write(wake[1], "c", 1);        /* full pipe: a wake-up is pending anyway */
    errno = saved;
}
/* end region: sigchld */

/* region: start */
/* Forks a child for the next queued job.  The stop signals are blocked
 * from fork() to the registration: a SIGTERM in between would otherwise
 * run our cleanup before it knows this child, and leave it running. */
static void start_job(struct pool *p, struct worker *w)
{
    int sv[2];
    sigset_t saved;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("socketpair");
    fflush(NULL);                         /* or the child prints our buffer again */
    w->job = p->queued_next++;
    cleanup_block_signals(&saved);
    w->pid = fork();
    if (w->pid == 0) {                    /* the child: run the job, send, exit */
        char out[OUT_MAX];
        cleanup_unblock_signals(&saved);
        close(sv[0]);
        close(wake[0]);
        close(wake[1]);
        for (int i = 0; i < p->max; i++)  /* other children's sockets are not ours */
            if (p->w[i].pid != 0 && p->w[i].fd >= 0)
                close(p->w[i].fd);
        size_t n = p->fn(w->job, out, sizeof out);
        _exit(frame_send(sv[1], out, n) == FRAME_OK ? 0 : 1);   /* _exit: our stdio
                                             and atexit handlers are the parent's */
    }
    if (w->pid > 0)
        w->cleanup = cleanup_check(cleanup_add_child(w->pid), "a child");
    cleanup_unblock_signals(&saved);
    if (w->pid < 0)
        die("fork");
    close(sv[1]);
    w->fd = sv[0];
    w->have_result = 0;
    p->running++;
    p->forks++;
}
/* end region: start */

/* region: settle */
/* Reads the child's result frame.  Called when its socket is readable, or
 * once it is dead (then whatever it sent is all there). */
static void read_result(struct worker *w)
{
    char buf[OUT_MAX + 1];
    size_t len;

    if (frame_recv(w->fd, buf, OUT_MAX, &len) == FRAME_OK) {
        buf[len] = '\0';
        snprintf(w->r.text, sizeof w->r.text, "%s", buf);
        w->have_result = 1;
    }
    close(w->fd);
    w->fd = -1;
}

/* Reaps each child that has died, by pid: never waitpid(-1), which could
 * take a child that belongs to another part of the program. */
static void reap(struct pool *p)
{
    for (int i = 0; i < p->max; i++) {
        struct worker *w = &p->w[i];
        int status;

        if (w->pid == 0 || waitpid(w->pid, &status, WNOHANG) != w->pid)
            continue;
        cleanup_forget(w->cleanup);
        if (w->fd >= 0)
            read_result(w);
        w->r.job = w->job;
        w->r.pid = w->pid;
        w->r.ok = w->have_result && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!w->have_result) {
            char how[64];
            wait_status_describe(status, how, sizeof how);
            snprintf(w->r.text, sizeof w->r.text, "%s, no result", how);
        }
        p->ready[p->ready_tail++] = w->r;
        w->pid = 0;
        p->running--;
    }
}
/* end region: settle */

/* region: get */
/* Waits up to timeout_ms (-1: no limit) for the next finished job.  0 and
 * *r filled, ETIMEDOUT, or ENOENT: no job left to wait for. */
static int pool_get(struct pool *p, int timeout_ms, struct result *r)
{
    uint64_t until = monotonic_ns() + (uint64_t)timeout_ms * 1000000u;

    for (;;) {
        struct pollfd fds[MAX_WORKERS + 1] = { { .fd = wake[0], .events = POLLIN } };
        struct worker *who[MAX_WORKERS + 1];
        int n = 1, left = -1;

        for (int i = 0; i < p->max; i++)  /* a free slot takes the next job */
            if (p->w[i].pid == 0 && p->queued_next < p->queued_end)
                start_job(p, &p->w[i]);
        if (p->ready_head < p->ready_tail) {
            *r = p->ready[p->ready_head++];
            return 0;
        }
        if (p->running == 0)
            return ENOENT;
        if (timeout_ms >= 0) {
            uint64_t now = monotonic_ns();
            if (now >= until)
                return ETIMEDOUT;
            left = (int)((until - now + 999999u) / 1000000u);
        }
        for (int i = 0; i < p->max; i++)
            if (p->w[i].pid != 0 && p->w[i].fd >= 0) {
                fds[n] = (struct pollfd){ .fd = p->w[i].fd, .events = POLLIN };
                who[n++] = &p->w[i];
            }
        if (poll(fds, (nfds_t)n, left) < 0) {
            if (errno == EINTR)
                continue;                 /* SIGCHLD: its byte is in the pipe */
            die("poll");
        }
        for (int k = 1; k < n; k++)
            if (fds[k].revents != 0)
                read_result(who[k]);
        if (fds[0].revents != 0) {
            char drain[64];
            while (read(wake[0], drain, sizeof drain) > 0)
                ;
        }
        reap(p);                          /* a child that died before we knew it
                                             left its byte too: it is found now */
    }
}

/* Collects every result still to come, in the order jobs finish. */
static size_t pool_get_all(struct pool *p, struct result *all)
{
    size_t n = 0;

    while (pool_get(p, -1, &all[n]) == 0)
        n++;
    return n;
}
/* end region: get */

/* region: job */
static long jobs = 10, workers = 3, max_ms = 200, crash = 0, wait_ms = 1000;

/* Job n sleeps between max_ms/2 and max_ms (a spread fixed by n), or
 * crashes if it is the one --crash names. */
static size_t sleepy_job(long n, char *out, size_t cap)
{
    long ms = max_ms / 2 + (n * 7919) % (max_ms - max_ms / 2 + 1);
    struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };
    struct rlimit no_core = { 0, 0 };

    if (n == crash) {                     /* what a bad pointer ends in */
        setrlimit(RLIMIT_CORE, &no_core);
        signal(SIGSEGV, SIG_DFL);         /* the signal, not a sanitizer's report */
        raise(SIGSEGV);
    }
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return (size_t)snprintf(out, cap, "slept %ld ms", ms);
}
/* end region: job */

/* region: options */
static const struct cli_option options[] = {
    CLI_OPTION_LONG("jobs", &jobs, 1, MAX_JOBS, "N", "jobs to run"),
    CLI_OPTION_LONG("workers", &workers, 1, MAX_WORKERS, "N", "children at once"),
    CLI_OPTION_LONG("max-ms", &max_ms, 2, 2000, "MS", "job N sleeps MS/2 to MS"),
    CLI_OPTION_LONG("crash", &crash, 0, MAX_JOBS, "N", "job N crashes, 0: none"),
    CLI_OPTION_LONG("wait-ms", &wait_ms, 1, 10000, "MS", "how long one get waits"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Runs sleeping jobs, a child each, at most --workers at once, and\n"
               "prints each result as it arrives, then a summary line.",
    .options = options,
    .details = "Exit status: 0 if every job succeeded, 1 if any failed.",
};

static void print_result(const struct result *r, long *ok)
{
    printf("job %ld %s: %s (pid %ld)\n", r->job, r->ok ? "done" : "failed", r->text,
           (long)r->pid);
    *ok += r->ok;
}
/* end region: options */

/* region: main */
int main(int argc, char **argv)
{
    static struct pool pool;
    static struct result rest[MAX_JOBS];
    struct sigaction sa = { .sa_handler = on_sigchld };
    uint64_t start = monotonic_ns();
    long ok = 0, got = 0;
    struct result r;
    int err;

    cli_parse(&cli, argc, argv);
    if ((jobs + workers - 1) / workers * max_ms > 60000)
        usage_error("%ld jobs of up to %ld ms, %ld at a time, could take over a minute",
                    jobs, max_ms, workers);
    if (pipe(wake) != 0)
        die("pipe");
    fcntl(wake[0], F_SETFL, O_NONBLOCK);  /* the handler must never block, */
    fcntl(wake[1], F_SETFL, O_NONBLOCK);  /* nor the drain */
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &sa, NULL) != 0)
        die("sigaction");
    pool = (struct pool){ .fn = sleepy_job, .queued_next = 1, .queued_end = jobs + 1,
                          .max = (int)workers };
    printf("%ld jobs, at most %ld at a time, a child each, sleeps %ld-%ld ms\n", jobs,
           workers, max_ms / 2, max_ms);
    while (got < (jobs + 1) / 2) {        /* the first half: one get at a time */
        if ((err = pool_get(&pool, (int)wait_ms, &r)) == ETIMEDOUT) {
            printf("(no result for %ld ms: %ld queued, %d running)\n", wait_ms,
                   pool.queued_end - pool.queued_next, pool.running);
            continue;
        }
        if (err != 0)
            break;                        /* ENOENT: nothing left (cannot happen here) */
        print_result(&r, &ok);
        got++;
    }
    size_t n = pool_get_all(&pool, rest);  /* the rest: wait for all of them */
    printf("get_all: %zu more\n", n);
    for (size_t i = 0; i < n; i++)
        print_result(&rest[i], &ok);
    got += (long)n;
    printf("result: jobs=%ld ok=%ld failed=%ld forks=%ld ms=%.0f\n", jobs, ok, got - ok,
           pool.forks, ns_to_ms(monotonic_ns() - start));
    return ok == jobs ? 0 : 1;
}
/* end region: main */
