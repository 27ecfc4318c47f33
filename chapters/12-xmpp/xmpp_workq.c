/* xmpp_workq.c - a work queue through the broker: requests to a bot,
 * replies back, timed beside a Unix socket round trip in the same run.
 *
 * Lesson: what the broker costs.  Every request goes client -> ejabberd ->
 * bot and every reply bot -> ejabberd -> client: two TCP hops, XML parsing
 * and routing each way, where a Unix socket has one kernel copy.  First
 * one request at a time (the round trip, p50 and p99), then --window
 * requests in flight (the throughput, messages per second).  Each reply
 * carries its request's id, which is how the client pairs them.
 *
 * Run:  xmpp_echo --port $port --jid bot@localhost/echo --password pw-b --quiet &
 *       xmpp_workq --port $port --jid alice@localhost --password pw-a --count 1000
 *
 * You should see (numbers vary):
 *       xmpp_workq: 1000 round trips through ejabberd: 420.0 us median, 980.0 us p99, 2300 per second
 *       xmpp_workq: 1000 requests, 16 in flight, through ejabberd: 9100 per second
 *       xmpp_workq: 1000 round trips over a Unix socket pair: 9.1 us median, 20.3 us p99, 98000 per second
 *       xmpp_workq: the broker's round trip is 46x the Unix socket's (median)
 */
#include "ipclab.h"
#include "common/rtt.h"
#include "common/xs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct xs_account account = { "alice@localhost/workq", "alice-pw", "127.0.0.1", 5222, 5000 };
static const char *to = "bot@localhost/echo";
static long count = 200, window = 16, size = 32;
static bool verbose = false;

struct queue {
    long sent, answered, errors;
    uint64_t *sent_at, *rtt;   /* per request id */
    bool *done;
};

static int on_reply(xmpp_conn_t *conn, xmpp_stanza_t *st, void *userdata)
{
    struct queue *q = userdata;
    (void)conn;
    const char *id = xmpp_stanza_get_id(st), *type = xmpp_stanza_get_type(st);
    long n;
    if (id == NULL || sscanf(id, "w%ld", &n) != 1 || n < 0 || n >= count || q->done[n])
        return 1;   /* not one of ours, or a duplicate */
    q->done[n] = true;
    q->rtt[n] = monotonic_ns() - q->sent_at[n];
    q->answered++;
    if (type != NULL && strcmp(type, "error") == 0)
        q->errors++;
    return 1;
}

static void send_request(xmpp_ctx_t *ctx, xmpp_conn_t *conn, struct queue *q, const char *body)
{
    char id[32];
    snprintf(id, sizeof id, "w%ld", q->sent);
    xmpp_stanza_t *m = xmpp_message_new(ctx, "chat", to, id);
    xmpp_message_set_body(m, body);
    q->sent_at[q->sent++] = monotonic_ns();
    xmpp_send(conn, m);
    xmpp_stanza_release(m);
}

static struct queue *current;
static bool all_answered(void *arg) { (void)arg; return current->answered == current->sent; }
static bool window_open(void *arg)
{
    (void)arg;
    return current->sent - current->answered < window;
}

/* Sends count requests, at most `inflight` unanswered at a time; false when
 * the bot stopped answering within the timeout. */
static bool run_phase(xmpp_ctx_t *ctx, xmpp_conn_t *conn, struct queue *q, long inflight,
                      const char *body, uint64_t *elapsed)
{
    long saved = window;
    window = inflight;
    current = q;
    uint64_t start = monotonic_ns();
    while (q->sent < count) {
        if (!xs_run_until(ctx, window_open, NULL, account.timeout_ms))
            return false;
        send_request(ctx, conn, q, body);
    }
    bool ok = xs_run_until(ctx, all_answered, NULL, account.timeout_ms);
    *elapsed = monotonic_ns() - start;
    window = saved;
    return ok;
}

static struct queue *queue_new(void)
{
    struct queue *q = calloc(1, sizeof *q);
    if (q == NULL || !(q->sent_at = calloc((size_t)count, sizeof *q->sent_at)) ||
        !(q->rtt = calloc((size_t)count, sizeof *q->rtt)) || !(q->done = calloc((size_t)count, 1)))
        die("calloc");
    return q;
}

static void queue_free(struct queue *q)
{
    free(q->sent_at), free(q->rtt), free(q->done), free(q);
}

static void report(struct queue *lat, uint64_t t_lat, struct queue *thr, uint64_t t_thr)
{
    struct rtt_stats x, w, u;
    rtt_summarise(lat->rtt, (size_t)count, t_lat, &x);
    rtt_summarise(thr->rtt, (size_t)count, t_thr, &w);
    printf("xmpp_workq: %ld round trips through ejabberd: %.1f us median, %.1f us p99, %.0f per second\n",
           count, x.p50_us, x.p99_us, x.per_s);
    printf("xmpp_workq: %ld requests, %ld in flight, through ejabberd: %.0f per second\n", count, window, w.per_s);
    rtt_unix_socket((size_t)count, (size_t)size, &u);
    printf("xmpp_workq: %ld round trips over a Unix socket pair: %.1f us median, %.1f us p99, %.0f per second\n",
           count, u.p50_us, u.p99_us, u.per_s);
    printf("xmpp_workq: the broker's round trip is %.0fx the Unix socket's (median)\n",
           u.p50_us > 0 ? x.p50_us / u.p50_us : 0);
}

int main(int argc, char **argv)
{
    const struct cli_option options[] = {
        XS_ACCOUNT_OPTIONS(account),
        CLI_OPTION_STRING("to", &to, "JID", "the bot (xmpp_echo) that answers"),
        CLI_OPTION_LONG("count", &count, 1, 100000, "N", "requests in each measurement"),
        CLI_OPTION_LONG("window", &window, 1, 1000, "N", "requests in flight for the throughput"),
        CLI_OPTION_LONG("size", &size, 1, 1000, "BYTES", "body of each request"),
        CLI_OPTION_FLAG("verbose", &verbose, "show libstrophe's log on stderr"),
        CLI_OPTION_END,
    };
    const struct cli cli = { "Requests to an XMPP bot and replies back, timed beside a Unix socket.",
                             options, NULL, 0, 0,
                             "Exit status 1 (one line on stderr) when it cannot log in or the bot "
                             "stops answering for --timeout-ms." };
    cli_parse(&cli, argc, argv);
    xs_check_jid("jid", account.jid);
    xs_check_jid("to", to);

    xmpp_ctx_t *ctx = xs_ctx_new(verbose);
    struct xs_session s;
    xs_open_or_exit(&s, ctx, &account, false, NULL, NULL);
    char *body = xs_filled_body(size, 'j');
    struct queue *lat = queue_new(), *thr = queue_new();
    xmpp_handler_add(s.conn, on_reply, NULL, "message", NULL, lat);
    uint64_t t_lat = 0, t_thr = 0;
    bool ok = run_phase(ctx, s.conn, lat, 1, body, &t_lat);
    xmpp_handler_delete(s.conn, on_reply);
    xmpp_handler_add(s.conn, on_reply, NULL, "message", NULL, thr);
    ok = ok && run_phase(ctx, s.conn, thr, window, body, &t_thr);
    xs_close(&s, false, account.timeout_ms);
    xs_ctx_free(ctx);
    int rc = 1;
    if (!ok)
        fprintf(stderr, "xmpp_workq: %ld of %ld requests answered: the bot (%s) stopped answering for %ld ms\n",
                current->answered, count, to, account.timeout_ms);
    else if (lat->errors + thr->errors > 0)
        fprintf(stderr, "xmpp_workq: %ld of %ld replies were error stanzas: is a bot logged in as %s?\n",
                lat->errors + thr->errors, 2 * count, to);
    else {
        report(lat, t_lat, thr, t_thr);
        rc = 0;
    }
    queue_free(lat), queue_free(thr), free(body);
    return rc;
}
