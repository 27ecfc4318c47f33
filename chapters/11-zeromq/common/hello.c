/* hello.c - see hello.h. */
#include "hello.h"

#include "ipclab.h"
#include "zh.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

/* What a bad request gets, instead of a crash: the reply says why. */
static void error_reply(void *sock, const char *why)
{
    char reply[128];

    snprintf(reply, sizeof reply, "error: %s", why);
    if (zh_send(sock, reply, false) != 0 && errno != ETERM && errno != EINTR)
        zh_die("zmq_send");
}

/* Dropping a request: a REP socket must answer before it may receive again,
 * so the only way not to answer is to close it.  The same endpoint is
 * bound again (its old listener may take a moment to let go of the port). */
static void *rebind(struct hello_server *s)
{
    void *sock;

    zmq_close(s->sock);
    sock = zh_socket(s->ctx, ZMQ_REP);
    for (int tries = 0; zmq_bind(sock, s->endpoint) != 0; tries++) {
        struct timespec pause = { 0, 10 * 1000 * 1000 };

        if (errno != EADDRINUSE || tries == 200)
            zh_die(s->endpoint);
        nanosleep(&pause, NULL);
    }
    return sock;
}

long hello_serve(struct hello_server *s)
{
    char request[HELLO_REQUEST_MAX + 1], reply[HELLO_REQUEST_MAX + 16];
    long answered = 0, seen = 0;
    bool more;

    zh_setint(s->sock, ZMQ_RCVTIMEO, (int)s->idle_ms, "zmq_setsockopt ZMQ_RCVTIMEO");
    while (s->requests == 0 || answered < s->requests) {
        long len = zh_recv(s->sock, request, sizeof request, &more);

        if (len < 0) {
            if (errno == EAGAIN)
                printf("server: no request for %ld ms: stopping\n", s->idle_ms);
            else if (errno != EINTR && errno != ETERM)
                zh_die("zmq_recv");
            break;
        }
        seen++;
        /* region: malformed */
        if (more) {
            int frames = 1 + zh_drain(s->sock);

            printf("server: request %ld has %d frames, not 1: error reply\n", seen, frames);
            snprintf(reply, sizeof reply, "a request is 1 frame, this one had %d", frames);
            error_reply(s->sock, reply);
            continue;
        }
        if (len > HELLO_REQUEST_MAX) {
            printf("server: request %ld is %ld bytes, over %d: error reply\n", seen, len,
                   HELLO_REQUEST_MAX);
            snprintf(reply, sizeof reply, "a request is at most %d bytes, this one had %ld",
                     HELLO_REQUEST_MAX, len);
            error_reply(s->sock, reply);
            continue;
        }
        /* end region: malformed */
        if (seen == s->drop) {
            printf("server: request %ld '%.40s' left unanswered (socket closed)\n", seen, request);
            s->sock = rebind(s);
            zh_setint(s->sock, ZMQ_RCVTIMEO, (int)s->idle_ms, "zmq_setsockopt ZMQ_RCVTIMEO");
            continue;
        }
        snprintf(reply, sizeof reply, "world: %s", request);
        if (zh_send(s->sock, reply, false) != 0) {
            if (errno == EINTR || errno == ETERM)
                break;
            zh_die("zmq_send");
        }
        answered++;
        if (!s->quiet)
            printf("server: request %ld '%.40s' answered\n", seen, request);
    }
    zmq_close(s->sock);
    s->sock = NULL;
    return answered;
}
