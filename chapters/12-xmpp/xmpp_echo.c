/* xmpp_echo.c - a bot: answers every chat message it gets, through the server.
 *
 * Lesson: the bot never accepts a connection; like every client it logs in
 * to the broker and waits for stanzas routed to its JID.  It answers a
 * message with "echo: BODY" and the request's id (so a client can pair
 * requests and replies), a body over --max-body with an error stanza, an
 * iq it does not understand with service-unavailable (RFC 6120 8.4), and
 * logs what it ignores.  SIGTERM or SIGINT: presence unavailable (its
 * contacts see it go offline), stream closed, exit 0.
 *
 * Run:  xmpp_echo --port $port --jid bot@localhost/echo --password pw-b &
 *       xmpp_send --port $port --jid alice@localhost --password pw-a \
 *           --to bot@localhost/echo --body ping --wait-reply
 *       kill %1
 *
 * You should see:
 *       xmpp_echo: online as bot@localhost/echo
 *       xmpp_send: reply from bot@localhost/echo: echo: ping
 *       xmpp_echo: SIGTERM: presence unavailable sent, stream closed after 1 answers
 */
#include "ipclab.h"
#include "common/xs.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct xs_account account = { "bot@localhost/echo", "bot-pw", "127.0.0.1", 5222, 5000 };
static long lifetime_ms = 60000, max_messages = 0, max_body = 1024;
static bool quiet = false, verbose = false;

static volatile sig_atomic_t stop_signal = 0;
static void on_stop(int sig) { stop_signal = sig; }

struct bot {
    long answered, refused, ignored;
    long long deadline;
    struct xs_session *s;
};

/* One line per stanza, for the first SAY_MAX: enough to follow a demo,
 * not a flood when a benchmark sends thousands. */
#define SAY_MAX 20

static void say(const char *fmt, const char *a, const char *b)
{
    static long said = 0;
    if (quiet || said > SAY_MAX)
        return;
    if (said++ == SAY_MAX) {
        printf("xmpp_echo: (no line for the next messages: only the first %d are shown)\n", SAY_MAX);
        return;
    }
    printf(fmt, a ? a : "?", b ? b : "");
    putchar('\n');
}

/* region: answer */
static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *userdata)
{
    struct bot *bot = userdata;
    xmpp_ctx_t *ctx = xmpp_conn_get_context(conn);
    const char *type = xmpp_stanza_get_type(st), *from = xmpp_stanza_get_from(st);
    if (type != NULL && strcmp(type, "error") == 0) {
        /* Never answer an error: two bots would bounce it forever. */
        bot->ignored++;
        say("xmpp_echo: ignored an error message from %s%s", from, "");
        return 1;
    }
    char *body = xmpp_message_get_body(st);
    if (body == NULL) {
        bot->ignored++;
        say("xmpp_echo: ignored a message without a body from %s%s", from, "");
        return 1;
    }
    size_t len = strlen(body);
    xmpp_stanza_t *reply;
    if ((long)len > max_body) {
        char text[128];
        snprintf(text, sizeof text, "a body of %zu bytes is over this bot's %ld-byte limit", len, max_body);
        reply = xmpp_stanza_reply_error(st, "modify", "not-acceptable", text);
        bot->refused++;
        say("xmpp_echo: refused an over-long message from %s: %s", from, text);
    } else {
        reply = xmpp_stanza_reply(st);   /* to = from, same id and type */
        xmpp_stanza_del_attribute(reply, "from");
        size_t n = len + sizeof "echo: ";
        char *text = malloc(n);
        if (text == NULL)
            die("malloc");
        snprintf(text, n, "echo: %s", body);
        xmpp_message_set_body(reply, text);
        free(text);
        bot->answered++;
        if (len <= 60)
            say("xmpp_echo: answered %s: %s", from, body);
    }
    if (reply != NULL) {
        xmpp_send(conn, reply);
        xmpp_stanza_release(reply);
    }
    xmpp_free(ctx, body);
    return 1;
}

/* end region: answer */
/* An iq get or set the bot has no handler for must get an error back, or
 * the asker waits forever. */
static int on_iq(xmpp_conn_t *conn, xmpp_stanza_t *st, void *userdata)
{
    struct bot *bot = userdata;
    const char *type = xmpp_stanza_get_type(st);
    if (type == NULL || (strcmp(type, "get") != 0 && strcmp(type, "set") != 0))
        return 1;
    xmpp_stanza_t *reply = xmpp_stanza_reply_error(st, "cancel", "service-unavailable",
                                                   "this bot only answers chat messages");
    if (reply != NULL) {
        xmpp_send(conn, reply);
        xmpp_stanza_release(reply);
    }
    bot->refused++;
    xmpp_stanza_t *child = xmpp_stanza_get_children(st);
    say("xmpp_echo: answered an iq it does not understand (%s) with service-unavailable%s",
        child && xmpp_stanza_get_ns(child) ? xmpp_stanza_get_ns(child) : "no payload", "");
    return 1;
}

static bool should_stop(void *arg)
{
    struct bot *bot = arg;
    return stop_signal != 0 || bot->s->state != XS_ONLINE || xs_now_ms() >= bot->deadline ||
           (max_messages > 0 && bot->answered + bot->refused + bot->ignored >= max_messages);
}

int main(int argc, char **argv)
{
    const struct cli_option options[] = {
        XS_ACCOUNT_OPTIONS(account),
        CLI_OPTION_LONG("lifetime-ms", &lifetime_ms, 100, 3600000, "MS", "stop by itself after this long"),
        CLI_OPTION_LONG("max-messages", &max_messages, 0, 10000000, "N",
                        "stop after N messages (0: no limit)"),
        CLI_OPTION_LONG("max-body", &max_body, 1, 60000, "BYTES", "longest body it echoes"),
        CLI_OPTION_FLAG("quiet", &quiet, "no line per message (for benchmarks)"),
        CLI_OPTION_FLAG("verbose", &verbose, "show libstrophe's log on stderr"),
        CLI_OPTION_END,
    };
    const struct cli cli = { "An XMPP bot that answers every message, until SIGTERM.", options, NULL, 0, 0,
                             "Exit status 1 (one line on stderr) when it cannot log in." };
    cli_parse(&cli, argc, argv);
    xs_check_jid("jid", account.jid);

    /* Our own handlers for the stop signals (cli_parse installed the
     * cleanup ones; this bot owns no IPC object to remove): a flag the
     * loop checks between rounds, so the goodbye happens outside it. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
        die("sigaction");

    xmpp_ctx_t *ctx = xs_ctx_new(verbose);
    struct xs_session s;
    struct bot bot = { 0, 0, 0, xs_now_ms() + lifetime_ms, &s };
    const struct xs_handler handlers[] = {
        { on_message, "message", &bot }, { on_iq, "iq", &bot }, { NULL, NULL, NULL },
    };
    xs_open_or_exit(&s, ctx, &account, true, handlers, NULL);
    printf("xmpp_echo: online as %s\n", xmpp_conn_get_bound_jid(s.conn));

    /* The lifetime bounds the wait; should_stop ends it earlier. */
    xs_run_until(ctx, should_stop, &bot, lifetime_ms + 1000);
    const char *why = stop_signal ? signal_name(stop_signal)
                      : s.state != XS_ONLINE ? "the server closed the stream"
                      : max_messages > 0 && bot.answered + bot.refused + bot.ignored >= max_messages
                          ? "--max-messages reached" : "--lifetime-ms reached";
    int rc = s.state == XS_ONLINE ? 0 : 1;
    if (xs_close(&s, true, account.timeout_ms) < 0) {
        fprintf(stderr, "xmpp_echo: the server did not close the stream within %ld ms\n", account.timeout_ms);
        rc = 1;
    }
    printf("xmpp_echo: %s: presence unavailable sent, stream closed after %ld answers "
           "(%ld refused, %ld ignored)\n", why, bot.answered, bot.refused, bot.ignored);
    xs_ctx_free(ctx);
    return rc;
}
