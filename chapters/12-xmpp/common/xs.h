/* xs.h - the few things every chapter 12 program does with libstrophe:
 * log in with a deadline, run the event loop until something happened,
 * log out cleanly, check a JID before sending it to the server, and make
 * the small stanzas (a presence, an empty child) more than one of them sends.
 *
 * libstrophe is callback-driven: xmpp_connect_client() only starts the
 * connection, and everything (TLS, SASL, resource binding, stanzas) happens
 * inside xmpp_run_once().  The helpers here turn that into the bounded,
 * sequential steps a small program reads best as.
 */
#ifndef CH12_XS_H
#define CH12_XS_H

#include <stdbool.h>
#include <stddef.h>
#include <strophe.h>

#include "cli.h"

/* The options every program shares (defaults in xs.c). */
struct xs_account {
    const char *jid;       /* user@domain or user@domain/resource */
    const char *password;
    const char *host;      /* where the server listens */
    long port;
    long timeout_ms;       /* bound on logging in and on logging out */
};

enum xs_state { XS_CONNECTING, XS_ONLINE, XS_FAILED, XS_CLOSED };

/* A stanza handler, installed before the connection starts: a server may
 * route a stanza to a new resource as soon as it is bound, before the
 * login is reported, and one that arrives before its handler is lost. */
struct xs_handler {
    xmpp_handler fn;
    const char *name;      /* "message", "presence", "iq" or NULL: all */
    void *arg;
};

struct xs_session {
    xmpp_ctx_t *ctx;
    xmpp_conn_t *conn;
    enum xs_state state;
    char why[256];         /* one plain line when the state is XS_FAILED */
};

/* A context whose log messages are kept quiet (the last error is recorded
 * for xs_open's message); verbose sends them all to stderr. */
xmpp_ctx_t *xs_ctx_new(bool verbose);
void xs_ctx_free(xmpp_ctx_t *ctx);

/* Installs `handlers` (may be NULL; ended by fn == NULL), logs in, waits
 * (at most timeout_ms) until the session is bound, and sends the initial presence when
 * `presence` is set.  Returns 0, or -1 with
 * s->why saying what failed: connection refused, unknown host, wrong
 * password, no answer in time. */
int xs_open(struct xs_session *s, xmpp_ctx_t *ctx, const struct xs_account *a, bool presence,
            const struct xs_handler *handlers);

/* xs_open, or one line on stderr ("PROGRAM: why", or "PROGRAM: WHO: why"
 * when who is not NULL) and exit status 1. */
void xs_open_or_exit(struct xs_session *s, xmpp_ctx_t *ctx, const struct xs_account *a,
                     bool presence, const struct xs_handler *handlers, const char *who);

/* Sends presence unavailable (when `presence`), closes the stream and waits
 * (at most timeout_ms) until the server closed its side too.  Returns 0, or
 * -1 when the wait ran out.  Releases the connection either way. */
int xs_close(struct xs_session *s, bool presence, long timeout_ms);

/* Runs the event loop until done(arg) is true or timeout_ms passed; true
 * when done.  done is checked after every round of the loop. */
bool xs_run_until(xmpp_ctx_t *ctx, bool (*done)(void *arg), void *arg, long timeout_ms);

/* true when text looks like a JID: node@domain[/resource], node and domain
 * non-empty without '@', '/', blanks or control characters, sizes within
 * RFC 7622's 1023 bytes each. */
bool xs_jid_valid(const char *text);

/* Sends a presence of type (NULL: available; "unavailable", "subscribe",
 * "subscribed"...) to the JID to (NULL: to the server, for our contacts). */
void xs_send_presence(xmpp_conn_t *conn, const char *type, const char *to);

/* Adds an empty element <name xmlns='ns'/> to stanza. */
void xs_add_child(xmpp_stanza_t *stanza, const char *name, const char *ns);

/* A usage error (exit status 2) naming --option unless jid is valid. */
void xs_check_jid(const char *option, const char *jid);

/* A body of size copies of fill, zero-terminated, for the load tests;
 * free() it.  Dies when malloc fails. */
char *xs_filled_body(long size, char fill);

/* Milliseconds on CLOCK_MONOTONIC. */
long long xs_now_ms(void);

/* The libstrophe option table entries every program shares. */
#define XS_ACCOUNT_OPTIONS(a)                                                       \
    CLI_OPTION_STRING("jid", &(a).jid, "JID", "who to log in as"),                   \
    CLI_OPTION_STRING("password", &(a).password, "TEXT", "that account's password"), \
    CLI_OPTION_STRING("host", &(a).host, "ADDR", "where the XMPP server listens"),   \
    CLI_OPTION_LONG("port", &(a).port, 1, 65535, "PORT",                             \
                    "its client port (xmpp-server.sh start prints it)"),             \
    CLI_OPTION_LONG("timeout-ms", &(a).timeout_ms, 100, 60000, "MS",                 \
                    "longest wait to log in or out")

#endif
