/* zmq_pubsub.c - PUB/SUB with topic prefixes: the slow joiner loses messages, a handshake fixes it.
 *
 * Lesson: a subscriber gets only the messages whose first bytes match one
 * of its subscriptions ("weather." matches "weather.paris").  A publisher
 * sends to the subscriptions it knows at that moment and drops the rest:
 * messages published before a subscriber's subscription reaches it are
 * lost, silently.  Here the subscribers start after a third of the
 * messages and nobody waits: they lose at least that third, and usually
 * more while their subscriptions travel.  --sync is the fix: the
 * publisher is an XPUB socket, which receives each subscription as a
 * message, and it publishes only once every subscription has arrived.
 *
 * Run:  zmq_pubsub                   # loses messages
 *       zmq_pubsub --sync            # loses none
 *       zmq_pubsub --transport tcp --messages 3000 --sync
 *
 * You should see, per subscriber, what it got and lost:
 *       subscriber 'weather.': got 120 of 200 weather. messages, lost 80, 0 of other topics
 * and with --sync "lost 0".
 */
#include "ipclab.h"
#include "zh.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

static int transport = ZH_INPROC;
static const char *endpoint = NULL;
static long messages = 300, timeout_ms = 1000;
static bool sync_first = false;

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("transport", &transport, zh_transport_names, "KIND", "the wire to the subscribers"),
    CLI_OPTION_STRING("endpoint", &endpoint, "ENDPOINT", "bind the publisher exactly here"),
    CLI_OPTION_LONG("messages", &messages, 3, 100000, "N", "messages to publish, over three topics"),
    CLI_OPTION_FLAG("sync", &sync_first, "wait until every subscription has arrived (XPUB)"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "a subscriber stops after this long without a message"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "A publisher and two subscribers with topic prefixes; without --sync the\n"
               "late subscribers lose messages, with it none.",
    .options = options,
};

static const char *const topics[] = { "weather.paris", "weather.rome", "news.world" };
#define NTOPICS 3

struct sub {
    pthread_t thread;
    void *sock;                  /* made by main: see open_subscriber */
    const char *prefix;
    long got, other, expected;
};
static struct sub subs[] = { { .prefix = "weather." }, { .prefix = "news." } };
#define NSUBS 2
static void *ctx;
static char where[ZH_ENDPOINT_MAX];

/* region: subscriber */
/* main makes and connects each subscriber's socket before its thread
 * starts: a stop signal may shut the context down at any moment, and a
 * thread not yet at zmq_socket would then fail with ETERM.  The socket
 * moves to the thread across pthread_create, a full memory barrier. */
static void open_subscriber(struct sub *me)
{
    void *sock = zh_socket(ctx, ZMQ_SUB);

    zh_setint(sock, ZMQ_RCVHWM, 0, "zmq_setsockopt ZMQ_RCVHWM");   /* 0: no limit */
    zh_setint(sock, ZMQ_RCVTIMEO, (int)timeout_ms, "zmq_setsockopt ZMQ_RCVTIMEO");
    zh_connect(sock, where);
    if (zmq_setsockopt(sock, ZMQ_SUBSCRIBE, me->prefix, strlen(me->prefix)) != 0 ||
        zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "END", 3) != 0)
        zh_die("zmq_setsockopt ZMQ_SUBSCRIBE");
    me->sock = sock;
}

static void *sub_main(void *arg)
{
    struct sub *me = arg;
    void *sock = me->sock;
    char text[128];

    while (zh_recv(sock, text, sizeof text, NULL) >= 0 && strcmp(text, "END") != 0) {
        if (strncmp(text, me->prefix, strlen(me->prefix)) == 0)
            me->got++;
        else
            me->other++;                 /* the filter let through what it should not */
    }
    zmq_close(sock);
    zh_done_signal();
    return NULL;
}
/* end region: subscriber */

/* region: sync */
/* An XPUB socket receives each subscription as a message: byte 1, then the
 * prefix.  Each subscriber makes two (its topic and END); XPUB_VERBOSE
 * passes on a prefix that another subscriber already asked for too. */
static void wait_for_subscriptions(void *pub, int count)
{
    char text[64];

    zh_setint(pub, ZMQ_RCVTIMEO, 5000, "zmq_setsockopt ZMQ_RCVTIMEO");
    for (int seen = 0; seen < count;) {
        long len = zh_recv(pub, text, sizeof text, NULL);

        if (len < 0) {
            if (zh_stopping())
                return;
            zh_die("zmq_recv (waiting for the subscriptions)");
        }
        if (len > 0 && text[0] == 1)
            seen++;
    }
    printf("publisher: all %d subscriptions arrived, publishing now\n", count);
}
/* end region: sync */

static void start_subscribers(void)
{
    for (int i = 0; i < NSUBS; i++) {
        open_subscriber(&subs[i]);
        zh_thread(&subs[i].thread, sub_main, &subs[i]);
    }
}

int main(int argc, char **argv)
{
    void *pub;
    char text[64];
    long late = messages / 3;
    int rc = 0;

    cli_parse(&cli, argc, argv);
    zh_stop_on_signals();
    zh_done_init();
    ctx = zh_context();
    pub = zh_socket(ctx, ZMQ_XPUB);
    zh_setint(pub, ZMQ_SNDHWM, 0, "zmq_setsockopt ZMQ_SNDHWM");   /* drop nothing for space */
    zh_setint(pub, ZMQ_XPUB_VERBOSE, 1, "zmq_setsockopt ZMQ_XPUB_VERBOSE");
    zh_bind(pub, transport, "pubsub", endpoint, where, sizeof where);
    printf("publisher: on %s, %ld messages over topics weather.paris, weather.rome, news.world\n",
           where, messages);
    if (sync_first) {
        start_subscribers();
        wait_for_subscriptions(pub, 2 * NSUBS);
    }
    for (long m = 0; m < messages && !zh_stopping(); m++) {
        if (!sync_first && m == late) {
            printf("publisher: %ld published, starting the subscribers (not waiting for them)\n", m);
            start_subscribers();
        }
        snprintf(text, sizeof text, "%s %ld", topics[m % NTOPICS], m + 1);
        if (zh_send(pub, text, false) != 0 && errno != EINTR)
            zh_die("zmq_send");
        for (int i = 0; i < NSUBS; i++)
            if (strncmp(text, subs[i].prefix, strlen(subs[i].prefix)) == 0)
                subs[i].expected++;
    }
    if (zh_send(pub, "END", false) != 0 && errno != EINTR)
        zh_die("zmq_send");
    zh_done_wait(NSUBS);
    zmq_ctx_shutdown(ctx);
    for (int i = 0; i < NSUBS; i++) {
        struct sub *s = &subs[i];

        pthread_join(s->thread, NULL);
        printf("subscriber '%s': got %ld of %ld %s messages, lost %ld, %ld of other topics\n",
               s->prefix, s->got, s->expected, s->prefix, s->expected - s->got, s->other);
        if (s->other != 0)
            rc = 1;
    }
    if (!sync_first)
        printf("lost for certain: the %ld published before the subscribers started\n", late);
    zmq_close(pub);
    zmq_ctx_term(ctx);
    zh_exit_if_stopped();
    printf("result: weather_got=%ld weather_expected=%ld news_got=%ld news_expected=%ld other=%ld\n",
           subs[0].got, subs[0].expected, subs[1].got, subs[1].expected, subs[0].other + subs[1].other);
    return rc;
}
