/* uds_server.c - one process serves several Unix-domain socket clients at once with poll().
 *
 * Lesson: a server that reads from one client until it is done makes every
 * other client wait.  poll() tells the server which sockets have something
 * to read, so it can serve whoever is ready, and never block on a slow
 * client: the sockets are non-blocking, each client's answers wait in its
 * own buffer until poll() says the socket takes more (POLLOUT), and a
 * client whose buffer is full is not read until it takes its answers.  A
 * listening Unix-domain socket is a file: the server makes it (mode 0600) in
 * a private mkdtemp directory and removes it when it stops, including on
 * SIGTERM and SIGINT, which it turns into a clean stop (a self-pipe wakes
 * the poll() loop; the handler does nothing else).
 *
 * Run:  uds_server                           # stops after 500 ms without a client
 *       uds_server --idle-ms 60000 &         # then, with the path it prints:
 *       uds_client SOCKET hello world
 *       kill %1                              # SIGTERM: clean stop
 *
 * You should see "listening on PATH", a line for each client that comes and
 * goes and for each line it sends, and at the end:
 *       SIGTERM: stopping; clients served: 1
 *       removed /tmp/ipclab-uds-Ab12Cd/server.sock
 */
#include "ipclab.h"
#include "common/uds.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 64
#define OUT_MAX (8 * LINE_MAX_BYTES)   /* answers waiting for one client */
static long idle_ms = 500, max_clients = 16;

/* region: signals */
static volatile sig_atomic_t stop_signal;
static int wake[2];                  /* the self-pipe */

/* Async-signal-safe: sets a flag and writes one byte, keeping errno. */
static void on_stop(int sig)
{
    int saved = errno;
    ssize_t ignored = write(wake[1], "", 1);

    (void)ignored;                   /* a full pipe already wakes poll() */
    stop_signal = sig;
    errno = saved;
}

static void catch_stop_signals(void)
{
    struct sigaction sa = { 0 };

    if (pipe(wake) != 0)
        die("pipe");
    if (fcntl(wake[1], F_SETFL, O_NONBLOCK) != 0)      /* never block in the handler */
        die("fcntl");
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        die("sigaction");
    /* A client that goes away while we answer must not kill the server:
     * write() then fails with EPIPE instead. */
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        die("sigaction SIGPIPE");
}
/* end region: signals */

struct client {
    int id;
    bool eof;                         /* it sent end-of-file: answer, then drop */
    struct line_reader reader;
    size_t out_len;                   /* answers not yet written */
    char out[OUT_MAX];
};

static struct client clients[MAX_CLIENTS];
static int nclients, served;

static void drop(int i, const char *why)
{
    close(clients[i].reader.fd);      /* first: "left" means the descriptor is gone */
    printf("client %d %s (%d connected now)\n", clients[i].id, why, nclients - 1);
    clients[i] = clients[--nclients];       /* the last one takes its place */
}

/* Room for one more answer: only then is the client read. */
static bool has_room(const struct client *c)
{
    return OUT_MAX - c->out_len >= LINE_MAX_BYTES + 1;
}

/* region: serve */
/* Answers every complete line already read, as long as there is room for
 * the answers: lines that came together in one read() are all served. */
static void answer_lines(struct client *c)
{
    char line[LINE_MAX_BYTES + 1];
    ssize_t len;

    while (has_room(c) && (len = line_take(&c->reader, line, sizeof line)) >= 0) {
        printf("client %d: \"%s\"\n", c->id, line);
        for (ssize_t k = 0; k < len; k++)
            c->out[c->out_len + (size_t)k] = (char)toupper((unsigned char)line[k]);
        c->out[c->out_len + (size_t)len] = '\n';
        c->out_len += (size_t)len + 1;
    }
}

/* poll() said the client is readable: one read(), then answer.  Returns
 * false if the client was dropped. */
static bool serve_input(int i)
{
    struct client *c = &clients[i];
    ssize_t got = line_fill(&c->reader);

    if (got < 0 && errno == EAGAIN)
        return true;                      /* nothing after all */
    if (got < 0) {
        drop(i, errno == ENOBUFS ? "sent a line that is too long" : "failed");
        return false;
    }
    if (got == 0)
        c->eof = true;
    answer_lines(c);
    return true;
}

/* poll() said the socket takes more: write all it takes, never waiting
 * (EAGAIN: it is full).  Returns false if the client was dropped. */
static bool serve_output(int i)
{
    struct client *c = &clients[i];

    while (c->out_len > 0) {
        ssize_t put = write(c->reader.fd, c->out, c->out_len);

        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0 && errno == EAGAIN)
            break;
        if (put < 0) {
            /* EPIPE: it closed first (SIGPIPE is ignored, so we get the error) */
            drop(i, errno == EPIPE || errno == ECONNRESET ? "vanished" : "failed");
            return false;
        }
        c->out_len -= (size_t)put;
        memmove(c->out, c->out + put, c->out_len);
        answer_lines(c);                  /* lines that waited for room */
    }
    return true;
}
/* end region: serve */

static const struct cli_option options[] = {
    CLI_OPTION_LONG("idle-ms", &idle_ms, 1, 600000, "MS", "stop after this long without any activity"),
    CLI_OPTION_LONG("max-clients", &max_clients, 1, MAX_CLIENTS, "N", "clients connected at once"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Serves several clients at once on a Unix-domain socket with poll():\n"
               "each line a client sends comes back in capitals.",
    .options = options,
    .details = "Stops cleanly on SIGTERM or SIGINT, or after --idle-ms without activity,\n"
               "and removes its socket file and directory.",
};

int main(int argc, char **argv)
{
    struct uds_place place;
    int listener, socket_handle, err;

    cli_parse(&cli, argc, argv);
    catch_stop_signals();           /* before anything exists that needs removing */

    uds_place_make(&place, "server.sock");
    listener = uds_listen_or_die(place.path, 16, &socket_handle);
    printf("listening on %s\n", place.path);

    /* region: loop */
    while (!stop_signal) {
        struct pollfd fds[2 + MAX_CLIENTS];
        int n = 0, ready;

        fds[n++] = (struct pollfd){ .fd = wake[0], .events = POLLIN };
        /* At the limit, stop accepting: new clients wait in the backlog. */
        fds[n++] = (struct pollfd){ .fd = nclients < max_clients ? listener : -1, .events = POLLIN };
        for (int i = 0; i < nclients; i++) {
            struct client *c = &clients[i];
            short events = 0;

            if (!c->eof && has_room(c))
                events |= POLLIN;         /* read only what we can answer */
            if (c->out_len > 0)
                events |= POLLOUT;        /* answers wait: tell us when it takes them */
            fds[n++] = (struct pollfd){ .fd = c->reader.fd, .events = events };
        }

        ready = poll(fds, (nfds_t)n, (int)idle_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            die("poll");
        if (ready == 0) {
            printf("no activity for %ld ms: stopping; clients served: %d\n", idle_ms, served);
            break;
        }
        if (fds[0].revents)
            continue;               /* a stop signal: the loop condition sees it */
        /* Clients first, from the last: drop() moves the last into slot i. */
        for (int i = nclients - 1; i >= 0; i--) {
            short rev = fds[2 + i].revents;

            if ((rev & (POLLIN | POLLHUP | POLLERR)) && !clients[i].eof && has_room(&clients[i]) &&
                !serve_input(i))
                continue;
            if ((rev & (POLLOUT | POLLERR | POLLHUP)) && clients[i].out_len > 0 && !serve_output(i))
                continue;
            if (clients[i].eof && clients[i].out_len == 0)
                drop(i, "left");            /* everything it sent is answered */
        }
        if (fds[1].revents & POLLIN) {
            int fd = accept(listener, NULL, NULL);
            if (fd < 0 && errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
                die("accept");
            if (fd >= 0 && fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
                die("fcntl O_NONBLOCK");
            if (fd >= 0) {
                struct client *c = &clients[nclients];

                c->id = ++served;
                c->eof = false;
                c->out_len = 0;
                line_reader_init(&c->reader, fd);
                nclients++;
                printf("client %d connected (%d connected now)\n", served, nclients);
            }
        }
    }
    /* end region: loop */

    if (stop_signal)
        printf("%s: stopping; clients served: %d\n",
               stop_signal == SIGTERM ? "SIGTERM" : "SIGINT", served);
    while (nclients > 0)
        drop(nclients - 1, "disconnected by the server");
    close(listener);
    err = cleanup_remove(socket_handle);
    if (err != 0)
        die_errnum(err, "unlink %s", place.path);
    printf("removed %s\n", place.path);
    return 0;                       /* exit removes the directory */
}
