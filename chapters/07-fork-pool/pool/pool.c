/* pool.c - see pool.h.
 *
 * The parent's side is one loop (run_until, called by pool_get): hand
 * queued jobs to workers, poll every worker's socket and the SIGCHLD pipe,
 * read the results that arrived, reap the children that died, kill the
 * jobs past their time limit.  Nothing happens behind the caller's back:
 * the signal handler only writes one byte.
 *
 * Frames (lib/frame.h's format) both ways:
 *   job    (prefork, parent -> worker): id (8 bytes, big-endian), the job
 *          function's address (valid in the child: fork copied the image),
 *          the argument;
 *   result (worker -> parent): id (8 bytes), the job's output.
 * A fork-per-job child needs no job frame: it inherited the job, and it
 * sends its one result with frame_send().  Everything is read with
 * frame_recv().  On the busy prefork path frames are written whole, in one
 * call: several job frames in one send() (send_jobs), each result in one
 * write() (serve_jobs).
 */
#include "pool.h"

#include "cleanup.h"
#include "clock.h"
#include "die.h"
#include "frame.h"
#include "io.h"
#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ID_BYTES 8
#define JOB_HEADER (ID_BYTES + sizeof(pool_job_fn))
#define JOB_FRAME_MAX (JOB_HEADER + POOL_ARG_MAX)
#define RESULT_FRAME_MAX (ID_BYTES + POOL_OUTPUT_MAX)
#define MAX_POOLS 16
#define KILL_GRACE_MS 1000      /* pool_kill_all: then SIGKILL */
#define REAP_TICK_MS 100        /* look for dead children at least this often */
#define EXIT_TICK_MS 10         /* ... and this often while one is exiting */
#define PEEK_MAX 16384          /* bytes of results looked at in one peek */

struct job {
    struct job *next;
    uint64_t id;
    pool_job_fn fn;
    bool discard;               /* cancelled while a prefork worker held it */
    struct pool_result result;  /* filled when the job ends */
    size_t arg_len;
    unsigned char arg[];
};

struct jobq {
    struct job *head, *tail;
    size_t n;
};

struct worker {
    pid_t pid;                  /* 0: the slot is free */
    int fd;                     /* the parent's end of the socketpair */
    int cleanup;                /* cleanup.h handle: a signal kills it too */
    bool reading;               /* false after EOF, or once the stream is
                                   out of step: nothing more is read */
    bool usable;                /* may be given jobs */
    bool killed;                /* the pool killed it: its death is not the
                                   fault of the job it holds, unless... */
    uint64_t doomed;            /* ... that job is the one pool_kill aimed at */
    bool cancel_rest;           /* pool_kill_all: held jobs are cancelled */
    size_t unsent;              /* the newest jobs held, not yet sent */
    bool sigkilled;
    bool exited;
    int status;
    struct jobq inflight;       /* oldest (the running one) first */
    uint64_t started_ns;        /* when the oldest started, as far as the
                                   parent can tell */
};

struct pool {
    struct pool_options opt;
    struct worker *w;
    int live;                   /* slots in use */
    struct jobq pending, ready;
    size_t running;             /* jobs in workers' inflight, not discarded */
    size_t done;
    uint64_t next_id, forks;
    int wake[2];                /* the SIGCHLD handler writes to wake[1] */
    int slot;                   /* in the registry below */
    int spawn_error;            /* the last fork or socketpair failure */
    struct pollfd *pfd;
    struct worker **pfd_worker;
    unsigned char *tx, *rx, *peek;
};

/* --- the SIGCHLD path --------------------------------------------------- */

/* Pools alive in this process, so the handler can wake each one and a new
 * child can close every descriptor that belongs to the parent. */
static struct pool *pools[MAX_POOLS];
static volatile sig_atomic_t wake_fd[MAX_POOLS];   /* write end + 1; 0: none */
static int pools_alive;
static struct sigaction chld_before;
static int channel = -1;                           /* pool_channel() */

/* region: sigchld */
static void on_sigchld(int sig, siginfo_t *info, void *context)
{
    int saved = errno;

    for (int i = 0; i < MAX_POOLS; i++) {
        int fd = wake_fd[i] - 1;
        if (fd >= 0) {
            /* Non-blocking: a full pipe already says "look". */
            ssize_t rc = write(fd, "c", 1);
            (void)rc;
        }
    }
    if (chld_before.sa_flags & SA_SIGINFO) {
        if (chld_before.sa_sigaction != NULL)
            chld_before.sa_sigaction(sig, info, context);
    } else if (chld_before.sa_handler != SIG_DFL && chld_before.sa_handler != SIG_IGN) {
        chld_before.sa_handler(sig);
    }
    errno = saved;
}
/* end region: sigchld */

static void block_sigchld(sigset_t *old)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

static int registry_add(struct pool *p)
{
    sigset_t old;
    int err = 0;

    block_sigchld(&old);
    p->slot = -1;
    for (int i = 0; i < MAX_POOLS && p->slot < 0; i++)
        if (pools[i] == NULL)
            p->slot = i;
    if (p->slot < 0) {
        err = ENOSPC;
    } else if (pools_alive == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_sigchld;
        sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGCHLD, &sa, &chld_before) != 0)
            err = errno;
    }
    if (err == 0) {
        pools[p->slot] = p;
        wake_fd[p->slot] = p->wake[1] + 1;
        pools_alive++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}

static void registry_remove(struct pool *p)
{
    sigset_t old;

    block_sigchld(&old);
    wake_fd[p->slot] = 0;
    pools[p->slot] = NULL;
    if (--pools_alive == 0)
        sigaction(SIGCHLD, &chld_before, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* --- small helpers ---------------------------------------------------- */

static void put_u64(unsigned char *b, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char)v;
}

static uint64_t get_u64(const unsigned char *b)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static void jobq_push(struct jobq *q, struct job *job)
{
    job->next = NULL;
    if (q->tail != NULL)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    q->n++;
}

static struct job *jobq_pop(struct jobq *q)
{
    struct job *job = q->head;

    if (job != NULL) {
        q->head = job->next;
        if (q->head == NULL)
            q->tail = NULL;
        q->n--;
        job->next = NULL;
    }
    return job;
}

/* Moves every job of from to the front of to, keeping their order. */
static void jobq_prepend(struct jobq *to, struct jobq *from)
{
    if (from->head == NULL)
        return;
    from->tail->next = to->head;
    if (to->tail == NULL)
        to->tail = from->tail;
    to->head = from->head;
    to->n += from->n;
    *from = (struct jobq){ NULL, NULL, 0 };
}

static struct job *jobq_remove(struct jobq *q, uint64_t id)
{
    struct job **link = &q->head, *prev = NULL;

    for (; *link != NULL; prev = *link, link = &(*link)->next) {
        struct job *job = *link;
        if (job->id != id)
            continue;
        *link = job->next;
        if (q->tail == job)
            q->tail = prev;
        q->n--;
        job->next = NULL;
        return job;
    }
    return NULL;
}

static bool readable_now(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR));
}

static void set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);

    if (flags >= 0)
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

/* --- results ---------------------------------------------------------- */

const char *pool_outcome_name(enum pool_outcome outcome)
{
    switch (outcome) {
    case POOL_DONE:      return "done";
    case POOL_EXITED:    return "exited";
    case POOL_KILLED:    return "killed";
    case POOL_TIMED_OUT: return "timed out";
    case POOL_BAD_FRAME: return "bad frame";
    case POOL_CANCELLED: return "cancelled";
    }
    return "unknown";
}

void pool_result_free(struct pool_result *result)
{
    free(result->output);
    result->output = NULL;
    result->len = 0;
}

void pool_results_free(struct pool_result *results, size_t count)
{
    for (size_t i = 0; i < count; i++)
        pool_result_free(&results[i]);
}

/* Fills the job's result and moves it to the ready queue. */
__attribute__((format(printf, 7, 8)))
static void complete(struct pool *p, struct job *job, pid_t pid, enum pool_outcome outcome,
                     int code, size_t len, const char *fmt, ...)
{
    struct pool_result *r = &job->result;
    va_list ap;

    r->id = job->id;
    r->outcome = outcome;
    r->code = code;
    r->pid = pid;
    r->len = 0;
    r->output = NULL;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
    if (outcome == POOL_DONE) {
        r->output = malloc(len + 1);
        if (r->output == NULL)
            fatal("pool: out of memory for a job's output");
        memcpy(r->output, p->rx + ID_BYTES, len);
        r->output[len] = '\0';
        r->len = len;
    }
    jobq_push(&p->ready, job);
    p->done++;
}

/* Takes the oldest job a worker holds; NULL if none.  A discarded job was
 * counted out already. */
static struct job *take_oldest(struct pool *p, struct worker *w)
{
    struct job *job = jobq_pop(&w->inflight);

    if (job != NULL && !job->discard)
        p->running--;
    return job;
}

/* --- the worker's side ------------------------------------------------ */

/* The parent's machinery is not the child's: close every descriptor of
 * every pool except our own channel, and give SIGCHLD back as it was
 * before the first pool. */
static void become_worker(struct pool *p, int fd)
{
    for (int i = 0; i < MAX_POOLS; i++) {
        struct pool *q = pools[i];
        if (q == NULL)
            continue;
        close(q->wake[0]);
        close(q->wake[1]);
        for (int k = 0; k < q->opt.workers; k++)
            if (q->w[k].pid != 0 && q->w[k].fd >= 0)
                close(q->w[k].fd);
    }
    sigaction(SIGCHLD, &chld_before, NULL);
    channel = fd;
    if (p->opt.after_fork != NULL)
        p->opt.after_fork(0, p->opt.hook_data);
}

/* region: child */
static size_t run_job(pool_job_fn fn, const void *arg, size_t arg_len, unsigned char *out)
{
    size_t n = fn(arg, arg_len, out + ID_BYTES, POOL_OUTPUT_MAX);

    if (n > POOL_OUTPUT_MAX)
        abort();                 /* the job broke its contract */
    return ID_BYTES + n;
}

/* Fork-per-job: run the inherited job, send its result, exit.  _exit, not
 * exit: a pool worker is a copy of a program that goes on after it, so the
 * parent's atexit handlers and stdio buffers are not ours to run or flush.
 * (workers.c's children are different: their body is all they do, so they
 * exit() to flush what they printed.)  A job that execs and fails should
 * _exit(127) for the same reason. */
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

int pool_channel(void)
{
    return channel;
}

/* --- the parent's side ------------------------------------------------ */

/* region: spawn */
/* Forks a worker into a free slot: for `job` alone (fork-per-job), or to
 * serve jobs (job == NULL, prefork).  Returns 0 or an errno value. */
static int spawn(struct pool *p, struct job *job)
{
    struct timeval stall = { p->opt.stall_ms / 1000, (p->opt.stall_ms % 1000) * 1000 };
    struct worker *w = NULL;
    int sv[2], handle;
    pid_t pid;

    for (int i = 0; i < p->opt.workers && w == NULL; i++)
        if (p->w[i].pid == 0)
            w = &p->w[i];
    if (w == NULL)
        return EAGAIN;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return errno;
    set_cloexec(sv[0]);          /* a job that execs keeps neither end */
    set_cloexec(sv[1]);
    /* A read of a frame that stalls half-way fails after stall_ms with
     * EAGAIN, instead of hanging the whole pool on one broken worker. */
    if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &stall, sizeof stall) != 0) {
        int err = errno;
        close(sv[0]);
        close(sv[1]);
        return err;
    }
    /* fork_child() (workers.h) flushes stdio (or a child calling exit()
     * would print it again) and registers the child with cleanup.h with
     * the stop signals blocked, so a SIGTERM to us cannot land between
     * the fork and the registration and leave this child running. */
    pid = fork_child(&handle);
    if (pid < 0) {
        int err = errno;
        close(sv[0]);
        close(sv[1]);
        return err;
    }
    if (pid == 0) {
        close(sv[0]);
        become_worker(p, sv[1]);
        if (job != NULL)
            run_one_and_exit(p, sv[1], job);
        serve_jobs(p, sv[1]);
    }
    close(sv[1]);
    p->forks++;
    if (p->opt.after_fork != NULL)
        p->opt.after_fork(pid, p->opt.hook_data);
    /* Only now does the pool know the child.  If it died already, it is a
     * zombie waiting for our waitpid(), and its SIGCHLD left a byte in the
     * pipe: the loop will look. */
    memset(w, 0, sizeof *w);
    w->pid = pid;
    w->fd = sv[0];
    w->cleanup = handle;
    w->reading = true;
    w->usable = true;
    p->live++;
    if (job != NULL) {
        jobq_push(&w->inflight, job);
        p->running++;
        w->started_ns = monotonic_ns();
    }
    return 0;
}
/* end region: spawn */

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
            w->usable = false;
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
        if (w->pid == 0 || !w->usable || w->exited || w->inflight.n >= (size_t)p->opt.prefetch)
            continue;
        if (best == NULL || w->inflight.n < best->inflight.n)
            best = w;
    }
    return best;
}

/* Hands queued jobs to workers, forking as the mode needs. */
static void dispatch(struct pool *p)
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
        if (p->w[i].pid != 0 && p->w[i].unsent > 0)
            send_jobs(p, &p->w[i]);
}

/* Stops trusting a worker's stream: blames the job it was running, kills
 * it; whatever else it held goes back to the queue when it is reaped. */
__attribute__((format(printf, 3, 4)))
static void bad_frame(struct pool *p, struct worker *w, const char *fmt, ...)
{
    struct job *job = take_oldest(p, w);
    char what[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    w->reading = false;
    w->usable = false;
    w->killed = true;
    w->doomed = 0;
    if (!w->exited && !w->sigkilled) {   /* never signal a reaped pid */
        kill(w->pid, SIGKILL);
        w->sigkilled = true;
    }
    if (job != NULL && job->discard)
        free(job);
    else if (job != NULL)
        complete(p, job, w->pid, POOL_BAD_FRAME, 0, 0, "sent a malformed frame: %s", what);
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
static void read_results(struct pool *p, struct worker *w)
{
    while (w->reading) {
        ssize_t seen = recv(w->fd, p->peek, PEEK_MAX, MSG_PEEK);
        size_t left;

        if (seen < 0 && errno == EINTR)
            continue;
        if (seen == 0 || (seen < 0 && errno == ECONNRESET)) {
            w->reading = false;          /* it closed its end: exiting */
            return;
        }
        if (seen < 0) {
            bad_frame(p, w, "recv: %s", errno_name(errno));
            return;
        }
        for (left = (size_t)seen; left > 0 && w->reading;) {
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
                w->reading = false;
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

/* The worker is reaped: read what it sent before dying, then settle every
 * job it held.  The oldest takes the death as its result, unless the pool
 * killed the worker for another reason; jobs it had not started go back to
 * the front of the queue (or are cancelled by pool_kill_all). */
static void finish_worker(struct pool *p, struct worker *w)
{
    struct jobq again = { NULL, NULL, 0 };
    struct job *job;
    bool oldest = true;

    if (w->reading && readable_now(w->fd))
        read_results(p, w);
    while ((job = w->inflight.head) != NULL) {
        bool was_discarded = job->discard;
        take_oldest(p, w);
        if (was_discarded) {
            free(job);
        } else if (oldest && (!w->killed || job->id == w->doomed)) {
            char how[64];
            if (w->status == -1) {
                complete(p, job, w->pid, POOL_EXITED, -1, 0,
                         "reaped by someone else: status unknown");
            } else if (WIFSIGNALED(w->status)) {
                wait_status_describe(w->status, how, sizeof how);
                complete(p, job, w->pid, POOL_KILLED, WTERMSIG(w->status), 0, "%s", how);
            } else {
                wait_status_describe(w->status, how, sizeof how);
                complete(p, job, w->pid, POOL_EXITED, WEXITSTATUS(w->status), 0,
                         "%s without a result", how);
            }
        } else if (w->cancel_rest) {
            complete(p, job, 0, POOL_CANCELLED, 0, 0, "cancelled before it started");
        } else {
            jobq_push(&again, job);
        }
        oldest = false;
    }
    jobq_prepend(&p->pending, &again);
    close(w->fd);
    cleanup_forget(w->cleanup);
    memset(w, 0, sizeof *w);
    w->fd = -1;
    p->live--;
}

/* region: reap */
/* waitpid() for each child the pool knows, never waitpid(-1): other
 * children of the program are not ours to reap. */
static void reap(struct pool *p)
{
    for (int i = 0; i < p->opt.workers; i++) {
        struct worker *w = &p->w[i];
        pid_t got;
        int status;

        if (w->pid == 0 || w->exited)
            continue;
        got = waitpid(w->pid, &status, WNOHANG);
        if (got == w->pid) {
            w->exited = true;
            w->status = status;
        } else if (got < 0 && errno == ECHILD) {
            w->exited = true;            /* someone's waitpid(-1) took it */
            w->status = -1;
        }
        if (w->exited)
            finish_worker(p, w);
    }
}
/* end region: reap */

static void drain_wake(struct pool *p)
{
    char buf[64];

    while (read(p->wake[0], buf, sizeof buf) > 0)
        ;
}

/* Kills the workers whose oldest job ran past the time limit, and the
 * killed workers that hold nothing any more. */
static void enforce_limits(struct pool *p)
{
    uint64_t limit = (uint64_t)p->opt.time_limit_ms * 1000000u;

    for (int i = 0; i < p->opt.workers; i++) {
        struct worker *w = &p->w[i];
        if (w->pid == 0 || w->exited)
            continue;
        if (limit > 0 && !w->killed && w->inflight.head != NULL &&
            monotonic_ns() - w->started_ns >= limit) {
            if (w->reading && readable_now(w->fd))
                read_results(p, w);      /* it may have just finished */
            if (!w->killed && w->inflight.head != NULL &&
                monotonic_ns() - w->started_ns >= limit) {
                struct job *job = take_oldest(p, w);
                w->killed = true;
                w->usable = false;
                w->reading = false;      /* a late result is not read */
                w->doomed = 0;
                kill(w->pid, SIGKILL);
                w->sigkilled = true;
                if (job->discard)
                    free(job);
                else
                    complete(p, job, w->pid, POOL_TIMED_OUT, 0, 0,
                             "ran past its %d ms time limit and was killed",
                             p->opt.time_limit_ms);
            }
        }
        if (w->killed && !w->sigkilled && w->inflight.head == NULL) {
            kill(w->pid, SIGKILL);       /* it survived pool_kill's signal */
            w->sigkilled = true;
        }
    }
}

/* Milliseconds to wait from now until `until` (UINT64_MAX: no limit),
 * shortened to the nearest job deadline and to a reaping tick: SIGCHLD
 * should wake us, but the caller may have blocked it. */
static int wait_ms(struct pool *p, uint64_t now, uint64_t until)
{
    uint64_t limit = (uint64_t)p->opt.time_limit_ms * 1000000u;
    uint64_t tick = UINT64_MAX;

    for (int i = 0; i < p->opt.workers; i++) {
        struct worker *w = &p->w[i];
        uint64_t t;
        if (w->pid == 0 || w->exited)
            continue;
        if (limit > 0 && !w->killed && w->inflight.head != NULL &&
            w->started_ns + limit < until)
            until = w->started_ns + limit;
        t = !w->reading || w->killed ? EXIT_TICK_MS : REAP_TICK_MS;
        if (t < tick)
            tick = t;
    }
    if (tick != UINT64_MAX && now + tick * 1000000u < until)
        until = now + tick * 1000000u;
    if (until == UINT64_MAX)
        return -1;
    if (until <= now)
        return 0;
    uint64_t ms = (until - now + 999999u) / 1000000u;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

static bool nothing_left(const struct pool *p)
{
    if (p->pending.n > 0 || p->running > 0)
        return false;
    /* A fork-per-job child that sent its result is about to exit: wait for
     * it, so that no zombie outlives the last result. */
    return p->opt.mode != POOL_FORK || p->live == 0;
}

/* region: loop */
/* The pool's loop: runs until a result is ready (0), nothing is left to
 * wait for (ENOENT), `until` passes (ETIMEDOUT), or forking fails with no
 * worker alive to make progress. */
static int run_until(struct pool *p, uint64_t until)
{
    for (bool first = true;; first = false) {
        uint64_t now;
        int n = 1, ms;
        bool look = false;

        dispatch(p);
        if (p->ready.n > 0)
            return 0;
        if (nothing_left(p))
            return ENOENT;
        if (p->spawn_error != 0 && p->live == 0) {
            int err = p->spawn_error;
            p->spawn_error = 0;
            return err;
        }
        now = monotonic_ns();
        if (!first && now >= until)
            /* No job left, only children still exiting: that is no reason
             * to report a timeout. */
            return p->pending.n == 0 && p->running == 0 ? ENOENT : ETIMEDOUT;
        ms = wait_ms(p, now, until);

        p->pfd[0] = (struct pollfd){ .fd = p->wake[0], .events = POLLIN };
        for (int i = 0; i < p->opt.workers; i++) {
            struct worker *w = &p->w[i];
            if (w->pid != 0 && w->reading) {
                p->pfd[n] = (struct pollfd){ .fd = w->fd, .events = POLLIN };
                p->pfd_worker[n++] = w;
            }
        }
        int ready = poll(p->pfd, (nfds_t)n, ms);
        if (ready < 0 && errno != EINTR)
            return errno;
        if (ready <= 0) {
            look = true;                 /* a tick: look for the dead anyway */
        } else {
            if (p->pfd[0].revents & POLLIN) {
                drain_wake(p);
                look = true;
            }
            for (int i = 1; i < n; i++) {
                struct worker *w = p->pfd_worker[i];
                if (p->pfd[i].revents == 0)
                    continue;
                read_results(p, w);
                if (!w->reading)
                    look = true;         /* EOF or killed: it is dying */
            }
        }
        if (look)
            reap(p);
        enforce_limits(p);
    }
}
/* end region: loop */

static uint64_t deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? UINT64_MAX : monotonic_ns() + (uint64_t)timeout_ms * 1000000u;
}

/* --- the API ---------------------------------------------------------- */

int pool_create(struct pool **out, const struct pool_options *options)
{
    struct pool *p;
    int err;

    if (options == NULL || options->workers < 1 || options->workers > POOL_WORKERS_MAX ||
        options->mode < POOL_FORK || options->mode > POOL_SYNC ||
        options->time_limit_ms < 0 || options->prefetch < 0 || options->prefetch > 16 ||
        options->stall_ms < 0)
        return EINVAL;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return ENOMEM;
    p->opt = *options;
    if (p->opt.prefetch == 0)
        p->opt.prefetch = 2;
    if (p->opt.mode == POOL_FORK)
        p->opt.prefetch = 1;
    if (p->opt.stall_ms == 0)
        p->opt.stall_ms = 1000;
    p->next_id = 1;
    p->w = calloc((size_t)p->opt.workers, sizeof *p->w);
    p->pfd = calloc((size_t)p->opt.workers + 1, sizeof *p->pfd);
    p->pfd_worker = calloc((size_t)p->opt.workers + 1, sizeof *p->pfd_worker);
    /* Room for a whole batch of job frames, each with its length. */
    p->tx = malloc((size_t)p->opt.prefetch * (4 + JOB_FRAME_MAX));
    p->rx = malloc(4 + RESULT_FRAME_MAX);
    p->peek = malloc(PEEK_MAX);
    if (p->w == NULL || p->pfd == NULL || p->pfd_worker == NULL || p->tx == NULL ||
        p->rx == NULL || p->peek == NULL) {
        err = ENOMEM;
        goto fail;
    }
    for (int i = 0; i < p->opt.workers; i++)
        p->w[i].fd = -1;
    if (pipe(p->wake) != 0) {
        err = errno;
        goto fail;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(p->wake[i], F_SETFL, fcntl(p->wake[i], F_GETFL) | O_NONBLOCK);
        set_cloexec(p->wake[i]);
    }
    err = registry_add(p);
    if (err != 0) {
        close(p->wake[0]);
        close(p->wake[1]);
        goto fail;
    }
    *out = p;
    return 0;
fail:
    free(p->w);
    free(p->pfd);
    free(p->pfd_worker);
    free(p->tx);
    free(p->rx);
    free(p->peek);
    free(p);
    return err;
}

static void free_queue(struct jobq *q)
{
    struct job *job;

    while ((job = jobq_pop(q)) != NULL) {
        pool_result_free(&job->result);
        free(job);
    }
}

void pool_destroy(struct pool *p)
{
    if (p == NULL)
        return;
    if (p->live > 0)
        pool_kill_all(p, SIGKILL);
    free_queue(&p->pending);
    free_queue(&p->ready);
    registry_remove(p);
    close(p->wake[0]);
    close(p->wake[1]);
    free(p->w);
    free(p->pfd);
    free(p->pfd_worker);
    free(p->tx);
    free(p->rx);
    free(p->peek);
    free(p);
}

int pool_submit(struct pool *p, pool_job_fn fn, const void *arg, size_t arg_len, uint64_t *id)
{
    struct job *job;

    if (fn == NULL || arg_len > POOL_ARG_MAX || (arg == NULL && arg_len > 0))
        return EINVAL;
    job = calloc(1, sizeof *job + arg_len);
    if (job == NULL)
        return ENOMEM;
    job->id = p->next_id++;
    job->fn = fn;
    job->arg_len = arg_len;
    if (arg_len > 0)
        memcpy(job->arg, arg, arg_len);
    if (id != NULL)
        *id = job->id;
    if (p->opt.mode == POOL_SYNC) {
        /* The job runs in the caller: a crash here is the caller's crash. */
        size_t len = run_job(fn, job->arg, arg_len, p->rx);
        complete(p, job, getpid(), POOL_DONE, 0, len - ID_BYTES, "returned %zu bytes",
                 len - ID_BYTES);
        return 0;
    }
    jobq_push(&p->pending, job);
    dispatch(p);
    return 0;
}

int pool_get(struct pool *p, int timeout_ms, struct pool_result *result)
{
    struct job *job;
    int err = 0;

    if (p->ready.n == 0)
        err = run_until(p, deadline_after(timeout_ms));
    if (p->ready.n == 0)
        return err != 0 ? err : ENOENT;
    job = jobq_pop(&p->ready);
    *result = job->result;
    free(job);
    return 0;
}

/* pool_get() until nothing is left or the time is up.  tpool.c has the
 * same dozen lines on its own pool: sharing them would take an exported
 * callback type, more to read than the loop itself. */
int pool_get_all(struct pool *p, int timeout_ms, struct pool_result **results, size_t *count)
{
    uint64_t until = deadline_after(timeout_ms);
    size_t n = 0, cap = 0;
    struct pool_result *all = NULL;
    int err;

    for (;;) {
        uint64_t now = monotonic_ns();
        int left = until == UINT64_MAX ? -1
                 : now >= until ? 0 : (int)((until - now + 999999u) / 1000000u);
        struct pool_result r;

        if ((err = pool_get(p, left, &r)) != 0)
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct pool_result *bigger = realloc(all, cap * sizeof *all);
            if (bigger == NULL)
                fatal("out of memory collecting results");
            all = bigger;
        }
        all[n++] = r;
    }
    *results = all;
    *count = n;
    return err == ENOENT ? 0 : err;
}

struct pool_counts pool_counts(const struct pool *p)
{
    return (struct pool_counts){
        .pending = p->pending.n,
        .running = p->running,
        .ready = p->ready.n,
        .done = p->done,
        .workers = (size_t)p->live,
        .forks = p->forks,
    };
}

int pool_kill(struct pool *p, uint64_t id, int sig)
{
    struct job *job = jobq_remove(&p->pending, id);

    if (job != NULL) {
        complete(p, job, 0, POOL_CANCELLED, 0, 0, "cancelled before it started");
        return 0;
    }
    for (int i = 0; i < p->opt.workers; i++) {
        struct worker *w = &p->w[i];
        if (w->pid == 0 || w->exited)
            continue;
        for (job = w->inflight.head; job != NULL; job = job->next) {
            if (job->id != id || job->discard)
                continue;
            if (job == w->inflight.head && !w->killed) {
                w->killed = true;
                w->usable = false;
                w->doomed = id;
                kill(w->pid, sig);
                return 0;
            }
            /* Held behind another job: it has not started.  Report it now;
             * the copy in the worker's socket runs, and its result is
             * dropped. */
            job->discard = true;
            p->running--;
            struct job *copy = calloc(1, sizeof *copy);
            if (copy == NULL)
                fatal("pool: out of memory");
            copy->id = id;
            complete(p, copy, 0, POOL_CANCELLED, 0, 0, "cancelled before it started");
            return 0;
        }
    }
    return ESRCH;
}

void pool_kill_all(struct pool *p, int sig)
{
    struct job *job;
    uint64_t until = monotonic_ns() + (uint64_t)KILL_GRACE_MS * 1000000u;

    while ((job = jobq_pop(&p->pending)) != NULL)
        complete(p, job, 0, POOL_CANCELLED, 0, 0, "cancelled before it started");
    for (int i = 0; i < p->opt.workers; i++) {
        struct worker *w = &p->w[i];
        if (w->pid == 0 || w->exited)
            continue;
        w->usable = false;
        w->cancel_rest = true;
        if (!w->killed) {
            w->killed = true;
            w->doomed = w->inflight.head ? w->inflight.head->id : 0;
        }
        kill(w->pid, sig);
    }
    /* Reap them all; SIGCHLD (or the tick) wakes us. */
    while (p->live > 0 && monotonic_ns() < until) {
        struct pollfd pfd = { .fd = p->wake[0], .events = POLLIN };
        reap(p);
        if (p->live == 0)
            break;
        if (poll(&pfd, 1, EXIT_TICK_MS) > 0)
            drain_wake(p);
    }
    for (int i = 0; i < p->opt.workers; i++) {
        struct worker *w = &p->w[i];
        if (w->pid == 0)
            continue;
        if (!w->exited) {
            kill(w->pid, SIGKILL);       /* it ignored sig for a second */
            while (waitpid(w->pid, &w->status, 0) < 0) {
                if (errno != EINTR) {
                    w->status = -1;
                    break;
                }
            }
            w->exited = true;
        }
        finish_worker(p, w);
    }
}
