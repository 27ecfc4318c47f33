/* phases.c - what the two sides of a pair do, phase by phase.
 *
 * Both sides walk the same plan.  The driver measures; the echo side
 * answers (latency), swallows (throughput) or spins back (the floor).  A
 * message's first 8 bytes say what it is: data, the last of a run (the
 * echo side acknowledges it), "a floor round follows", "a bare loop of k
 * round trips follows", or "quit".
 */
#include "bench.h"

#include "ipclab.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { TAG_DATA = 1, TAG_LAST = 2, TAG_QUIT = 3, TAG_FLOOR = 4, TAG_BARE = 5 };
#define TAG_KIND(t) ((t) & 0xff)   /* TAG_BARE carries a count above its low byte */
#define TPUT_REPS 3             /* timed repetitions, after one warm-up run */
#define FUTEX_COUNT 200

static uint64_t now(void)
{
    return monotonic_ns();
}

static void set_tag(unsigned char *buf, uint64_t tag)
{
    memcpy(buf, &tag, sizeof tag);
}

static uint64_t get_tag(const unsigned char *buf)
{
    uint64_t tag;

    memcpy(&tag, buf, sizeof tag);
    return tag;
}

static void progress(int fd)
{
    write_full_or_die(fd, "p", 1);
}

/* A message of n bytes, in pieces no larger than the mechanism takes. */
static void send_msg(struct mctx *c, enum side s, const unsigned char *buf, size_t n)
{
    size_t chunk = c->m->chunk ? c->m->chunk : n;

    for (size_t off = 0; off < n; off += chunk)
        c->m->send(c, s, buf + off, n - off < chunk ? n - off : chunk);
}

static void recv_msg(struct mctx *c, enum side s, unsigned char *buf, size_t n)
{
    size_t chunk = c->m->chunk ? c->m->chunk : n;

    for (size_t off = 0; off < n; off += chunk)
        c->m->recv(c, s, buf + off, n - off < chunk ? n - off : chunk);
}

/* region: latency */
/* Rounds of pairs of blocks of k round trips.  In a pair, the harness
 * block times every round trip (one clock reading each, the previous one
 * reused), or every group of g when they are shorter than GROUP_BELOW_NS;
 * the bare block is the mechanism's hand-written loop of the bare calls
 * (its `bare`), on both sides, timed as a whole.  Both give a mean, total
 * time / k, so the ratio of the two means, pair by pair, is what the
 * harness adds (mean against mean: the bare loop has no median).  A
 * block lasts about BLOCK_NS (at least 8 round trips), so most blocks
 * miss the rare stalls of a busy machine, and the median of the ratios
 * ignores the blocks a stall hit.  It stops when the last three round
 * medians agree within 5 % (after a quarter of the budget), or at the
 * budget (at least 3 rounds), or after ROUNDS_MAX rounds. */
#define BLOCK_NS 250000.0
#define PAIRS_MAX 64
#define SAMPLES_MAX (2L << 20)
static void harness_trip(struct mctx *c, unsigned char *msg, unsigned char *back)
{
    c->m->send(c, DRIVER, msg, LAT_SIZE);
    c->m->recv(c, DRIVER, back, LAT_SIZE);
}

/* s gets k / g samples: the ns of each group of g round trips. */
static double timed_block(struct mctx *c, long k, long g, uint64_t *s)
{
    unsigned char msg[LAT_SIZE], back[LAT_SIZE];
    uint64_t t = now(), first = t, t1;

    set_tag(msg, TAG_DATA);
    for (long i = 0; i < k / g; i++) {                  /* the harness */
        for (long j = 0; j < g; j++)
            harness_trip(c, msg, back);
        t1 = now();
        s[i] = t1 - t;
        t = t1;
    }
    return (double)(t - first) / (double)k;
}

/* Tell the echo side, wait for its "ready", then time the bare loop. */
static double bare_block(struct mctx *c, long k)
{
    unsigned char msg[LAT_SIZE], back[LAT_SIZE];
    uint64_t t;

    set_tag(msg, TAG_BARE | (uint64_t)k << 8);
    harness_trip(c, msg, back);
    t = now();
    c->m->bare(c, DRIVER, k);
    return (double)(now() - t) / (double)k;
}
/* end region: latency */

/* A round of the cache-line floor, between two latency rounds: the echo
 * side is told by a message, then both spin on the shared line.  So the
 * floor each ratio uses was measured in the same minutes, by the same two
 * processes on the same CPUs (the host may move a virtual CPU at any time;
 * a floor from another moment would not compare). */
static long cl_count(const struct mctx *c, const struct plan *plan)
{
    return c->placement == SAME_CPU ? plan->cl_count / 5 : plan->cl_count;
}

static void floor_round(struct mctx *c, const struct plan *plan, struct shared *sh, uint32_t *seq)
{
    long g;
    double med = cl_round_driver(&sh->cl_line, cl_count(c, plan), seq, c->placement, &g);

    if (sh->r.cl_best == 0 || med < sh->r.cl_best) {
        sh->r.cl_best = med;
        sh->r.cl_group = g;
    }
}

static void latency(struct mctx *c, const struct plan *plan, struct shared *sh, uint32_t *cl_seq)
{
    struct lat_result *r = &sh->r.lat;
    uint64_t budget = (uint64_t)plan->lat_ms * 1000000u, start, *s, *tmp, t0, best = UINT64_MAX;
    unsigned char msg[LAT_SIZE], back[LAT_SIZE];
    double med[ROUNDS_MAX], rt, *ratio, *h, *rw;
    long k, g, npairs, n = 0, round = 0, pairs = 0, per;

    set_tag(msg, TAG_DATA);
    start = now();                      /* warm-up: 5 % of the budget, >= 2 groups */
    k = 0;
    do {
        t0 = now();
        for (int j = 0; j < GROUP; j++)
            harness_trip(c, msg, back);
        t0 = now() - t0;
        best = t0 < best ? t0 : best;
        k += GROUP;
    } while (k < 2 * GROUP || (now() - start < budget / 20 && k < 100000));
    rt = (double)(now() - start) / (double)k;          /* ns a round trip, roughly */
    /* Grouped or not: decided by the fastest group, so a stall in the
     * warm-up cannot turn the grouping off. */
    g = (double)best / GROUP < GROUP_BELOW_NS ? GROUP : 1;
    k = (long)(BLOCK_NS / rt);
    k = k < 8 ? 8 : k > 20000 ? 20000 : k;
    k = k < g ? g : k - k % g;          /* whole groups */
    per = k / g;                        /* samples a block */
    npairs = (long)((double)budget / 12 / (2 * (double)k * rt));    /* a round: 1/12 of it */
    npairs = npairs < 4 ? 4 : npairs > PAIRS_MAX ? PAIRS_MAX : npairs;
    while (npairs > 4 && per * npairs * ROUNDS_MAX > SAMPLES_MAX)
        npairs--;
    s = malloc((size_t)(per * npairs * ROUNDS_MAX) * sizeof *s);
    tmp = malloc((size_t)(per * npairs) * sizeof *tmp);
    ratio = malloc((size_t)(npairs * ROUNDS_MAX) * 3 * sizeof *ratio);
    if (s == NULL || tmp == NULL || ratio == NULL)
        die("malloc");
    h = ratio + npairs * ROUNDS_MAX;
    rw = h + npairs * ROUNDS_MAX;
    start = now();
    for (;;) {
        for (int i = 0; i < npairs; i++, pairs++) {    /* alternate which goes first */
            if (i % 2 == 0) {
                h[pairs] = timed_block(c, k, g, s + n);
                rw[pairs] = bare_block(c, k);
            } else {
                rw[pairs] = bare_block(c, k);
                h[pairs] = timed_block(c, k, g, s + n);
            }
            ratio[pairs] = h[pairs] / rw[pairs];
            n += per;
        }
        memcpy(tmp, s + n - per * npairs, (size_t)(per * npairs) * sizeof *tmp);
        med[round] = median_u64(tmp, per * npairs) / (double)g;
        round++;
        {
            unsigned char fl[LAT_SIZE];
            set_tag(fl, TAG_FLOOR);
            c->m->send(c, DRIVER, fl, sizeof fl);
            floor_round(c, plan, sh, cl_seq);
        }
        if (round >= 3) {
            double a = med[round - 3], b = med[round - 2], d = med[round - 1];
            double lo = a < b ? (a < d ? a : d) : (b < d ? b : d);
            double hi = a > b ? (a > d ? a : d) : (b > d ? b : d);
            r->stable = hi - lo <= 0.05 * b;
            if ((r->stable && now() - start >= budget / 4) || now() - start >= budget)
                break;
        }
        if (round == ROUNDS_MAX)
            break;
    }
    {
        unsigned char quit[LAT_SIZE];
        set_tag(quit, TAG_QUIT);
        c->m->send(c, DRIVER, quit, sizeof quit);
    }
    r->lo = r->hi = med[0];
    for (long i = 1; i < round; i++) {
        r->lo = med[i] < r->lo ? med[i] : r->lo;
        r->hi = med[i] > r->hi ? med[i] : r->hi;
    }
    r->harness_ratio = median_double(ratio, pairs);
    r->harness_mean = median_double(h, pairs);
    r->raw_mean = median_double(rw, pairs);
    r->median = median_u64(s, n) / (double)g;          /* sorts s */
    r->p99 = (double)s[(long)(0.99 * (double)(n - 1))] / (double)g;
    r->max = (double)s[n - 1] / (double)g;
    r->samples = n;
    r->group = g;
    r->rounds = round;
    r->ok = true;
    free(s);
    free(tmp);
    free(ratio);
}

static void echo_latency(struct mctx *c, const struct plan *plan, struct shared *sh, uint32_t *cl_seq)
{
    unsigned char msg[LAT_SIZE];

    if (plan->stuck)
        for (;;)
            pause();                    /* the test hook: never answer */
    for (;;) {
        c->m->recv(c, ECHO, msg, sizeof msg);
        if (get_tag(msg) == TAG_QUIT)
            return;
        if (get_tag(msg) == TAG_FLOOR) {
            cl_round_echo(&sh->cl_line, cl_count(c, plan), cl_seq, c->placement);
            continue;
        }
        c->m->send(c, ECHO, msg, sizeof msg);           /* data, or "ready" for a bare loop */
        if (TAG_KIND(get_tag(msg)) == TAG_BARE)
            c->m->bare(c, ECHO, (long)(get_tag(msg) >> 8));
    }
}

/* region: throughput */
/* One way, messages of n bytes back to back; a run ends with a "last"
 * message the echo side acknowledges, so the clock stops when everything
 * has arrived.  One warm-up run (at least 32 messages: every slot of a
 * ring touched once), then TPUT_REPS timed runs. */
static void throughput(struct mctx *c, const struct plan *plan, size_t n, unsigned char *buf,
                       struct tput_result *r)
{
    uint64_t rep_ns = (uint64_t)plan->tput_ms * 1000000u / (TPUT_REPS + 1), t;
    long batch = n >= 65536 ? 1 : 16;
    double mbps[TPUT_REPS], msgs[TPUT_REPS];
    unsigned char ack[LAT_SIZE];

    for (int rep = -1; rep < TPUT_REPS; rep++) {
        long count = 0;
        t = now();
        do {
            for (long i = 0; i < batch; i++)
                send_msg(c, DRIVER, buf, n);
            count += batch;
        } while (now() - t < (rep < 0 ? rep_ns / 2 : rep_ns) || (rep < 0 && count < 32));
        set_tag(buf, TAG_LAST);
        send_msg(c, DRIVER, buf, n);
        set_tag(buf, TAG_DATA);
        c->m->recv(c, DRIVER, ack, sizeof ack);
        t = now() - t;
        if (rep >= 0) {
            msgs[rep] = (double)(count + 1) / (double)t * 1e9;
            mbps[rep] = msgs[rep] * (double)n / 1e6;
        }
    }
    r->mbps = median_double(mbps, TPUT_REPS);           /* sorted: lo, median, hi */
    r->lo = mbps[0];
    r->hi = mbps[TPUT_REPS - 1];
    r->msgs = median_double(msgs, TPUT_REPS);
    r->ok = true;
}
/* end region: throughput */

static void echo_throughput(struct mctx *c, size_t n)
{
    unsigned char ack[LAT_SIZE];

    set_tag(ack, TAG_DATA);
    for (int runs = 0; runs < TPUT_REPS + 1;) {
        recv_msg(c, ECHO, c->rxbuf, n);
        if (get_tag(c->rxbuf) == TAG_LAST) {
            c->m->send(c, ECHO, ack, sizeof ack);
            runs++;
        }
    }
}

void driver_phases(struct mctx *c, const struct plan *plan, struct shared *sh, int progress_fd)
{
    struct pair_result *r = &sh->r;
    uint32_t cl_seq = 0, fx_seq = 0;
    unsigned char *buf;

    r->cl_best = 0;
    for (long i = 0; i < plan->cl_rounds; i++)
        floor_round(c, plan, sh, &cl_seq);
    progress(progress_fd);
    r->phases_done++;
    if (plan->floor_only) {
        double fx[5];
        for (int i = 0; i < 5; i++)
            fx[i] = futex_rt_driver(&sh->futex_word, FUTEX_COUNT, &fx_seq);
        r->floor.futex_rt[c->placement] = median_double(fx, 5);
        if (c->placement == TWO_CPUS)
            floor_solo(&r->floor, plan->quick);
        progress(progress_fd);
        r->phases_done++;
        return;
    }
    if (plan->latency) {
        latency(c, plan, sh, &cl_seq);
        progress(progress_fd);
        r->phases_done++;
    }
    if (!plan->throughput || c->placement != TWO_CPUS || !c->m->payload)
        return;
    buf = malloc(MAX_MSG);
    if (buf == NULL)
        die("malloc");
    memset(buf, 'x', MAX_MSG);
    set_tag(buf, TAG_DATA);
    for (int k = 0; k < NSIZES; k++) {
        throughput(c, plan, tput_sizes[k], buf, &r->tput[k]);
        progress(progress_fd);
        r->phases_done++;
    }
    free(buf);
}

void echo_phases(struct mctx *c, const struct plan *plan, struct shared *sh)
{
    uint32_t cl_seq = 0, fx_seq = 0;

    for (long i = 0; i < plan->cl_rounds; i++)
        cl_round_echo(&sh->cl_line, cl_count(c, plan), &cl_seq, c->placement);
    if (plan->floor_only) {
        for (int i = 0; i < 5; i++)
            futex_rt_echo(&sh->futex_word, FUTEX_COUNT, &fx_seq);
        return;
    }
    if (plan->latency)
        echo_latency(c, plan, sh, &cl_seq);
    if (!plan->throughput || c->placement != TWO_CPUS || !c->m->payload)
        return;
    for (int k = 0; k < NSIZES; k++)
        echo_throughput(c, tput_sizes[k]);
}
