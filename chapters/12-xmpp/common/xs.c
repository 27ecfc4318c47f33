/* xs.c - see xs.h. */
#include "xs.h"
#include "die.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long long xs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libstrophe says why a login failed only in its log: keep the last
 * warning or error, and whether SASL (the "auth" area) refused us. */
static char last_log[200];
static bool auth_refused;
static int connect_errno;

static void quiet_log(void *userdata, xmpp_log_level_t level, const char *area, const char *msg)
{
    bool verbose = userdata != NULL;
    if (verbose)
        fprintf(stderr, "libstrophe %s: %s\n", area, msg);
    if (level >= XMPP_LEVEL_WARN)
        snprintf(last_log, sizeof last_log, "%s: %s", area, msg);
    if (strstr(msg, "auth failed") != NULL || strcmp(area, "auth") == 0)
        auth_refused = true;
    /* The reason a TCP connect failed is only logged, as a number. */
    int e;
    if (sscanf(msg, "connection failed, error %d", &e) == 1)
        connect_errno = e;
}

/* RFC 6120's names for the stream errors, in libstrophe's order. */
static const char *const stream_errors[] = {
    "bad-format", "bad-namespace-prefix", "conflict", "connection-timeout", "host-gone",
    "host-unknown", "improper-addressing", "internal-server-error", "invalid-from",
    "invalid-id", "invalid-namespace", "invalid-xml", "not-authorized", "policy-violation",
    "remote-connection-failed", "resource-constraint", "restricted-xml", "see-other-host",
    "system-shutdown", "undefined-condition", "unsupported-encoding",
    "unsupported-stanza-type", "unsupported-version", "xml-not-well-formed",
};

static void describe_stream_error(char *buf, size_t size, const xmpp_stream_error_t *e)
{
    size_t n = sizeof stream_errors / sizeof stream_errors[0];
    const char *name = (size_t)e->type < n ? stream_errors[e->type] : "unknown";
    snprintf(buf, size, "the server closed the stream: %s%s%s%s", name, e->text ? " (" : "",
             e->text ? e->text : "", e->text ? ")" : "");
}

static xmpp_log_t log_quiet = { quiet_log, NULL };
static xmpp_log_t log_verbose = { quiet_log, &log_verbose };

xmpp_ctx_t *xs_ctx_new(bool verbose)
{
    xmpp_initialize();
    return xmpp_ctx_new(NULL, verbose ? &log_verbose : &log_quiet);
}

void xs_ctx_free(xmpp_ctx_t *ctx)
{
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
}

static void on_conn(xmpp_conn_t *conn, xmpp_conn_event_t event, int error,
                    xmpp_stream_error_t *stream_error, void *userdata)
{
    struct xs_session *s = userdata;
    (void)conn;
    if (event == XMPP_CONN_CONNECT) {
        s->state = XS_ONLINE;
        return;
    }
    /* A disconnect before we were online is a failed login. */
    if (s->state == XS_CONNECTING) {
        s->state = XS_FAILED;
        if (error == 0)
            error = connect_errno;
        if (error != 0)
            snprintf(s->why, sizeof s->why, "cannot reach the server: connect: %s (%s)",
                     errno_name(error), strerror(error));
        else if (auth_refused)
            snprintf(s->why, sizeof s->why, "the server refused the login (wrong password or unknown user)");
        else if (stream_error != NULL)
            describe_stream_error(s->why, sizeof s->why, stream_error);
        else
            snprintf(s->why, sizeof s->why, "the login failed (%s)", last_log[0] ? last_log : "no reason given");
    } else {
        s->state = XS_CLOSED;
        if (stream_error != NULL)
            describe_stream_error(s->why, sizeof s->why, stream_error);
    }
}

bool xs_run_until(xmpp_ctx_t *ctx, bool (*done)(void *arg), void *arg, long timeout_ms)
{
    long long deadline = xs_now_ms() + timeout_ms;
    while (!done(arg)) {
        long long left = deadline - xs_now_ms();
        if (left <= 0)
            return false;
        xmpp_run_once(ctx, left < 50 ? (unsigned long)left : 50);
    }
    return true;
}

static bool settled(void *arg)
{
    const struct xs_session *s = arg;
    return s->state != XS_CONNECTING;
}

static bool closed(void *arg)
{
    const struct xs_session *s = arg;
    return s->state == XS_CLOSED || s->state == XS_FAILED;
}

/* region: login */
int xs_open(struct xs_session *s, xmpp_ctx_t *ctx, const struct xs_account *a, bool presence,
            const struct xs_handler *handlers)
{
    memset(s, 0, sizeof *s);
    s->ctx = ctx;
    s->state = XS_CONNECTING;
    last_log[0] = '\0';
    auth_refused = false;
    connect_errno = 0;
    s->conn = xmpp_conn_new(ctx);
    if (s->conn == NULL) {
        snprintf(s->why, sizeof s->why, "libstrophe could not make a connection (out of memory)");
        return -1;
    }
    xmpp_conn_set_jid(s->conn, a->jid);
    xmpp_conn_set_pass(s->conn, a->password);
    /* Loopback to a private server without a certificate: no TLS, and no
     * stream management (a closed stream should end the session). */
    xmpp_conn_set_flags(s->conn, XMPP_CONN_FLAG_DISABLE_TLS | XMPP_CONN_FLAG_DISABLE_SM);
    /* Before connecting: the server may route a stanza to the new resource
     * as soon as it is bound, before libstrophe reports the login. */
    for (const struct xs_handler *h = handlers; h != NULL && h->fn != NULL; h++)
        xmpp_handler_add(s->conn, h->fn, NULL, h->name, NULL, h->arg);
    if (xmpp_connect_client(s->conn, a->host, (unsigned short)a->port, on_conn, s) != XMPP_EOK) {
        snprintf(s->why, sizeof s->why, "cannot reach the server at %s port %ld (%s)", a->host,
                 a->port, last_log[0] ? last_log : "unknown host?");
        s->state = XS_FAILED;
    } else if (!xs_run_until(ctx, settled, s, a->timeout_ms)) {
        snprintf(s->why, sizeof s->why, "no answer from %s port %ld within %ld ms", a->host,
                 a->port, a->timeout_ms);
        s->state = XS_FAILED;
    }
    if (s->state != XS_ONLINE) {
        xmpp_conn_release(s->conn);
        s->conn = NULL;
        return -1;
    }
    if (presence) {
        xmpp_stanza_t *p = xmpp_presence_new(ctx);
        xmpp_send(s->conn, p);
        xmpp_stanza_release(p);
    }
    return 0;
}

/* end region: login */

void xs_open_or_exit(struct xs_session *s, xmpp_ctx_t *ctx, const struct xs_account *a,
                     bool presence, const struct xs_handler *handlers, const char *who)
{
    if (xs_open(s, ctx, a, presence, handlers) == 0)
        return;
    if (who != NULL)
        fatal("%s: %s", who, s->why);
    fatal("%s", s->why);
}

int xs_close(struct xs_session *s, bool presence, long timeout_ms)
{
    int rc = 0;
    if (s->conn == NULL)
        return 0;
    if (s->state == XS_ONLINE) {
        if (presence)
            xs_send_presence(s->conn, "unavailable", NULL);
        xmpp_disconnect(s->conn);
        if (!xs_run_until(s->ctx, closed, s, timeout_ms))
            rc = -1;
    }
    xmpp_conn_release(s->conn);
    s->conn = NULL;
    return rc;
}

static bool part_ok(const char *p, size_t n)
{
    if (n == 0 || n > 1023)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= ' ' || c == 0x7f || c == '@' || c == '/' || c == '"' || c == '<' || c == '>')
            return false;
    }
    return true;
}

bool xs_jid_valid(const char *text)
{
    const char *at = strchr(text, '@');
    if (at == NULL)
        return false;
    const char *domain = at + 1;
    const char *slash = strchr(domain, '/');
    size_t domain_len = slash ? (size_t)(slash - domain) : strlen(domain);
    if (!part_ok(text, (size_t)(at - text)) || !part_ok(domain, domain_len))
        return false;
    if (slash != NULL) {
        size_t n = strlen(slash + 1);
        if (n == 0 || n > 1023)
            return false;
        for (size_t i = 1; slash[i] != '\0'; i++)
            if ((unsigned char)slash[i] < ' ')
                return false;
    }
    return true;
}

void xs_check_jid(const char *option, const char *jid)
{
    if (!xs_jid_valid(jid))
        usage_error("--%s: '%s' is not a JID (user@domain or user@domain/resource)", option, jid);
}

char *xs_filled_body(long size, char fill)
{
    char *body = malloc((size_t)size + 1);

    if (body == NULL)
        die("malloc");
    memset(body, fill, (size_t)size);
    body[size] = '\0';
    return body;
}

void xs_add_child(xmpp_stanza_t *stanza, const char *name, const char *ns)
{
    xmpp_stanza_t *child = xmpp_stanza_new(xmpp_stanza_get_context(stanza));

    xmpp_stanza_set_name(child, name);
    xmpp_stanza_set_ns(child, ns);
    xmpp_stanza_add_child(stanza, child);    /* takes its own reference */
    xmpp_stanza_release(child);
}

void xs_send_presence(xmpp_conn_t *conn, const char *type, const char *to)
{
    xmpp_stanza_t *p = xmpp_presence_new(xmpp_conn_get_context(conn));

    if (type != NULL)
        xmpp_stanza_set_type(p, type);
    if (to != NULL)
        xmpp_stanza_set_to(p, to);
    xmpp_send(conn, p);
    xmpp_stanza_release(p);
}
