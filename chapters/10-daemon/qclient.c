/* qclient.c - sends N requests to qdaemon and times each round trip.
 *
 * Lesson: the client side of "replies typed by the client's pid": it sends
 * each request with type 1, the daemon's address, and takes only messages
 * of its own pid's type, so any number of clients share one queue.  Every
 * wait is bounded, and every request ends one of three ways, all counted:
 * answered, refused (the daemon is stopping), cut (the daemon removed its
 * queue while the request was in it), or timed out.  --bad sends a malformed request on purpose.
 *
 * Run:  qclient --count 1000 --key key A
 *       qclient --op checksum --data /etc/hostname --key key A
 *       qclient --bad op0 --key key A
 *
 * You should see one summary line, for example:
 *       result: sent=1000 answered=1000 wrong=0 errors=0 refused=0 cut=0 timeouts=0
 *       p50_us=48 p99_us=160 max_us=410 per_s=15300
 */
#include "ipclab.h"
#include "common/keyopt.h"
#include "common/proto.h"
#include "03-message-queues/common/msg_timed.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

static long count = 1, timeout_ms = 5000;
static int op = OP_ECHO, bad = 0, channel = 0;
static const char *data, *mq_name, *key_path;
static bool print_values = false;
static const char *const ops[] = { "none", "echo", "checksum", "counter", NULL };
static const char *const bads[] = { "no", "size", "short", "op0", "unknown", "reply0", NULL };
static const char *const channels[] = { "sysv", "posix", NULL };

static const struct cli_option options[] = {
    CLI_OPTION_STRING("key", &key_path, "PATH PROJ", "the daemon's queue: key ftok(PATH, PROJ)"),
    CLI_OPTION_LONG("count", &count, 1, 100000, "N", "how many requests, one after another"),
    CLI_OPTION_CHOICE("op", &op, ops, "OP", "echo, checksum (of --data, a path) or counter"),
    CLI_OPTION_STRING("data", &data, "TEXT", "the request's data (echo: default \"pid P request I\")"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "longest wait for one reply"),
    CLI_OPTION_CHOICE("bad", &bad, bads, "HOW",
                      "send a malformed request: size, short, op0, unknown, reply0"),
    CLI_OPTION_CHOICE("channel", &channel, channels, "CH", "send on sysv or posix (--mq)"),
    CLI_OPTION_STRING("mq", &mq_name, "NAME", "the daemon's POSIX queue, for --channel posix"),
    CLI_OPTION_FLAG("print-values", &print_values, "print each reply's data"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends requests to qdaemon (the System V queue of key ftok(PATH, PROJ))\n"
               "and reports the round-trip times.",
    .options = options,
    .details = "--key is required; PROJ is a number from 1 to 255 or one character.\n"
               "Exit status: 0 if every request got the reply it should have (or was\n"
               "refused by a stopping daemon), 1 if a reply was wrong or missing.",
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Fills m for request i; returns the body's size.  --bad breaks it. */
static size_t build(struct req_msg *m, long i, uint32_t seq)
{
    size_t len;

    memset(m, 0, sizeof *m);
    m->mtype = REQ_TYPE;
    m->body.reply_to = (int32_t)getpid();
    m->body.seq = seq;
    m->body.op = (uint32_t)op;
    if (data != NULL)
        len = strlen(data) < REQ_DATA_MAX ? strlen(data) : REQ_DATA_MAX;
    else
        len = (size_t)snprintf(m->body.data, sizeof m->body.data, "pid %ld request %ld",
                               (long)getpid(), i);
    if (data != NULL)
        memcpy(m->body.data, data, len);
    m->body.len = (uint32_t)len;
    switch (bad) {
    case 1: return REQ_HEADER + len + 3;       /* size: 3 bytes more than the header says */
    case 2: return REQ_HEADER - 4;             /* short: the header cut */
    case 3: m->body.op = OP_NONE; break;
    case 4: m->body.op = 77; break;
    case 5: m->body.reply_to = 0; break;       /* no return address */
    }
    return REQ_HEADER + len;
}

int main(int argc, char **argv)
{
    int proj, msqid, err;
    long sent = 0, timed = 0, answered = 0, wrong = 0, errors = 0, refused = 0, cut = 0;
    long timeouts = 0;
    uint64_t *rtt, start;
    uint32_t seq0;
    mqd_t mq = (mqd_t)-1;
    bool gone = false;
    key_t key;

    argc = key_option_take(&cli, argc, argv);    /* --key PATH PROJ: two words */
    cli_parse(&cli, argc, argv);
    proj = key_option_proj(key_path);
    if (getpid() == 1)
        fatal("pid 1 cannot be a client: type 1 is the daemon's address");
    if (op == OP_CHECKSUM && data == NULL)
        usage_error("--op checksum needs --data PATH");
    if (data != NULL && strlen(data) > REQ_DATA_MAX)
        usage_error("--data is longer than %d bytes", REQ_DATA_MAX);
    if (channel == 1 && mq_name == NULL)
        usage_error("--channel posix needs --mq NAME");
    err = ipc_key_from_path(key_path, proj, &key);
    if (err != 0)
        die_errnum(err, "ftok %s", key_path);
    msqid = msgget(key, 0);       /* the daemon's queue: never create it */
    if (msqid < 0)
        die("msgget key 0x%08lx (is qdaemon running?)", (unsigned long)key);
    if (channel == 1 && (mq = mq_open(mq_name, O_WRONLY)) == (mqd_t)-1)
        die("mq_open %s", mq_name);
    rtt = calloc((size_t)count, sizeof *rtt);
    if (rtt == NULL)
        die("calloc");
    /* A random start, so a reply left for a dead client that had our pid
     * before us cannot pass for one of ours. */
    seq0 = (uint32_t)(monotonic_ns() * 2654435761u);
    start = monotonic_ns();

    /* region: round-trip */
    for (long i = 0; i < count; i++) {
        struct req_msg m;
        struct reply_msg r;
        size_t size = build(&m, i, seq0 + (uint32_t)i);
        uint64_t t0 = monotonic_ns();
        ssize_t got;

        if (channel == 1) {
            struct timespec until;      /* mq_timedsend takes a wall-clock time */
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += timeout_ms / 1000;
            until.tv_nsec += (timeout_ms % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L)
                until.tv_sec++, until.tv_nsec -= 1000000000L;
            err = mq_timedsend(mq, (const char *)&m.body, size, 0, &until) == 0 ? 0 : errno;
        }
        else
            err = msgsnd_timed(msqid, &m, size, 0, timeout_ms) == 0 ? 0 : errno;
        if (err == EIDRM || err == EINVAL) {
            gone = true;          /* the daemon removed its queue: not sent */
            break;
        }
        if (err != 0)
            die_errnum(err, "sending request %ld", i);
        sent++;
        if (bad == 5)
            continue;             /* nobody can answer type 0: nothing to wait for */
        do {    /* skip a stale reply: one whose seq is not this request's */
            got = msgrcv_timed(msqid, &r, sizeof r.body, (long)getpid(), 0, timeout_ms);
        } while (got >= 0 && r.body.seq != m.body.seq);
        if (got < 0) {
            if (errno == ETIMEDOUT) {
                timeouts++;
                continue;
            }
            if (errno == EIDRM || errno == EINVAL) {
                cut++;            /* removed while we waited: not served */
                break;
            }
            die("msgrcv");
        }
        rtt[timed++] = monotonic_ns() - t0;
        if (r.body.status == ST_REFUSED) {
            refused++;            /* the daemon is stopping: stop asking */
            break;
        }
        if (print_values || bad != 0)
            printf("reply %u: %s: %.*s\n", r.body.seq - seq0, status_name(r.body.status),
                   (int)r.body.len, r.body.data);
        if (r.body.status != ST_OK) {
            errors++;
        } else if (op == OP_ECHO && (r.body.len != m.body.len ||
                                     memcmp(r.body.data, m.body.data, r.body.len) != 0)) {
            wrong++;
        } else {
            answered++;
        }
    }
    /* end region: round-trip */

    double secs = (double)(monotonic_ns() - start) / 1e9;
    qsort(rtt, (size_t)timed, sizeof *rtt, cmp_u64);
    if (gone)
        printf("the daemon's queue is gone: stopped after %ld of %ld requests\n", sent, count);
    printf("result: sent=%ld answered=%ld wrong=%ld errors=%ld refused=%ld cut=%ld timeouts=%ld "
           "p50_us=%llu p99_us=%llu max_us=%llu per_s=%.0f\n",
           sent, answered, wrong, errors, refused, cut, timeouts,
           timed ? (unsigned long long)rtt[timed / 2] / 1000 : 0ULL,
           timed ? (unsigned long long)rtt[(timed * 99) / 100] / 1000 : 0ULL,
           timed ? (unsigned long long)rtt[timed - 1] / 1000 : 0ULL,
           secs > 0 ? (double)sent / secs : 0.0);
    free(rtt);
    if (bad != 0)   /* a bad request must get an error reply (reply0: none at all) */
        return (bad == 5 ? sent == 1 : errors == sent) && wrong == 0 && timeouts == 0 ? 0 : 1;
    return wrong == 0 && timeouts == 0 && errors == 0 ? 0 : 1;
}
