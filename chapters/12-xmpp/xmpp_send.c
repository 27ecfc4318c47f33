/* xmpp_send.c - logs in to an XMPP server, sends one message, logs out.
 *
 * Lesson: with a broker, a sender names the RECIPIENT (a JID), not a
 * socket: it connects only to its own server, which routes the message,
 * or stores it when the recipient is offline.  Every failure (server down,
 * unknown host, wrong password) is one clear line and exit status 1 within
 * --timeout-ms.  --wait-reply shows what came back (the bot's answer, or
 * an error stanza); --kind sends what the bot does not understand.
 *
 * Run:  port=$(chapters/12-xmpp/xmpp-server.sh start run alice:pw-a bot:pw-b)
 *       xmpp_send --port $port --jid alice@localhost --password pw-a \
 *           --to bob@localhost --body hello
 *
 * You should see:
 *       xmpp_send: alice@localhost sent a chat message of 5 bytes to bob@localhost
 */
#include "ipclab.h"
#include "common/xs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generous, yet below the max_stanza_size (65536) of our server: a bigger
 * body makes the server close the stream, which --body-size shows. */
#define BODY_MAX 200000

static struct xs_account account = { "alice@localhost", "alice-pw", "127.0.0.1", 5222, 5000 };
static const char *to = "bot@localhost/echo", *body;
static long body_size = 0;
static bool wait_reply = false, verbose = false;
static int kind = 0;
static const char *const kinds[] = { "chat", "nobody", "iq", NULL };

struct reply {
    bool got;
    char text[512];
};

static bool got_reply(void *arg)
{
    return ((struct reply *)arg)->got;
}

/* The first stanza addressed to us that is a message or an iq answer. */
static int on_stanza(xmpp_conn_t *conn, xmpp_stanza_t *st, void *userdata)
{
    struct reply *r = userdata;
    xmpp_ctx_t *ctx = xmpp_conn_get_context(conn);
    const char *name = xmpp_stanza_get_name(st), *type = xmpp_stanza_get_type(st);
    const char *from = xmpp_stanza_get_from(st);
    const char *id = xmpp_stanza_get_id(st);
    /* Messages, and the answer to our own iq (not libstrophe's login ones). */
    if (strcmp(name, "message") != 0 &&
        (strcmp(name, "iq") != 0 || id == NULL || strcmp(id, "ipclab-q1") != 0))
        return 1;
    if (type != NULL && strcmp(type, "error") == 0) {
        xmpp_stanza_t *err = xmpp_stanza_get_child_by_name(st, "error");
        xmpp_stanza_t *cond = err ? xmpp_stanza_get_children(err) : NULL;
        xmpp_stanza_t *text = err ? xmpp_stanza_get_child_by_name(err, "text") : NULL;
        char *t = text ? xmpp_stanza_get_text(text) : NULL;
        snprintf(r->text, sizeof r->text, "error reply from %s: %s%s%s", from ? from : "the server",
                 cond && xmpp_stanza_get_name(cond) ? xmpp_stanza_get_name(cond) : "unknown",
                 t ? " (" : "", t ? t : "");
        if (t) {
            strncat(r->text, ")", sizeof r->text - strlen(r->text) - 1);
            xmpp_free(ctx, t);
        }
    } else if (strcmp(name, "iq") == 0) {
        snprintf(r->text, sizeof r->text, "iq %s from %s", type ? type : "?", from ? from : "?");
    } else {
        char *b = xmpp_message_get_body(st);
        if (b == NULL)
            return 1;   /* chat states and the like: not an answer */
        snprintf(r->text, sizeof r->text, "reply from %s: %.400s", from ? from : "?", b);
        xmpp_free(ctx, b);
    }
    r->got = true;
    return 1;
}

static xmpp_stanza_t *make_stanza(xmpp_ctx_t *ctx, const char *text)
{
    xmpp_stanza_t *st;
    if (kind == 2) {   /* an iq get in a namespace nobody implements */
        st = xmpp_iq_new(ctx, "get", "ipclab-q1");
        xmpp_stanza_set_to(st, to);
        xs_add_child(st, "query", "urn:ipclab:unknown");
        return st;
    }
    st = xmpp_message_new(ctx, "chat", to, "ipclab-m1");
    if (kind == 0) {
        xmpp_message_set_body(st, text);
    } else {           /* a message with no body, only an unknown element */
        xs_add_child(st, "puzzle", "urn:ipclab:unknown");
    }
    return st;
}

int main(int argc, char **argv)
{
    const struct cli_option options[] = {
        XS_ACCOUNT_OPTIONS(account),
        CLI_OPTION_STRING("to", &to, "JID", "who gets the message"),
        CLI_OPTION_STRING("body", &body, "TEXT", "the message (default hello)"),
        CLI_OPTION_LONG("body-size", &body_size, 0, BODY_MAX, "N",
                        "send N bytes of 'x' instead of --body (0: use --body)"),
        CLI_OPTION_CHOICE("kind", &kind, kinds, "KIND",
                          "chat: a message; nobody: a message without a body; iq: an unknown query"),
        CLI_OPTION_FLAG("wait-reply", &wait_reply, "wait (--timeout-ms) for the answer and print it"),
        CLI_OPTION_FLAG("verbose", &verbose, "show libstrophe's log on stderr"),
        CLI_OPTION_END,
    };
    const struct cli cli = { "Log in to an XMPP server, send one message, log out.", options, NULL, 0, 0,
                             "Exit status 1 (one line on stderr) when the server cannot be reached, "
                             "refuses the login, or gives no answer in time." };
    cli_parse(&cli, argc, argv);
    xs_check_jid("jid", account.jid);
    xs_check_jid("to", to);
    if (body != NULL && body_size > 0)
        usage_error("--body and --body-size: give one of them");
    if (body != NULL && strlen(body) > BODY_MAX)
        usage_error("--body: at most %d bytes", BODY_MAX);

    xmpp_ctx_t *ctx = xs_ctx_new(verbose);
    struct xs_session s;
    struct reply r = { false, "" };
    const struct xs_handler handlers[] = { { on_stanza, NULL, &r }, { NULL, NULL, NULL } };
    xs_open_or_exit(&s, ctx, &account, false, wait_reply ? handlers : NULL, NULL);
    char *text = body_size > 0 ? xs_filled_body(body_size, 'x') : NULL;
    const char *message = text ? text : body ? body : "hello";
    xmpp_stanza_t *st = make_stanza(ctx, message);
    xmpp_send(s.conn, st);
    xmpp_stanza_release(st);
    if (kind == 0)
        printf("xmpp_send: %s sent a chat message of %zu bytes to %s\n", account.jid, strlen(message), to);
    else
        printf("xmpp_send: %s sent %s to %s\n", account.jid,
               kind == 2 ? "an iq query in an unknown namespace" : "a message without a body", to);
    int rc = 0;
    if (wait_reply) {
        if (xs_run_until(ctx, got_reply, &r, account.timeout_ms))
            printf("xmpp_send: %s\n", r.text);
        else if (s.state != XS_ONLINE) {
            fprintf(stderr, "xmpp_send: %s\n", s.why[0] ? s.why : "the server closed the connection");
            rc = 1;
        } else {
            fprintf(stderr, "xmpp_send: no reply within %ld ms\n", account.timeout_ms);
            rc = 1;
        }
    }
    if (xs_close(&s, false, account.timeout_ms) < 0)
        fprintf(stderr, "xmpp_send: the server did not close the stream within %ld ms\n", account.timeout_ms);
    if (rc == 0 && s.why[0] != '\0') {
        fprintf(stderr, "xmpp_send: %s\n", s.why);
        rc = 1;
    }
    xs_ctx_free(ctx);
    free(text);
    return rc;
}
