/* mq_poll.c - on Linux a POSIX queue descriptor is a file descriptor: poll() waits on it with a pipe.
 *
 * Lesson: one process often waits for several sources at once.  On Linux an
 * mqd_t is a file descriptor, so poll() can watch a POSIX message queue and
 * a pipe together and wake for whichever has data (POSIX does not promise
 * this; other systems need mq_notify() or a thread).  The queue is opened
 * O_NONBLOCK, so a receive after a wakeup can never block.  One child sends
 * jobs to the queue by its name, another writes log lines to the pipe; the
 * parent creates the queue and unlinks it on every exit path.
 *
 * Run:  mq_poll
 *       mq_poll --count 10 --interval-ms 5
 *
 * You should see jobs and log lines interleaved as poll() reports each
 * descriptor readable, then the tally:
 *       poll: queue readable: "job 1" (priority 0)
 *       poll: pipe readable: "log 1"
 *       received 5 jobs from the queue and 5 lines from the pipe
 */
#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MSG_SIZE 64
#define TOTAL_MS_MAX 60000     /* count x interval-ms: about a minute at most */
static long count = 5, interval_ms = 20, timeout_ms = 1000;
static char name[IPC_NAME_SIZE];
static int log_pipe[2];

static void pause_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/* Child 0 sends jobs to the queue, child 1 writes lines to the pipe. */
static int child(int index, void *arg)
{
    (void)arg;
    close(log_pipe[0]);
    if (index == 0) {
        close(log_pipe[1]);        /* or the parent would not see end-of-file */
        mqd_t mq = mq_open(name, O_WRONLY);     /* by name, as any process could */
        if (mq == (mqd_t)-1)
            die("child: mq_open %s", name);
        for (long i = 1; i <= count; i++) {
            char job[MSG_SIZE];
            int len = snprintf(job, sizeof job, "job %ld", i);
            pause_ms(interval_ms);
            if (mq_send(mq, job, (size_t)len, 0) != 0)
                die("child: mq_send");
        }
        mq_close(mq);
    } else {
        pause_ms(interval_ms / 2);
        for (long i = 1; i <= count; i++) {
            char line[32];
            int len = snprintf(line, sizeof line, "log %ld\n", i);
            write_full_or_die(log_pipe[1], line, (size_t)len);
            pause_ms(interval_ms);
        }
        close(log_pipe[1]);
    }
    return 0;
}

static const struct cli_option options[] = {
    CLI_OPTION_LONG("count", &count, 1, 100000, "N", "jobs and log lines each child sends"),
    CLI_OPTION_LONG("interval-ms", &interval_ms, 0, 10000, "MS", "pause between two sends"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "longest poll() with nothing ready"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Waits with poll() on a POSIX message queue and a pipe at once,\n"
               "each fed by its own child (Linux: an mqd_t is a descriptor).",
    .options = options,
};

int main(int argc, char **argv)
{
    sigset_t saved;
    struct mq_attr attr = { .mq_maxmsg = 10, .mq_msgsize = MSG_SIZE };
    char pending[4096];
    size_t pending_len = 0;
    long jobs = 0, lines = 0;
    bool pipe_open = true;
    struct workers *workers;
    int failed, err;
    mqd_t mq;

    cli_parse(&cli, argc, argv);
    if (count * interval_ms > TOTAL_MS_MAX)
        usage_error("--count %ld x --interval-ms %ld is %ld s of sending; at most %d s", count,
                    interval_ms, count * interval_ms / 1000, TOTAL_MS_MAX / 1000);

    ipc_name_make_or_die(name, sizeof name, "poll");
    cleanup_block_signals(&saved);           /* create + register: no signal between */
    mq = mq_open(name, O_RDONLY | O_NONBLOCK | O_CREAT | O_EXCL, 0600, &attr);
    if (mq != (mqd_t)-1)
        cleanup_check(cleanup_add_posix_mq(name), name);
    cleanup_unblock_signals(&saved);
    if (mq == (mqd_t)-1)
        die("mq_open %s", name);
    if (pipe(log_pipe) != 0)
        die("pipe");

    err = workers_start(&workers, 2, child, NULL);
    if (err == 0)
        err = workers_go(workers);
    if (err != 0)
        die_errnum(err, "starting the children");
    close(log_pipe[1]);

    /* region: poll */
    while (jobs < count || pipe_open) {
        struct pollfd fds[2] = {
            { .fd = (int)mq, .events = POLLIN },      /* Linux: mqd_t is an fd */
            { .fd = pipe_open ? log_pipe[0] : -1, .events = POLLIN },
        };
        int ready = poll(fds, 2, (int)timeout_ms);

        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            die("poll");
        if (ready == 0)
            fatal("poll: nothing for %ld ms (%ld jobs, %ld lines so far)", timeout_ms, jobs, lines);

        if (fds[0].revents & POLLIN) {
            char job[MSG_SIZE + 1];
            unsigned prio;
            ssize_t got;

            while ((got = mq_receive(mq, job, MSG_SIZE, &prio)) >= 0) {
                job[got] = '\0';
                printf("poll: queue readable: \"%s\" (priority %u)\n", job, prio);
                jobs++;
            }
            if (errno != EAGAIN)       /* O_NONBLOCK: EAGAIN = queue drained */
                die("mq_receive");
        }
        if (fds[1].revents & (POLLIN | POLLHUP)) {
            ssize_t got = read(log_pipe[0], pending + pending_len, sizeof pending - pending_len);
            char *line, *end;

            if (got < 0 && errno != EINTR)
                die("read");
            if (got == 0) {
                pipe_open = false;    /* every writer closed its end */
                close(log_pipe[0]);
            }
            if (got > 0)
                pending_len += (size_t)got;
            /* Print the complete lines; keep a partial one for later. */
            for (line = pending; (end = memchr(line, '\n', pending_len - (size_t)(line - pending)));
                 line = end + 1) {
                printf("poll: pipe readable: \"%.*s\"\n", (int)(end - line), line);
                lines++;
            }
            pending_len -= (size_t)(line - pending);
            memmove(pending, line, pending_len);
        }
    }
    /* end region: poll */

    err = workers_wait(workers, &failed);
    if (err != 0)
        die_errnum(err, "waiting for the children");
    workers_free(workers);
    mq_close(mq);
    printf("received %ld jobs from the queue and %ld lines from the pipe\n", jobs, lines);
    return failed == 0 ? 0 : 1;       /* exit unlinks the queue (cleanup.h) */
}
