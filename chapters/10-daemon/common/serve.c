/* serve.c - see serve.h. */
#include "serve.h"

#include "clock.h"
#include "dlog.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct counters counters;
atomic_bool stopping;

static int reply_msqid = -1;
static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static struct serve_config config;
static uint32_t wake_token;
static uint64_t started_ns;

/* Recent clients: when the queue fills up with replies nobody takes (their
 * clients were killed), the daemon removes those of clients that are gone. */
#define RECENT 64
static pthread_mutex_t recent_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t recent[RECENT];
static unsigned recent_next;

void serve_init(int msqid, const struct serve_config *c, uint32_t token)
{
    reply_msqid = msqid;
    serve_config_set(c);
    wake_token = token;
    started_ns = monotonic_ns();
}

/* region: config */
void serve_config_set(const struct serve_config *c)
{
    pthread_mutex_lock(&config_lock);
    config = *c;
    pthread_mutex_unlock(&config_lock);
}

void serve_config_get(struct serve_config *c)
{
    pthread_mutex_lock(&config_lock);
    *c = config;
    pthread_mutex_unlock(&config_lock);
}
/* end region: config */

void counters_format(char *buf, size_t size)
{
    snprintf(buf, size, "requests=%lu answered=%lu errors=%lu refused=%lu dropped=%lu uptime=%.1fs",
             atomic_load(&counters.requests), atomic_load(&counters.answered),
             atomic_load(&counters.errors), atomic_load(&counters.refused),
             atomic_load(&counters.dropped), (double)(monotonic_ns() - started_ns) / 1e9);
}

static void remember(pid_t pid)
{
    pthread_mutex_lock(&recent_lock);
    for (unsigned i = 0; i < RECENT; i++)
        if (recent[i] == pid)
            goto out;
    recent[recent_next++ % RECENT] = pid;
out:
    pthread_mutex_unlock(&recent_lock);
}

/* Throws away replies addressed to clients that no longer exist. */
void purge_orphans(void)
{
    struct reply_msg junk;

    pthread_mutex_lock(&recent_lock);
    for (unsigned i = 0; i < RECENT; i++) {
        if (recent[i] <= 1 || kill(recent[i], 0) == 0 || errno != ESRCH)
            continue;
        while (msgrcv(reply_msqid, &junk, sizeof junk.body, recent[i],
                      IPC_NOWAIT | MSG_NOERROR) >= 0)
            dlog("removed a reply to pid %ld, which is gone", (long)recent[i]);
        recent[i] = 0;
    }
    pthread_mutex_unlock(&recent_lock);
}

/* region: reply */
/* Never blocks for long: a queue full of replies nobody reads must not stop
 * the daemon.  Up to 100 ms of retries, then the reply is dropped, logged. */
static void send_reply(long to, struct reply_msg *r)
{
    const struct timespec pause = { 0, 2000000 };   /* 2 ms */
    size_t size = REPLY_HEADER + r->body.len;

    r->mtype = to;
    for (int attempt = 0; attempt < 50; attempt++) {
        if (msgsnd(reply_msqid, r, size, IPC_NOWAIT) == 0)
            return;
        if (errno != EAGAIN && errno != EINTR)
            break;
        if (errno == EAGAIN && attempt == 0)
            purge_orphans();
        nanosleep(&pause, NULL);
    }
    dlog("reply to pid %ld (seq %u) dropped: msgsnd: %s", to, r->body.seq, strerror(errno));
}
/* end region: reply */

static void reply_text(struct reply_msg *r, int status, const char *fmt, const char *arg)
{
    int len = snprintf(r->body.data, sizeof r->body.data, fmt, arg);

    r->body.status = status;
    r->body.len = len < 0 ? 0 : (uint32_t)len < sizeof r->body.data ? (uint32_t)len
                                                                    : (uint32_t)sizeof r->body.data - 1;
}

/* region: checksum */
static void do_checksum(const struct req_body *req, long max_file, struct reply_msg *r)
{
    char path[REQ_DATA_MAX + 1], buf[65536];
    uint32_t crc = 0;
    uint64_t total = 0;
    struct stat st;
    ssize_t got;
    int fd;

    memcpy(path, req->data, req->len);
    path[req->len] = '\0';
    if (req->len == 0 || strlen(path) != req->len) {
        reply_text(r, ST_FAILED, "%s", "the path is empty or holds a NUL byte");
        return;
    }
    /* O_NONBLOCK: a FIFO must not make the daemon wait for a writer;
     * anything but a regular file is refused after fstat. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        reply_text(r, ST_FAILED, "open: %s", strerror(errno));
        return;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > max_file) {
        reply_text(r, ST_FAILED, "%s", S_ISREG(st.st_mode) ? "the file is larger than max-file-bytes"
                                                           : "not a regular file");
        close(fd);
        return;
    }
    while ((got = read(fd, buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR)) {
        if (got > 0) {
            crc = cksum_update(crc, buf, (size_t)got);
            total += (uint64_t)got;
        }
    }
    if (got < 0)
        reply_text(r, ST_FAILED, "read: %s", strerror(errno));
    else {
        int len = snprintf(r->body.data, sizeof r->body.data, "%u %llu",
                           cksum_final(crc, total), (unsigned long long)total);
        r->body.status = ST_OK;
        r->body.len = (uint32_t)len;
    }
    close(fd);
}
/* end region: checksum */

/* region: serve */
bool serve_request(const void *msg, size_t size, const char *channel)
{
    struct req_body req = { 0 };
    struct reply_msg r = { 0 };
    struct serve_config c;

    memcpy(&req, msg, size < sizeof req ? size : sizeof req);
    if (size == REQ_HEADER + sizeof(uint32_t) && req.op == OP_WAKE &&
        memcmp(req.data, &wake_token, sizeof wake_token) == 0)
        return false;           /* our own wake-up call */
    atomic_fetch_add(&counters.requests, 1);
    /* Without a return address there is nobody to answer: type 0 is no
     * type, type 1 is the daemon's own, and a negative one selects a range. */
    if (size < sizeof req.reply_to || req.reply_to <= 1) {
        atomic_fetch_add(&counters.dropped, 1);
        dlog("%s: a %zu-byte message with no usable return address (reply_to %ld): dropped",
             channel, size, size < sizeof req.reply_to ? 0L : (long)req.reply_to);
        return true;
    }
    remember(req.reply_to);
    serve_config_get(&c);
    r.body.seq = req.seq;
    if (size < REQ_HEADER || req.len > REQ_DATA_MAX || size != REQ_HEADER + req.len) {
        char what[64];
        snprintf(what, sizeof what, "%zu", size);
        reply_text(&r, ST_BAD_SIZE, "a request of %s bytes does not match its header", what);
    } else if ((long)size > c.max_request_bytes) {
        char what[96];
        snprintf(what, sizeof what, "%zu bytes is larger than max-request-bytes (%ld)",
                 size, c.max_request_bytes);
        reply_text(&r, ST_BAD_SIZE, "a request of %s", what);
    } else if (atomic_load(&stopping)) {
        reply_text(&r, ST_REFUSED, "%s", "the daemon is stopping: not done");
    } else if (req.op == OP_NONE) {
        reply_text(&r, ST_NO_OP, "%s", "operation 0 names nothing (a zeroed request?)");
    } else if (req.op == OP_ECHO) {
        memcpy(r.body.data, req.data, req.len);
        r.body.len = req.len;
    } else if (req.op == OP_CHECKSUM) {
        do_checksum(&req, c.max_file_bytes, &r);
    } else if (req.op == OP_COUNTER) {
        r.body.len = (uint32_t)snprintf(r.body.data, sizeof r.body.data, "%lu",
                                        atomic_fetch_add(&counters.counter, 1) + 1);
    } else {
        char what[32];
        snprintf(what, sizeof what, "%u", req.op);
        reply_text(&r, ST_BAD_OP, "unknown operation %s", what);
    }
    if (r.body.status == ST_OK)
        atomic_fetch_add(&counters.answered, 1);
    else if (r.body.status == ST_REFUSED)
        atomic_fetch_add(&counters.refused, 1);
    else {
        atomic_fetch_add(&counters.errors, 1);
        dlog("%s: request seq %u from pid %ld (%s): %s: %.*s", channel, req.seq,
             (long)req.reply_to, op_name(req.op), status_name(r.body.status),
             (int)r.body.len, r.body.data);
    }
    if (c.log_level == LOG_LEVEL_DEBUG && r.body.status != ST_REFUSED)
        dlog("%s: served seq %u from pid %ld: %s, %s", channel, req.seq, (long)req.reply_to,
             op_name(req.op), status_name(r.body.status));
    if (c.reply_delay_ms > 0 && r.body.status != ST_REFUSED) {   /* slow work, on purpose */
        struct timespec work = { c.reply_delay_ms / 1000, (c.reply_delay_ms % 1000) * 1000000L };
        while (nanosleep(&work, &work) != 0 && errno == EINTR)
            ;
    }
    send_reply(req.reply_to, &r);
    return true;
}
/* end region: serve */

int serve_wake(void)
{
    const struct timespec pause = { 0, 10000000 };  /* 10 ms */
    struct req_msg m = { .mtype = REQ_TYPE };

    m.body.op = OP_WAKE;
    memcpy(m.body.data, &wake_token, sizeof wake_token);
    /* The receiver is taking requests off the queue, so room comes soon,
     * unless the queue is full of replies nobody takes: then give up after
     * a second, and the caller removes the queue (which wakes it too). */
    for (int attempt = 0; attempt < 100; attempt++) {
        if (msgsnd(reply_msqid, &m, REQ_HEADER + sizeof wake_token, IPC_NOWAIT) == 0)
            return 0;
        if (errno != EAGAIN && errno != EINTR)
            return errno;
        purge_orphans();
        nanosleep(&pause, NULL);
    }
    return EAGAIN;
}
