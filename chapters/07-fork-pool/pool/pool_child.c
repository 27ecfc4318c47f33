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

#include "clock.h"
#include "frame.h"
#include "io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int channel = -1;                 /* pool_channel() */

int pool_channel(void)
{
    return channel;
}

/* region: child */
size_t run_job(uint64_t id, pool_job_fn fn, const void *arg, size_t arg_len, unsigned char *rec)
{
    size_t n = fn(arg, arg_len, rec + RESULT_HEADER, POOL_OUTPUT_MAX);

    if (n > POOL_OUTPUT_MAX)
        abort();                 /* the job broke its contract */
    put_u64(rec, id);
    put_u32(rec + ID_BYTES, (uint32_t)n);
    return RESULT_HEADER + n;
}

/* Fork-per-job: run the inherited job, send its result, exit. */
static _Noreturn void run_one_and_exit(struct pool *p, int fd, const struct job *job)
{
    size_t len = run_job(job->id, job->fn, job->arg, job->arg_len, p->rx);

    _exit(frame_send(fd, p->rx, len) == FRAME_OK ? 0 : 1);
}

/* Prefork: take a batch of jobs (one frame), run them in order, send their
 * results back as one frame in one write(); until the parent closes the
 * socket.  The result frame is built in the progress slot the parent can
 * read, and the slot says which job runs since when: if a job kills the
 * worker, the parent knows which one it was and still has the results of
 * those that ran before it. */
static _Noreturn void serve_jobs(struct pool *p, int fd, struct progress *slot)
{
    size_t cap = (size_t)p->opt.prefetch * (LEN_BYTES + JOB_RECORD_MAX), have = 0;

    for (;;) {
        size_t len, off = LEN_BYTES, filled = 0;

        /* One read() takes what waits: often a whole frame, or more. */
        while (have < LEN_BYTES || have < LEN_BYTES + get_u32(p->tx)) {
            ssize_t n = read(fd, p->tx + have, cap - have);
            if (n < 0 && errno == EINTR)
                continue;
            if (n == 0 && have == 0)
                _exit(0);                /* the parent closed the socket */
            if (n <= 0 || (have + (size_t)n >= LEN_BYTES && get_u32(p->tx) > cap - LEN_BYTES))
                _exit(2);                /* the parent is gone or broken */
            have += (size_t)n;
        }
        len = LEN_BYTES + get_u32(p->tx);
        atomic_store(&slot->filled, 0);
        while (off < len) {
            const unsigned char *rec = p->tx + off;
            pool_job_fn fn;
            size_t arg_len;

            if (len - off < JOB_HEADER)
                _exit(2);
            memcpy(&fn, rec + ID_BYTES, sizeof fn);
            arg_len = get_u32(rec + ID_BYTES + sizeof fn);
            if (arg_len > len - off - JOB_HEADER)
                _exit(2);
            atomic_store(&slot->started_ns, monotonic_ns());
            atomic_store(&slot->current, get_u64(rec));
            atomic_store(&slot->busy, 1);
            filled += run_job(get_u64(rec), fn, rec + JOB_HEADER, arg_len,
                              slot->frame + LEN_BYTES + filled);
            atomic_store(&slot->filled, (uint32_t)filled);
            atomic_store(&slot->busy, 0);
            off += JOB_HEADER + arg_len;
        }
        put_u32(slot->frame, (uint32_t)filled);
        if (write_full(fd, slot->frame, LEN_BYTES + filled) < 0)
            _exit(1);
        memmove(p->tx, p->tx + len, have - len);     /* the next frame's start */
        have -= len;
    }
}
/* end region: child */

/* The child's side of spawn(): shed the parent's machinery, call the hook,
 * then serve. */
void run_worker(struct pool *p, int slot, int fd, const struct job *job)
{
    registry_close_in_child();
    channel = fd;
    if (p->opt.after_fork != NULL)
        p->opt.after_fork(0, p->opt.hook_data);
    if (job != NULL)
        run_one_and_exit(p, fd, job);
    serve_jobs(p, fd, p->w[slot].progress);
}
