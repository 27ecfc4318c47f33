/* pool_io.c - frames between the pool and its workers (pool.h): handing
 * queued jobs to workers, and reading the results they send back.
 */
#include "pool_impl.h"

#include "clock.h"
#include "die.h"
#include "frame.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
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
 * frames of up to `batch` job records each (frame.h's format: a 4-byte
 * big-endian length, then the payload), which the worker reads with
 * frame_recv().  A write() to a worker that died raises SIGPIPE, which
 * kills the caller; send() with MSG_NOSIGNAL returns EPIPE instead. */
static void send_jobs(struct pool *p, struct worker *w)
{
    struct job *job = w->inflight.head;
    size_t len = 0, sent = 0, frame = 0, in_frame = 0;

    for (size_t skip = w->inflight.n - w->unsent; skip > 0; skip--)
        job = job->next;
    for (; job != NULL; job = job->next) {
        if (in_frame == (size_t)p->opt.batch)
            in_frame = 0;
        if (in_frame++ == 0) {               /* a new frame: its length */
            frame = len;
            len += LEN_BYTES;
        }
        unsigned char *r = p->tx + len;
        put_u64(r, job->id);
        memcpy(r + ID_BYTES, &job->fn, sizeof job->fn);
        put_u32(r + ID_BYTES + sizeof job->fn, (uint32_t)job->arg_len);
        memcpy(r + JOB_HEADER, job->arg, job->arg_len);
        len += JOB_HEADER + job->arg_len;
        put_u32(p->tx + frame, (uint32_t)(len - frame - LEN_BYTES));
    }
    w->unsent = 0;
    while (sent < len) {
        ssize_t n = send(w->fd, p->tx + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            /* It died or is dying.  The jobs stay with it: the one it ran
             * takes its death as its result, the rest go back to the queue. */
            if (w->state == W_TAKING)
                worker_enter(w, W_DRAINING);
            return;
        }
        sent += (size_t)n;
    }
}
/* end region: send */

/* region: dispatch */
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

/* Hands queued jobs to workers, forking as the mode needs.  idle_only
 * (pool_submit): only to a worker that holds nothing; the others' jobs
 * wait for the loop, which sends them in batches. */
void dispatch(struct pool *p, bool idle_only)
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
    /* A batch at a time to the least loaded worker: as many jobs as its
     * share of the queue (jobs queued / workers), at least one, at most a
     * batch and what it has room for.  A lone job goes at once; a long
     * queue goes in full batches.  Then one send() per worker for all it
     * was given. */
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
        if (w == NULL || (idle_only && w->inflight.n > 0))
            break;
        size_t k = p->pending.n / (size_t)p->opt.workers;
        size_t room = (size_t)p->opt.prefetch - w->inflight.n;
        if (k < 1)
            k = 1;
        if (k > (size_t)p->opt.batch)
            k = (size_t)p->opt.batch;
        if (k > room)
            k = room;
        for (; k > 0 && p->pending.n > 0; k--) {
            jobq_push(&w->inflight, jobq_pop(&p->pending));
            w->unsent++;
            p->running++;
        }
    }
    for (int i = 0; i < p->opt.workers; i++)
        if (p->w[i].state != W_FREE && p->w[i].unsent > 0)
            send_jobs(p, &p->w[i]);
}

/* end region: dispatch */

/* region: results */
bool take_results(struct pool *p, struct worker *w, const unsigned char *rec, size_t len,
                  bool strict, char *why, size_t why_size)
{
    while (len > 0) {
        struct job *job = w->inflight.head;
        size_t out;
        uint64_t id;

        if (len < RESULT_HEADER) {
            snprintf(why, why_size, "%zu bytes, shorter than a result header", len);
            return false;
        }
        id = get_u64(rec);
        out = get_u32(rec + ID_BYTES);
        if (out > POOL_OUTPUT_MAX || out > len - RESULT_HEADER) {
            snprintf(why, why_size, "a result of %zu bytes in %zu", out, len - RESULT_HEADER);
            return false;
        }
        if (job != NULL && job->id == id) {
            take_oldest(p, w);
            if (job->discard)
                free(job);
            else
                complete(p, job, w->pid, POOL_DONE, 0, rec + RESULT_HEADER, out,
                         "returned %zu bytes", out);
        } else if (strict) {
            snprintf(why, why_size, "result for job %llu, expected %llu",
                     (unsigned long long)id, job ? (unsigned long long)job->id : 0ULL);
            return false;
        }
        rec += RESULT_HEADER + out;
        len -= RESULT_HEADER + out;
    }
    return true;
}

/* Reads every result frame the worker has sent so far, without waiting
 * for more.  Called only when poll() said the socket is readable.  One
 * recv() takes all that waits (up to a whole batch's frame), and every
 * complete frame in it is settled; usually that is all, one system call.
 * A frame cut in two (a large one, or frame_send()'s two writes) is
 * completed with a blocking recv(), which gives up after stall_ms.
 *
 * A worker that dies with jobs it never read in its socket resets the
 * connection: ECONNRESET before any byte of a frame is its death, and
 * inside a frame it means the frame was cut short. */
void read_results(struct pool *p, struct worker *w)
{
    size_t cap = LEN_BYTES + (size_t)p->opt.batch * RESULT_RECORD_MAX, have = 0;

    for (;;) {
        /* Nothing held back: take what is there.  Part of a frame: wait. */
        ssize_t n = recv(w->fd, p->rx + have, cap - have, have == 0 ? MSG_DONTWAIT : 0);
        size_t off = 0;
        char why[64];

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && have == 0)
            return;                          /* all read */
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            bad_frame(p, w, "stalled inside a frame for %d ms", p->opt.stall_ms);
            return;
        }
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            if (have > 0)
                bad_frame(p, w, "%s", frame_result_name(FRAME_TRUNCATED));
            else
                worker_enter(w, W_DEAF);     /* it closed its end: exiting */
            return;
        }
        if (n < 0) {
            bad_frame(p, w, "recv: %s", errno_name(errno));
            return;
        }
        have += (size_t)n;
        while (have - off >= LEN_BYTES) {
            size_t len = get_u32(p->rx + off);
            if (len > cap - LEN_BYTES) {
                bad_frame(p, w, "%s", frame_result_name(FRAME_TOO_BIG));
                return;
            }
            if (have - off - LEN_BYTES < len)
                break;                       /* the rest is on its way */
            if (!take_results(p, w, p->rx + off + LEN_BYTES, len, true, why, sizeof why)) {
                bad_frame(p, w, "%s", why);
                return;
            }
            off += LEN_BYTES + len;
        }
        memmove(p->rx, p->rx + off, have - off);
        have -= off;
        if (have == 0 && (size_t)n < cap)
            return;                          /* it all fitted: nothing more waits */
    }
}
/* end region: results */
