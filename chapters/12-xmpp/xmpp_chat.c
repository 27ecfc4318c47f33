/* xmpp_chat.c - two users talk through the broker: presence, messages, and
 * a message kept for a user who is offline.
 *
 * Lesson: what a broker adds to messaging.  alice and bob log in to the
 * same server (one process, two connections, one libstrophe event loop),
 * subscribe to each other's presence, and exchange --count messages each;
 * then bob logs out, alice SEES him go offline and sends --offline messages
 * anyway: the server stores them (mod_offline) and hands them to bob, in
 * order and stamped with their delay, when he logs in again.  No earlier
 * chapter (and not ZeroMQ) can deliver to a process that is not running.
 *
 * Run:  xmpp_chat --port $port --alice-password pw-a --bob-password pw-b
 *
 * You should see, among the steps:
 *       alice: bob is offline
 *       bob: 3 messages were waiting, delivered from the offline store
 *       result: sent=20 received=20 in_order=yes presence=online,offline,online
 *       offline_sent=3 offline_delivered=3 delayed=3
 */
#include "ipclab.h"
#include "common/xs.h"

#include <stdio.h>
#include <string.h>

static struct xs_account acc[2] = {
    { "alice@localhost/chat", "alice-pw", "127.0.0.1", 5222, 5000 },
    { "bob@localhost/chat", "bob-pw", "127.0.0.1", 5222, 5000 },
};
static const char *const names[2] = { "alice", "bob" };
static long count = 10, offline = 3;
static bool verbose = false;

struct peer {
    int me;                  /* 0 alice, 1 bob */
    struct xs_session s;
    struct xs_handler handlers[3];   /* installed at each login */
    char other[256];         /* the other's bare JID */
    long received, next;     /* live messages: how many, which one is due */
    bool in_order;
    long stored, delayed;    /* offline messages received, how many stamped */
    int other_online;        /* -1 unknown, 0 offline, 1 online */
    char seen[64];           /* what the other's presence did: "online,offline" */
};

static struct peer peers[2];

static void bare_of(const char *jid, char *out, size_t size)
{
    snprintf(out, size, "%.*s", (int)strcspn(jid, "/"), jid);
}

static int on_presence(xmpp_conn_t *conn, xmpp_stanza_t *st, void *userdata)
{
    struct peer *p = userdata;
    const char *from = xmpp_stanza_get_from(st), *type = xmpp_stanza_get_type(st);
    char bare[256];
    if (from == NULL)
        return 1;
    bare_of(from, bare, sizeof bare);
    if (strcmp(bare, p->other) != 0)
        return 1;
    if (type != NULL && strcmp(type, "subscribe") == 0) {
        /* Presence is private: the other sees ours only once we agree. */
        xs_send_presence(conn, "subscribed", bare);
        printf("%s: lets %s see its presence\n", names[p->me], names[!p->me]);
        return 1;
    }
    int online;
    if (type == NULL)
        online = 1;
    else if (strcmp(type, "unavailable") == 0)
        online = 0;
    else
        return 1;   /* subscribed, unsubscribe...: nothing to show */
    if (online != p->other_online) {
        p->other_online = online;
        printf("%s: %s is %s\n", names[p->me], names[!p->me], online ? "online" : "offline");
        size_t n = strlen(p->seen);
        snprintf(p->seen + n, sizeof p->seen - n, "%s%s", n ? "," : "", online ? "online" : "offline");
    }
    return 1;
}

static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *userdata)
{
    struct peer *p = userdata;
    xmpp_ctx_t *ctx = xmpp_conn_get_context(conn);
    char *body = xmpp_message_get_body(st);
    long n;
    char kind[16];
    if (body == NULL)
        return 1;
    if (sscanf(body, "%15s %ld", kind, &n) == 2 && strcmp(kind, "live") == 0) {
        if (n != p->next)
            p->in_order = false;
        p->next = n + 1;
        p->received++;
    } else if (sscanf(body, "%15s %ld", kind, &n) == 2 && strcmp(kind, "stored") == 0) {
        if (n != p->stored + 1)
            p->in_order = false;
        p->stored++;
        /* The server stamps what it kept with when it got it (XEP-0203). */
        if (xmpp_stanza_get_child_by_name_and_ns(st, "delay", "urn:xmpp:delay") != NULL)
            p->delayed++;
    } else {
        printf("%s: an unexpected message: %.80s\n", names[p->me], body);
    }
    xmpp_free(ctx, body);
    return 1;
}

static void send_body(struct peer *from, const char *kind, long n)
{
    char text[64];
    snprintf(text, sizeof text, "%s %ld", kind, n);
    xmpp_stanza_t *m = xmpp_message_new(from->s.ctx, "chat", from->other, NULL);
    xmpp_message_set_body(m, text);
    xmpp_send(from->s.conn, m);
    xmpp_stanza_release(m);
}

static void log_in(xmpp_ctx_t *ctx, int who)
{
    struct peer *p = &peers[who];
    p->handlers[0] = (struct xs_handler){ on_presence, "presence", p };
    p->handlers[1] = (struct xs_handler){ on_message, "message", p };
    xs_open_or_exit(&p->s, ctx, &acc[who], true, p->handlers, names[who]);
    printf("%s: logged in as %s\n", names[who], xmpp_conn_get_bound_jid(p->s.conn));
}

/* Conditions the steps wait for. */
static bool both_see_online(void *arg) { (void)arg; return peers[0].other_online == 1 && peers[1].other_online == 1; }
static bool all_live_in(void *arg) { (void)arg; return peers[0].received >= count && peers[1].received >= count; }
static bool alice_sees_bob_offline(void *arg) { (void)arg; return peers[0].other_online == 0; }
static bool barrier_done(void *arg) { return *(bool *)arg; }
static bool stored_in(void *arg) { (void)arg; return peers[1].stored >= offline && peers[0].other_online == 1; }

static int on_barrier(xmpp_conn_t *conn, xmpp_stanza_t *st, void *userdata)
{
    (void)conn, (void)st;
    *(bool *)userdata = true;
    return 0;
}

static void wait_for(xmpp_ctx_t *ctx, bool (*cond)(void *), void *arg, const char *what)
{
    if (!xs_run_until(ctx, cond, arg, acc[0].timeout_ms))
        fatal("%s did not happen within %ld ms", what, acc[0].timeout_ms);
}

/* region: barrier */
/* The server handles one stream's stanzas in order: once it answered an iq
 * sent after the messages, it has stored every one of them. */
static void server_round_trip(struct peer *p)
{
    bool done = false;
    xmpp_stanza_t *iq = xmpp_iq_new(p->s.ctx, "get", "barrier1");
    xmpp_stanza_set_to(iq, "localhost");
    xs_add_child(iq, "query", "http://jabber.org/protocol/disco#info");
    xmpp_id_handler_add(p->s.conn, on_barrier, "barrier1", &done);
    xmpp_send(p->s.conn, iq);
    xmpp_stanza_release(iq);
    wait_for(p->s.ctx, barrier_done, &done, "the server's answer to alice's iq");
}

/* end region: barrier */

int main(int argc, char **argv)
{
    const struct cli_option options[] = {
        CLI_OPTION_STRING("alice", &acc[0].jid, "JID", "the first user"),
        CLI_OPTION_STRING("alice-password", &acc[0].password, "TEXT", "her password"),
        CLI_OPTION_STRING("bob", &acc[1].jid, "JID", "the second user"),
        CLI_OPTION_STRING("bob-password", &acc[1].password, "TEXT", "his password"),
        CLI_OPTION_STRING("host", &acc[0].host, "ADDR", "where the XMPP server listens"),
        CLI_OPTION_LONG("port", &acc[0].port, 1, 65535, "PORT", "its client port"),
        CLI_OPTION_LONG("timeout-ms", &acc[0].timeout_ms, 100, 60000, "MS", "longest wait for each step"),
        CLI_OPTION_LONG("count", &count, 1, 10000, "N", "messages each user sends the other"),
        CLI_OPTION_LONG("offline", &offline, 0, 500, "N", "messages alice sends bob while he is offline"),
        CLI_OPTION_FLAG("verbose", &verbose, "show libstrophe's log on stderr"),
        CLI_OPTION_END,
    };
    const struct cli cli = { "Two XMPP users: presence, messages in order, and store and forward.",
                             options, NULL, 0, 0,
                             "Exit status 1 (one line on stderr) when a login fails or a step "
                             "does not happen within --timeout-ms." };
    cli_parse(&cli, argc, argv);
    for (int i = 0; i < 2; i++)
        xs_check_jid(names[i], acc[i].jid);
    acc[1].host = acc[0].host, acc[1].port = acc[0].port, acc[1].timeout_ms = acc[0].timeout_ms;

    xmpp_ctx_t *ctx = xs_ctx_new(verbose);
    for (int i = 0; i < 2; i++) {
        peers[i] = (struct peer){ .me = i, .in_order = true, .next = 1, .other_online = -1 };
        bare_of(acc[!i].jid, peers[i].other, sizeof peers[i].other);
    }
    log_in(ctx, 0);
    log_in(ctx, 1);
    for (int i = 0; i < 2; i++)   /* ask to see the other's presence */
        xs_send_presence(peers[i].s.conn, "subscribe", peers[i].other);
    wait_for(ctx, both_see_online, NULL, "seeing each other online");

    for (long n = 1; n <= count; n++) {
        send_body(&peers[0], "live", n);
        send_body(&peers[1], "live", n);
    }
    wait_for(ctx, all_live_in, NULL, "receiving every message");
    printf("alice and bob: %ld messages each way, %s\n", count,
           peers[0].in_order && peers[1].in_order ? "all in order" : "NOT in order");

    xs_close(&peers[1].s, true, acc[1].timeout_ms);
    printf("bob: logged out\n");
    wait_for(ctx, alice_sees_bob_offline, NULL, "alice seeing bob offline");
    for (long n = 1; n <= offline; n++)
        send_body(&peers[0], "stored", n);
    server_round_trip(&peers[0]);
    printf("alice: sent %ld messages to bob while he is offline; the server holds them\n", offline);

    log_in(ctx, 1);
    wait_for(ctx, stored_in, NULL, "bob getting the stored messages");
    printf("bob: %ld messages were waiting, delivered from the offline store\n", peers[1].stored);

    xs_close(&peers[1].s, true, acc[1].timeout_ms);
    xs_close(&peers[0].s, true, acc[0].timeout_ms);
    xs_ctx_free(ctx);

    bool ok = peers[0].in_order && peers[1].in_order && peers[1].stored == offline;
    printf("result: sent=%ld received=%ld in_order=%s presence=%s offline_sent=%ld "
           "offline_delivered=%ld delayed=%ld\n",
           2 * count, peers[0].received + peers[1].received, ok ? "yes" : "no", peers[0].seen,
           offline, peers[1].stored, peers[1].delayed);
    return ok ? 0 : 1;
}
