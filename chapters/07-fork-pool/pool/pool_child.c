/* pool_child.c - what runs in a worker process of the pool (pool.h).
 *
 * A fork-per-job child runs the one job it inherited and sends its result;
 * a prefork worker reads job frames until the parent closes its socket.
 * Both end with _exit, not exit: a worker is a copy of a program that goes
 * on after it, so the parent's atexit handlers and stdio buffers are not
 * its to run or flush.  (workers.c's children are different: their body
 * is all they do, so they exit() to flush what they printed.)  A job that
 * execs and fails should _exit(127) for the same reason.
 */
#include "pool_impl.h"

#include "frame.h"
#include "io.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int channel = -1;                 /* pool_channel() */

int pool_channel(void)
{
    return channel;
}

/* region: child */
size_t run_job(pool_job_fn fn, const void *arg, size_t arg_len, unsigned char *out)
{
    size_t n = fn(arg, arg_len, out + ID_BYTES, POOL_OUTPUT_MAX);

    if (n > POOL_OUTPUT_MAX)
        abort();                 /* the job broke its contract */
    return ID_BYTES + n;
}

/* Fork-per-job: run the inherited job, send its result, exit. */
static _Noreturn void run_one_and_exit(struct pool *p, int fd, const struct job *job)
{
    size_t len = run_job(job->fn, job->arg, job->arg_len, p->rx);

    put_u64(p->rx, job->id);
    _exit(frame_send(fd, p->rx, len) == FRAME_OK ? 0 : 1);
}

/* Prefork: take jobs until the parent closes the socket.  Each result
 * goes out as one frame in frame.h's format, written in one write():
 * frame_send() writes the length and the payload separately, and the
 * parent, woken by the length alone, would then wait for the payload.  For
 * thousands of small results a second that costs: one write gave 15-40 %
 * more jobs per second in pool_bench. */
static _Noreturn void serve_jobs(struct pool *p, int fd)
{
    for (;;) {
        size_t len;
        pool_job_fn fn;
        enum frame_result got = frame_recv(fd, p->tx, JOB_FRAME_MAX, &len);

        if (got == FRAME_EOF)
            _exit(0);
        if (got != FRAME_OK || len < JOB_HEADER)
            _exit(2);            /* the parent is gone or broken */
        memcpy(&fn, p->tx + ID_BYTES, sizeof fn);
        size_t out = run_job(fn, p->tx + JOB_HEADER, len - JOB_HEADER, p->rx + 4);
        memcpy(p->rx + 4, p->tx, ID_BYTES);      /* the job's id */
        p->rx[0] = (unsigned char)(out >> 24);
        p->rx[1] = (unsigned char)(out >> 16);
        p->rx[2] = (unsigned char)(out >> 8);
        p->rx[3] = (unsigned char)out;
        if (write_full(fd, p->rx, 4 + out) < 0)
            _exit(1);
    }
}
/* end region: child */

/* The child's side of spawn(): shed the parent's machinery, call the hook,
 * then serve. */
void run_worker(struct pool *p, int fd, const struct job *job)
{
    registry_close_in_child();
    channel = fd;
    if (p->opt.after_fork != NULL)
        p->opt.after_fork(0, p->opt.hook_data);
    if (job != NULL)
        run_one_and_exit(p, fd, job);
    serve_jobs(p, fd);
}
