/* shm_bench.c - the same bytes through a shared-memory ring, a socketpair
 * and a pipe, with memcpy as the floor, side by side in one run.
 *
 * Lesson: every way moves the bytes twice (into the channel, out of it),
 * but a pipe or a socket does it inside read() and write(): a system call
 * per chunk each side, and a sleep and a wake-up whenever the small kernel
 * buffer is full or empty.  The ring copies with plain memcpy into memory
 * both processes map, and only touches the kernel when a semaphore has to
 * sleep.  memcpy in one process is what copying costs with no channel.
 *
 * Run:  shm_bench                 # 64 MiB, best of 3 runs each
 *       shm_bench --mib 256 --trials 5
 *
 * You should see one line per way: milliseconds, MiB/s, and ratios to the
 * pipe and to memcpy.  Only the transfer is timed: the receiver is forked
 * and ready before the clock starts, and the clock stops when it has
 * received the last byte.
 */
#include "ring.h"

#include "ipclab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK 65536

static long mib = 64, trials = 3;
static size_t total;
static unsigned char *src, *dst;

static const struct cli_option options[] = {
    CLI_OPTION_LONG("mib", &mib, 1, 1024, "N", "MiB to move each run"),
    CLI_OPTION_LONG("trials", &trials, 1, 20, "N", "runs of each way; the best counts"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Throughput of a shared-memory ring vs a pipe, a socketpair and memcpy.",
    .options = options,
    .details = "mib x trials is at most 4096 (a bounded run).",
};

/* The receiver side of each way: consume `total` bytes into dst. */
static void receive_fd(int fd)
{
    size_t got = 0;
    ssize_t n;

    while (got < total) {
        n = read(fd, dst + got % (8 * CHUNK), CHUNK);   /* a reader's buffer */
        if (n <= 0)
            die("read");
        got += (size_t)n;
    }
}

static void receive_ring(struct ring *r)
{
    size_t got = 0;
    uint32_t len;
    const unsigned char *p;

    while (got < total) {
        p = ring_next(r, &len);
        if (p == NULL)
            die("the ring");
        memcpy(dst + got % (8 * CHUNK), p, len);          /* the copy out */
        ring_release(r);
        got += len;
    }
}

static void send_fd(int fd)
{
    for (size_t off = 0; off < total; off += CHUNK)
        write_full_or_die(fd, src + off, total - off < CHUNK ? total - off : CHUNK);
}

static void send_ring(struct ring *r)
{
    for (size_t off = 0; off < total; off += CHUNK) {
        size_t len = total - off < CHUNK ? total - off : CHUNK;
        unsigned char *p = ring_reserve(r);
        if (p == NULL)
            die("the ring");
        memcpy(p, src + off, len);                        /* the copy in */
        ring_commit(r, (uint32_t)len);
    }
}

enum way { WAY_MEMCPY, WAY_RING, WAY_SOCKETPAIR, WAY_PIPE };
static const char *const way_names[] = { "memcpy (the floor)", "shared-memory ring",
                                         "socketpair", "pipe" };

/* region: timing */
/* One run of one way.  The child says "ready" on a control pipe, the clock
 * starts, the bytes go, the child says "done", the clock stops. */
static uint64_t run_once(enum way way)
{
    int data[2] = { -1, -1 }, ctl[2], handle, status;
    struct ring r = { .timeout_ms = 10000 };
    uint64_t start, ns;
    pid_t pid;
    char c;

    if (way == WAY_MEMCPY) {
        start = monotonic_ns();
        for (size_t off = 0; off < total; off += CHUNK)
            memcpy(dst + off % (8 * CHUNK), src + off, total - off < CHUNK ? total - off : CHUNK);
        return monotonic_ns() - start;
    }
    if (way == WAY_RING)
        ring_create(&r, 8, CHUNK);
    else if ((way == WAY_PIPE ? pipe(data) : socketpair(AF_UNIX, SOCK_STREAM, 0, data)) != 0)
        die(way == WAY_PIPE ? "pipe" : "socketpair");
    if (pipe(ctl) != 0)
        die("pipe");
    pid = fork_child_or_die(&handle);
    if (pid == 0) {
        close(ctl[0]);
        if (data[1] >= 0)
            close(data[1]);
        write_full_or_die(ctl[1], "r", 1);
        if (way == WAY_RING)
            receive_ring(&r);
        else
            receive_fd(data[0]);
        write_full_or_die(ctl[1], "d", 1);
        _exit(0);
    }
    close(ctl[1]);
    if (data[0] >= 0)
        close(data[0]);
    read_full_or_die(ctl[0], &c, 1);                      /* ready */
    start = monotonic_ns();
    if (way == WAY_RING)
        send_ring(&r);
    else
        send_fd(data[1]);
    if (read_full_or_die(ctl[0], &c, 1) != 1)             /* done */
        fatal("the receiver ended early");
    ns = monotonic_ns() - start;
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    cleanup_forget(handle);
    close(ctl[0]);
    if (data[1] >= 0)
        close(data[1]);
    if (way == WAY_RING)
        ring_destroy(&r);
    return ns;
}
/* end region: timing */

int main(int argc, char **argv)
{
    uint64_t best[4];

    cli_parse(&cli, argc, argv);
    if (mib * trials > 4096)
        usage_error("--mib x --trials is %ld, more than 4096", mib * trials);
    total = (size_t)mib << 20;
    src = malloc(total);
    dst = malloc(8 * CHUNK);
    if (src == NULL || dst == NULL)
        die("malloc");
    for (size_t i = 0; i < total; i++)          /* touch every page first */
        src[i] = (unsigned char)(i * 2654435761u >> 24);
    memset(dst, 0, 8 * CHUNK);

    for (int w = 0; w < 4; w++) {
        best[w] = UINT64_MAX;
        for (long t = 0; t < trials; t++) {
            uint64_t ns = run_once((enum way)w);
            if (ns < best[w])
                best[w] = ns;
        }
    }
    printf("%ld MiB from one process to another, %d KiB at a time, best of %ld runs:\n",
           mib, CHUNK / 1024, trials);
    printf("%-20s %10s %10s %9s %10s\n", "way", "ms", "MiB/s", "vs pipe", "vs memcpy");
    for (int w = 0; w < 4; w++) {
        double ms = ns_to_ms(best[w]);
        printf("%-20s %10.1f %10.0f %8.2fx %9.2fx\n", way_names[w], ms,
               (double)mib / (ms / 1000.0), (double)best[WAY_PIPE] / (double)best[w],
               (double)best[WAY_MEMCPY] / (double)best[w]);
    }
    free(src);
    free(dst);
    return 0;
}
