/* pool_io.c - frames between the pool and its workers (pool.h): handing
 * queued jobs to workers, and reading the results they send back.
 */
#include "pool_impl.h"

#include "clock.h"
#include "die.h"
#include "frame.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

bool readable_now(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR));
}

/* region: send */
/* Sends the jobs assigned to w since the last send, all in one send():
 * frames in frame.h's format (a 4-byte big-endian length, then the
 * payload), which the worker reads with frame_recv().  frame_send() would
 * make two write() calls per frame, and a write() to a worker that died
 * raises SIGPIPE, which kills the caller; send() with MSG_NOSIGNAL returns
 * EPIPE instead. */
static void send_jobs(struct pool *p, struct worker *w)
{
    struct job *job = w->inflight.head;
    size_t len = 0, sent = 0;

    for (size_t skip = w->inflight.n - w->unsent; skip > 0; skip--)
        job = job->next;
    for (; job != NULL; job = job->next) {
        size_t payload = JOB_HEADER + job->arg_len;
        unsigned char *f = p->tx + len;
        f[0] = (unsigned char)(payload >> 24);
        f[1] = (unsigned char)(payload >> 16);
        f[2] = (unsigned char)(payload >> 8);
        f[3] = (unsigned char)payload;
        put_u64(f + 4, job->id);
        memcpy(f + 4 + ID_BYTES, &job->fn, sizeof job->fn);
        memcpy(f + 4 + JOB_HEADER, job->arg, job->arg_len);
        len += 4 + payload;
    }
    w->unsent = 0;
    while (sent < len) {
        ssize_t n = send(w->fd, p->tx + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            /* It died or is dying.  The jobs stay with it: the oldest takes
             * its death as its result, the rest go back to the queue. */
            if (w->state == W_TAKING)
                worker_enter(w, W_DRAINING);
            return;
        }
        sent += (size_t)n;
    }
}
/* end region: send */

static struct worker *least_loaded(struct pool *p)
{
    struct worker *best = NULL;

    for (int i = 0; i < p->opt.workers; i++) {
        struct worker *w = &p->w[i];
        if (w->state != W_TAKING || w->inflight.n >= (size_t)p->opt.prefetch)
            continue;
        if (best == NULL || w->inflight.n < best->inflight.n)
            best = w;
    }
    return best;
}

/* Hands queued jobs to workers, forking as the mode needs. */
void dispatch(struct pool *p)
{
    bool may_fork = true;

    if (p->opt.mode == POOL_FORK) {
        while (p->pending.n > 0 && p->live < p->opt.workers) {
            struct job *job = jobq_pop(&p->pending);
            int err = spawn(p, job);
            if (err != 0) {
                jobq_prepend(&p->pending, &(struct jobq){ job, job, 1 });
                p->spawn_error = err;
                return;
            }
            p->spawn_error = 0;
        }
        return;
    }
    /* One job at a time to the least loaded worker, so that work spreads
     * evenly; then one send() per worker for all it was given. */
    while (p->pending.n > 0) {
        struct worker *w = least_loaded(p);
        /* Fork another worker rather than queue behind a busy one. */
        if ((w == NULL || w->inflight.n > 0) && may_fork && p->live < p->opt.workers) {
            int err = spawn(p, NULL);
            if (err == 0) {
                p->spawn_error = 0;
                continue;
            }
            p->spawn_error = err;
            may_fork = false;
        }
        if (w == NULL)
            break;
        if (w->inflight.n == 0)
            w->started_ns = monotonic_ns();
        jobq_push(&w->inflight, jobq_pop(&p->pending));
        w->unsent++;
        p->running++;
    }
    for (int i = 0; i < p->opt.workers; i++)
        if (p->w[i].state != W_FREE && p->w[i].unsent > 0)
            send_jobs(p, &p->w[i]);
}

/* region: results */
/* Reads every result the worker has sent so far, without waiting for more.
 * Called only when poll() said the socket is readable.  One peek shows how
 * many bytes wait; frames are read until those are consumed.  The last may
 * be incomplete (frame_send() writes a frame in two pieces): frame_recv()
 * then waits for the rest, at most stall_ms.
 *
 * A worker that dies with jobs it never read in its socket resets the
 * connection: ECONNRESET before any byte of a frame is its death, and
 * inside a frame it means the frame was cut short. */
void read_results(struct pool *p, struct worker *w)
{
    for (;;) {
        ssize_t seen = recv(w->fd, p->peek, PEEK_MAX, MSG_PEEK);
        size_t left;

        if (seen < 0 && errno == EINTR)
            continue;
        if (seen == 0 || (seen < 0 && errno == ECONNRESET)) {
            worker_enter(w, W_DEAF);     /* it closed its end: exiting */
            return;
        }
        if (seen < 0) {
            bad_frame(p, w, "recv: %s", errno_name(errno));
            return;
        }
        for (left = (size_t)seen; left > 0;) {
            size_t len = 0;
            enum frame_result got = frame_recv(w->fd, p->rx, RESULT_FRAME_MAX, &len);
            struct job *job;
            uint64_t id;

            if (got == FRAME_IO_ERROR && errno == ECONNRESET) {
                bad_frame(p, w, "%s", frame_result_name(FRAME_TRUNCATED));
                return;
            }
            if (got == FRAME_IO_ERROR && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                bad_frame(p, w, "stalled inside a frame for %d ms", p->opt.stall_ms);
                return;
            }
            if (got == FRAME_IO_ERROR) {
                bad_frame(p, w, "read: %s", errno_name(errno));
                return;
            }
            if (got == FRAME_EOF) {          /* cannot happen: bytes were seen */
                worker_enter(w, W_DEAF);
                return;
            }
            if (got != FRAME_OK) {
                bad_frame(p, w, "%s", frame_result_name(got));
                return;
            }
            if (len < ID_BYTES) {
                bad_frame(p, w, "%zu bytes, shorter than a job id", len);
                return;
            }
            id = get_u64(p->rx);
            job = w->inflight.head;
            if (job == NULL || job->id != id) {
                bad_frame(p, w, "result for job %llu, expected %llu", (unsigned long long)id,
                          job ? (unsigned long long)job->id : 0ULL);
                return;
            }
            take_oldest(p, w);
            if (job->discard)
                free(job);
            else
                complete(p, job, w->pid, POOL_DONE, 0, len - ID_BYTES, "returned %zu bytes",
                         len - ID_BYTES);
            w->started_ns = monotonic_ns();  /* it starts the next one now */
            left -= left < 4 + len ? left : 4 + len;
        }
        if ((size_t)seen < PEEK_MAX)
            return;                      /* that was all there was */
    }
}
/* end region: results */
