/* zpool_dispatch.c - see zpool_dispatch.h.
 *
 * State: each job is waiting (in the queue), out (sent to a worker) or
 * finished (it has its one result).  Each worker has up to --inflight jobs
 * out, in the order it runs them, and a deadline for its next result; past
 * it, it is taken for dead and its jobs are taken back. */
#include "zpool_dispatch.h"

#include "ipclab.h"
#include "stats.h"
#include "zh.h"
#include "zpool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

enum job_state { WAITING, OUT, FINISHED };

struct job {
    enum job_state state;
    int sends;
    uint64_t sent_at;
};

struct worker {
    unsigned char id[256];
    size_t idlen;
    char host[48];
    long pid, results;
    long out[ZD_INFLIGHT_MAX];   /* the jobs sent to it, oldest first */
    int nout;
    uint64_t deadline;           /* for its next result, while nout > 0 */
    bool dead;
};

static const struct zd_options *o;
static void *router;
static struct job *jobs;
static uint64_t *latency;            /* per finished job, send to result */
static long *queue, qhead, qtail, finished, nlat;
static struct worker workers[ZD_WORKERS_MAX];
static int nworkers;
static long counts[ZPOOL_OUTCOMES], resent, duplicates;

static void spec_of(long id, char *spec, size_t size)
{
    long r = id % 10;

    if (o->mix && r == 3)
        snprintf(spec, size, "exit 3");
    else if (o->mix && r == 6)
        snprintf(spec, size, "crash");
    else if (o->mix && r == 9)
        snprintf(spec, size, "hang");
    else
        snprintf(spec, size, "ok %ld", o->job_ms);
}

static int alive_workers(void)
{
    int n = 0;

    for (int i = 0; i < nworkers; i++)
        n += !workers[i].dead;
    return n;
}

static void finish(long id, enum zpool_outcome outcome, int code, long ms, const struct worker *w)
{
    char what[80];

    jobs[id].state = FINISHED;
    finished++;
    counts[outcome]++;
    if (outcome != ZPOOL_LOST)
        latency[nlat++] = monotonic_ns() - jobs[id].sent_at;
    if (o->quiet)
        return;
    switch (outcome) {
    case ZPOOL_DONE: snprintf(what, sizeof what, "done in %ld ms", ms); break;
    case ZPOOL_EXITED: snprintf(what, sizeof what, "exited with status %d", code); break;
    case ZPOOL_KILLED: snprintf(what, sizeof what, "killed by %s", signal_name(code)); break;
    case ZPOOL_TIMED_OUT: snprintf(what, sizeof what, "timed out after %ld ms", o->time_limit_ms); break;
    default:
        snprintf(what, sizeof what, "lost: sent %d time%s, no result", jobs[id].sends,
                 jobs[id].sends == 1 ? "" : "s");
        break;
    }
    if (w != NULL)
        printf("job %ld: %s (host %s, worker %ld)\n", id, what, w->host, w->pid);
    else
        printf("job %ld: %s\n", id, what);
}

static struct worker *find_worker(const unsigned char *id, size_t len)
{
    for (int i = 0; i < nworkers; i++)
        if (workers[i].idlen == len && memcmp(workers[i].id, id, len) == 0)
            return &workers[i];
    return NULL;
}

/* region: send */
/* A ROUTER sends to the peer named by the first frame.  With
 * ZMQ_ROUTER_MANDATORY a worker that has gone is an error (EHOSTUNREACH)
 * instead of a silent drop: the job goes back to the queue at once. */
static bool send_to(struct worker *w, const char *text)
{
    if (zmq_send(router, w->id, w->idlen, ZMQ_SNDMORE) < 0 || zh_send(router, text, false) != 0) {
        if (errno == EHOSTUNREACH)
            return false;
        if (errno == EINTR || errno == ETERM)
            return false;
        zh_die("zmq_send");
    }
    return true;
}

static uint64_t result_bound(void)
{
    return (uint64_t)(o->time_limit_ms + o->lost_ms) * 1000000u;
}

static void take_back(struct worker *w);

/* Credit: each live worker is given jobs until it has --inflight out, one
 * worker at a time so that they share the queue. */
static void dispatch(void)
{
    char text[ZPOOL_TEXT_MAX], spec[64];
    bool gave = true;

    while (gave && qhead < qtail) {
        gave = false;
        for (int i = 0; i < nworkers && qhead < qtail; i++) {
            struct worker *w = &workers[i];
            long id;

            if (w->dead || w->nout >= o->inflight)
                continue;
            /* A job queued again may have had its result meanwhile, from
             * the worker taken for dead, which was only slow. */
            while (qhead < qtail && jobs[queue[qhead]].state == FINISHED)
                qhead++;
            if (qhead == qtail)
                break;
            id = queue[qhead];
            spec_of(id, spec, sizeof spec);
            snprintf(text, sizeof text, "JOB %ld %ld %s", id, o->time_limit_ms, spec);
            if (!send_to(w, text)) {
                w->dead = true;          /* gone: what it had goes back */
                take_back(w);
                continue;
            }
            qhead++;
            if (w->nout == 0)            /* it was idle: the clock starts now */
                w->deadline = monotonic_ns() + result_bound();
            w->out[w->nout++] = id;
            jobs[id].state = OUT;
            jobs[id].sends++;
            jobs[id].sent_at = monotonic_ns();
            gave = true;
        }
    }
}
/* end region: send */

/* region: deadlines */
/* A worker runs its jobs one after the other, so each result is due within
 * the limit plus lost_ms of the one before (or of the send, when it was
 * idle).  Past that it is taken for dead: each job it had goes to the
 * queue again, or, sent --resends + 1 times already, is lost. */
static void take_back(struct worker *w)
{
    char again[256] = "", lost[256] = "";
    size_t na = 0, nl = 0;

    for (int k = 0; k < w->nout; k++) {
        long id = w->out[k];

        if (jobs[id].state != OUT)
            continue;                    /* it has a result from elsewhere */
        if (jobs[id].sends <= o->resends) {
            jobs[id].state = WAITING;
            queue[qtail++] = id;
            resent++;
            if (na < sizeof again - 24)
                na += (size_t)snprintf(again + na, sizeof again - na, " %ld", id);
        } else if (nl < sizeof lost - 24) {
            nl += (size_t)snprintf(lost + nl, sizeof lost - nl, " %ld", id);
        }
    }
    if (na > 0)
        printf("worker %ld on host %s: taken for dead; to other workers:%s\n", w->pid, w->host, again);
    if (nl > 0)
        printf("worker %ld on host %s: taken for dead; sent %ld times, so lost:%s\n", w->pid, w->host,
               o->resends + 1, lost);
    for (int k = 0; k < w->nout; k++)
        if (jobs[w->out[k]].state == OUT && jobs[w->out[k]].sends > o->resends)
            finish(w->out[k], ZPOOL_LOST, 0, 0, NULL);
    w->nout = 0;
}

static void check_deadlines(void)
{
    uint64_t now = monotonic_ns();

    for (int i = 0; i < nworkers; i++) {
        struct worker *w = &workers[i];

        if (w->dead || w->nout == 0 || now < w->deadline)
            continue;
        w->dead = true;
        printf("worker %ld on host %s: no result for job %ld in %ld ms\n", w->pid, w->host,
               w->out[0], o->time_limit_ms + o->lost_ms);
        take_back(w);
    }
}
/* end region: deadlines */

/* region: receive */
static void on_message(const unsigned char *id, size_t idlen, const char *text)
{
    struct worker *w = find_worker(id, idlen);
    char host[48];
    long pid, job, ms;
    int outcome, code, child;

    if (sscanf(text, "READY %40s %ld", host, &pid) == 2) {
        if (w == NULL && nworkers < ZD_WORKERS_MAX && idlen <= sizeof w->id) {
            w = &workers[nworkers++];
            memcpy(w->id, id, idlen);
            w->idlen = idlen;
        }
        if (w == NULL)
            return;                       /* table full: it gets no work */
        snprintf(w->host, sizeof w->host, "%s", host);
        w->pid = pid;
        take_back(w);                    /* it started afresh: its jobs are gone */
        w->dead = false;
        printf("worker %ld on host %s joined (%d alive)\n", pid, host, alive_workers());
        return;
    }
    if (w == NULL || sscanf(text, "RESULT %ld %d %d %ld %d", &job, &outcome, &code, &ms, &child) != 5 ||
        job < 1 || job > o->jobs || outcome < 0 || outcome >= ZPOOL_LOST) {
        fprintf(stderr, "%s: dropped a malformed message: '%.60s'\n", program_name, text);
        return;
    }
    for (int k = 0; k < w->nout; k++)
        if (w->out[k] == job) {          /* usually the first */
            memmove(&w->out[k], &w->out[k + 1], (size_t)(w->nout - k - 1) * sizeof w->out[0]);
            w->nout--;
            break;
        }
    w->deadline = monotonic_ns() + result_bound();   /* the next one is due from now */
    w->dead = false;                      /* it was slow, not dead */
    if (jobs[job].state == FINISHED) {
        printf("job %ld: a second result (host %s, worker %ld) dropped\n", job, w->host, w->pid);
        duplicates++;
        return;
    }
    w->results++;
    finish(job, (enum zpool_outcome)outcome, code, ms, w);
}
/* end region: receive */

static void summary(uint64_t elapsed)
{
    double median = 0, p99 = 0, secs = (double)elapsed / 1e9;

    for (int i = 0; i < nworkers; i++) {
        long results = 0;
        int same = 0;

        for (int j = 0; j < i; j++)
            same += strcmp(workers[j].host, workers[i].host) == 0;
        if (same)
            continue;                     /* that host was counted already */
        for (int j = i; j < nworkers; j++)
            if (strcmp(workers[j].host, workers[i].host) == 0)
                results += workers[j].results, same++;
        printf("host %s: %ld results from %d workers\n", workers[i].host, results, same);
    }
    if (nlat > 0)
        stats_us(latency, (size_t)nlat, &median, &p99);
    printf("rate: %ld jobs in %.3f s: %.0f jobs/s, %.2f ms median per job, %.2f ms p99\n",
           finished, secs, secs > 0 ? (double)finished / secs : 0.0, median / 1000, p99 / 1000);
    printf("result: jobs=%ld done=%ld exited=%ld killed=%ld timed_out=%ld lost=%ld resent=%ld "
           "duplicates=%ld\n", o->jobs, counts[ZPOOL_DONE], counts[ZPOOL_EXITED], counts[ZPOOL_KILLED],
           counts[ZPOOL_TIMED_OUT], counts[ZPOOL_LOST], resent, duplicates);
}

int zd_run(void *sock, const struct zd_options *options)
{
    unsigned char id[256];
    char text[ZPOOL_TEXT_MAX];
    uint64_t start = 0, starved = monotonic_ns();
    bool started = false;

    o = options;
    router = sock;
    jobs = calloc((size_t)o->jobs + 1, sizeof *jobs);
    queue = calloc((size_t)(o->jobs * (o->resends + 1)), sizeof *queue);  /* each job: 1 + resends */
    latency = calloc((size_t)o->jobs, sizeof *latency);
    if (jobs == NULL || queue == NULL || latency == NULL)
        die("calloc");
    for (long j = 1; j <= o->jobs; j++)
        queue[qtail++] = j;
    while (finished < o->jobs && !zh_stopping()) {
        zmq_pollitem_t item = { router, 0, ZMQ_POLLIN, 0 };
        int alive = alive_workers();

        if (!started && alive >= o->min_workers) {
            started = true;
            start = monotonic_ns();
        }
        if (started)
            dispatch();
        if (alive > 0)
            starved = monotonic_ns();
        else if (monotonic_ns() - starved > (uint64_t)o->wait_ms * 1000000u) {
            printf("no worker for %ld ms: every job without a result is lost\n", o->wait_ms);
            for (long j = 1; j <= o->jobs; j++)
                if (jobs[j].state != FINISHED)
                    finish(j, ZPOOL_LOST, 0, 0, NULL);
            break;
        }
        if (zmq_poll(&item, 1, 50) < 0) {  /* 50 ms: deadlines are checked that often */
            if (errno == EINTR)
                continue;
            zh_die("zmq_poll");
        }
        while (zmq_poll(&item, 1, 0) > 0 && (item.revents & ZMQ_POLLIN)) {
            int len = zmq_recv(router, id, sizeof id, 0);
            bool more;

            if (len < 0 || len > (int)sizeof id)
                break;
            if (zh_recv(router, text, sizeof text, &more) < 0)
                break;
            if (more)
                zh_drain(router);         /* more frames than the protocol has */
            on_message(id, (size_t)len, text);
        }
        check_deadlines();
    }
    for (int i = 0; i < nworkers; i++)
        if (!workers[i].dead)
            send_to(&workers[i], "STOP");
    if (zh_stopping())
        printf("dispatcher: stopped by %s: %ld of %ld jobs have a result\n",
               signal_name(zh_stop_signal()), finished, o->jobs);
    else
        summary(started ? monotonic_ns() - start : 0);
    free(jobs);
    free(queue);
    free(latency);
    return counts[ZPOOL_LOST] == 0 && !zh_stopping() ? 0 : 1;
}
