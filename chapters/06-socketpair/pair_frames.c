/* pair_frames.c - length-prefixed frames carry messages of any size whole over a byte stream.
 *
 * Lesson: a stream socket moves bytes, not messages.  A message larger than
 * the socket's buffer cannot be in the socket at once, so the reader gets
 * it in pieces, and a reader that expects one read() per message gets a
 * piece (--naive shows it).  A frame (lib/frame.h) puts the length in front
 * of the message, and read_full()/write_full() loop over short counts and
 * EINTR, so every message arrives whole.  --interrupt makes it harder: a
 * timer signal every 100 microseconds interrupts the reads and writes of
 * both processes.
 *
 * Run:  pair_frames                        # 5 B, 100 kB and 1 MB frames, whole
 *       pair_frames --naive                # one read() per message: pieces
 *       pair_frames --interrupt 3000000    # a 3 MB frame under signals
 *
 * You should see the socket buffer's size, then one line per message, e.g.
 *       frame 3: 1000000 bytes sent; child: 1000000 bytes arrived whole, content ok
 * and with --naive, reads that return part of a message:
 *       message 3: one read() returned 131072 of 1000000 bytes, content of message 3
 */
#include "ipclab.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_MESSAGES 64
#define REPLY_MAX 256
static bool naive = false, interrupt = false;
static long sndbuf = 65536;
static long sizes[MAX_MESSAGES] = { 5, 100000, 1000000 };
static int nsizes = 3;

/* Byte j of message i: a hash of both, so that no stretch of one message
 * looks like the start of another, or like another stretch of itself: the
 * child can tell whose bytes it holds and whether they are in place. */
static unsigned char pattern(int i, size_t j)
{
    uint32_t x = (uint32_t)j * 2654435761u + (uint32_t)i * 0x9e3779b9u + 1u;

    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    return (unsigned char)(x >> 5);
}

static void fill(unsigned char *buf, int i, size_t len)
{
    for (size_t j = 0; j < len; j++)
        buf[j] = pattern(i, j);
}

static bool matches(const unsigned char *buf, int i, size_t len)
{
    for (size_t j = 0; j < len; j++)
        if (buf[j] != pattern(i, j))
            return false;
    return true;
}

/* --- signals for --interrupt ----------------------------------------------- */

static volatile sig_atomic_t ticks;

static void on_tick(int sig)
{
    (void)sig;
    ticks++;
}

/* The timer runs only around frame transfers: stdio is not written to
 * survive EINTR, read_full() and write_full() are. */
static void ticking(bool on)
{
    static bool installed;
    struct itimerval timer = { { 0, on ? 100 : 0 }, { 0, on ? 100 : 0 } };

    if (!interrupt)
        return;
    if (!installed) {
        struct sigaction sa = { 0 };
        sa.sa_handler = on_tick;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;             /* no SA_RESTART: calls fail with EINTR */
        if (sigaction(SIGALRM, &sa, NULL) != 0)
            die("sigaction");
        installed = true;
    }
    if (setitimer(ITIMER_REAL, &timer, NULL) != 0)
        die("setitimer");
}

static void pause_ms(long ms)
{
    struct timespec t = { 0, ms * 1000000 };

    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/* --- the child ----------------------------------------------------------------- */

static void reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(int fd, const char *fmt, ...)
{
    char text[REPLY_MAX];
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    ticking(true);
    frame_send_or_die(fd, text, (size_t)len < sizeof text ? (size_t)len : sizeof text - 1);
    ticking(false);
}

/* region: child-frames */
static void child_frames(int fd)
{
    for (int i = 0;; i++) {
        void *payload;
        size_t len;
        enum frame_result r;

        if (interrupt)
            pause_ms(10);        /* the parent blocks mid-write meanwhile */
        ticking(true);
        r = frame_recv_alloc(fd, FRAME_MAX, &payload, &len);
        ticking(false);
        if (r == FRAME_EOF)
            break;
        if (r != FRAME_OK)
            fatal("child: frame %d: %s", i + 1, frame_result_name(r));
        reply(fd, "%zu bytes arrived whole, %s", len,
              len == (size_t)sizes[i] && matches(payload, i, len) ? "content ok" : "CONTENT WRONG");
        free(payload);
    }
    if (interrupt)
        reply(fd, "signals in the child during transfers: %ld", (long)ticks);
}
/* end region: child-frames */

/* region: child-naive */
/* What a reader without frames does: one read() per message, trusting it to
 * return the whole message. */
static void child_naive(int fd)
{
    static unsigned char buf[FRAME_MAX];
    unsigned long long left = 0;
    ssize_t got;

    for (int i = 0; i < nsizes; i++) {
        while ((got = read(fd, buf, (size_t)sizes[i])) < 0 && errno == EINTR)
            ;
        if (got < 0)
            die("child: read");
        reply(fd, "one read() returned %zd of %ld bytes, %s", got, sizes[i],
              matches(buf, i, (size_t)got) ? "content of this message"
                                           : "NOT this message's bytes");
    }
    while ((got = read(fd, buf, sizeof buf)) != 0) {    /* the rest, to EOF */
        if (got < 0 && errno != EINTR)
            die("child: read");
        if (got > 0)
            left += (unsigned long long)got;
    }
    reply(fd, "after %d reads, %llu bytes were still unread", nsizes, left);
}
/* end region: child-naive */

/* --- the parent ---------------------------------------------------------------- */

static void print_reply(int fd, const char *prefix)
{
    char text[REPLY_MAX];
    int eof;
    size_t len;

    ticking(true);
    len = frame_recv_or_die(fd, text, sizeof text - 1, &eof);
    ticking(false);
    if (eof)
        fatal("the child ended without replying");
    text[len] = '\0';
    printf("%s%s\n", prefix, text);
}

static const struct cli_option options[] = {
    CLI_OPTION_FLAG("naive", &naive, "no frames: the child does one read() per message"),
    CLI_OPTION_FLAG("interrupt", &interrupt, "a SIGALRM every 100 us during transfers, no SA_RESTART"),
    CLI_OPTION_LONG("sndbuf", &sndbuf, 4096, 4194304, "BYTES", "SO_SNDBUF asked for the parent's end"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "The parent sends messages of the given SIZEs to its child over a\n"
               "socketpair, as frames (or, with --naive, as bare bytes).",
    .options = options,
    .operands = "[SIZE]...",
    .operands_min = 0,
    .operands_max = MAX_MESSAGES,
    .details = "Sizes run from 0 to 16777216 bytes; default: 5 100000 1000000.",
};

int main(int argc, char **argv)
{
    int first = cli_parse(&cli, argc, argv), sv[2], status, handle;
    socklen_t optlen = sizeof(int);
    int effective;
    unsigned char *buf;
    long largest = 0;
    pid_t pid;

    if (argc > first) {
        nsizes = argc - first;
        for (int i = 0; i < nsizes; i++)
            sizes[i] = parse_long_option("SIZE", argv[first + i], 0, (long)FRAME_MAX);
    }
    for (int i = 0; i < nsizes; i++)
        if (sizes[i] > largest)
            largest = sizes[i];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("socketpair");
    /* A known, modest buffer: what one read() can return is bounded by it. */
    effective = (int)sndbuf;
    if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &effective, sizeof effective) != 0)
        die("setsockopt SO_SNDBUF");
    if (getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &effective, &optlen) != 0)
        die("getsockopt SO_SNDBUF");
    printf("socket send buffer: %d bytes (SO_SNDBUF; the kernel doubles what is asked)\n", effective);

    pid = fork_child_or_die(&handle);
    if (pid == 0) {
        close(sv[0]);
        if (naive)
            child_naive(sv[1]);
        else
            child_frames(sv[1]);
        exit(0);
    }
    close(sv[1]);

    buf = malloc(largest > 0 ? (size_t)largest : 1);
    if (buf == NULL)
        die("malloc");

    /* region: parent */
    for (int i = 0; i < nsizes; i++) {
        size_t len = (size_t)sizes[i];
        char prefix[96];

        fill(buf, i, len);
        ticking(true);
        if (naive)
            write_full_or_die(sv[0], buf, len);       /* bare bytes, no length */
        else
            frame_send_or_die(sv[0], buf, len);       /* 4-byte length, then bytes */
        ticking(false);
        if (naive)
            continue;                                 /* replies come at the end */
        snprintf(prefix, sizeof prefix, "frame %d: %zu bytes sent; child: ", i + 1, len);
        print_reply(sv[0], prefix);
    }
    /* end region: parent */
    if (shutdown(sv[0], SHUT_WR) != 0)                /* end of stream for the child */
        die("shutdown");
    if (naive) {
        for (int i = 0; i < nsizes; i++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "message %d: ", i + 1);
            print_reply(sv[0], prefix);
        }
        print_reply(sv[0], "");
    }
    if (interrupt) {
        print_reply(sv[0], "");
        printf("signals in the parent during transfers: %ld\n", (long)ticks);
    }
    free(buf);

    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    cleanup_forget(handle);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
