/* rtt.c - see rtt.h. */
#include "rtt.h"
#include "ipclab.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void rtt_summarise(uint64_t *ns, size_t n, uint64_t total_ns, struct rtt_stats *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return;
    qsort(ns, n, sizeof ns[0], cmp_u64);
    out->p50_us = (double)ns[n / 2] / 1000.0;
    out->p99_us = (double)ns[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1000.0;
    out->per_s = total_ns ? (double)n * 1e9 / (double)total_ns : 0;
}

void rtt_unix_socket(size_t n, size_t size, struct rtt_stats *out)
{
    int sv[2], handle;
    char buf[4096];
    if (size > sizeof buf)
        size = sizeof buf;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    pid_t pid = fork_child_or_die(&handle);
    if (pid == 0) {               /* the echo child */
        close(sv[0]);
        while (read_full(sv[1], buf, size) == (ssize_t)size)
            if (write_full(sv[1], buf, size) < 0)
                break;
        exit(0);
    }
    close(sv[1]);
    uint64_t *ns = malloc(n * sizeof *ns);
    if (ns == NULL)
        die("malloc");
    memset(buf, 'j', size);
    uint64_t start = monotonic_ns();
    for (size_t i = 0; i < n; i++) {
        uint64_t t = monotonic_ns();
        write_full_or_die(sv[0], buf, size);
        if (read_full_or_die(sv[0], buf, size) != size)
            die("read: the echo child ended early");
        ns[i] = monotonic_ns() - t;
    }
    uint64_t total = monotonic_ns() - start;
    close(sv[0]);                 /* EOF: the child returns */
    int status;
    if (waitpid(pid, &status, 0) < 0)
        die("waitpid");
    cleanup_forget(handle);
    rtt_summarise(ns, n, total, out);
    free(ns);
}
