/* shm_file.c - a file of any size through a small shared-memory ring.
 *
 * Lesson: a fixed segment can carry any amount of data if the two sides
 * take turns through a bounded buffer: the writer waits for a free slot,
 * the reader for a full one, two counting semaphores keep the score.  The
 * writer read()s the file straight into shared memory and the reader
 * write()s straight out of it.  Every wait is bounded and checks that the
 * other side is alive, so either one dying never hangs the other.
 *
 * Run:  head -c 10000000 /dev/urandom > in.bin
 *       shm_file in.bin out.bin && cmp in.bin out.bin && echo same
 *       shm_file --crash reader --crash-after 3 in.bin out.bin   # exit 1
 *
 * You should see "copied 10000000 bytes through 8 slots of 65536 bytes in
 * 153 slots: 12.3 ms, 775.1 MiB/s", then "same".  With --crash, the writer
 * reports the reader killed by SIGKILL after 3 slots, and out.bin is gone.
 */
#include "ring.h"

#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long slots = 8, slot_size = 65536, timeout_ms = 5000, crash_after = 1;
static int crash = 0;
static const char *const crash_names[] = { "none", "writer", "reader", "reader-stops", NULL };
enum { CRASH_NONE, CRASH_WRITER, CRASH_READER, CRASH_READER_STOPS };

static const char *out_path;
static pid_t writer_pid, reader_pid, reader_pid_at_start;
static int reader_status;

static const struct cli_option options[] = {
    CLI_OPTION_LONG("slots", &slots, 1, 1024, "N", "slots in the ring"),
    CLI_OPTION_LONG("slot-size", &slot_size, 1, 1 << 20, "BYTES", "bytes a slot holds"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS",
                    "give up after this long without progress"),
    CLI_OPTION_CHOICE("crash", &crash, crash_names, "SIDE",
                      "SIGKILL that side mid-transfer, or SIGSTOP the reader"),
    CLI_OPTION_LONG("crash-after", &crash_after, 0, 1000000, "N", "...after N slots"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Copy IN to OUT through a ring buffer in shared memory: a writer\n"
               "process and a reader process, two counting semaphores.",
    .options = options,
    .operands = "IN OUT",
    .operands_min = 2,
    .operands_max = 2,
    .details = "On any failure OUT is removed: it is complete or absent.",
};

static bool writer_alive(void *arg)
{
    (void)arg;
    return getppid() == writer_pid;   /* reparented: the writer is gone */
}

static bool reader_alive(void *arg)
{
    (void)arg;
    if (reader_pid > 0 && waitpid(reader_pid, &reader_status, WNOHANG) == reader_pid)
        reader_pid = -1;
    return reader_pid > 0;
}

static void maybe_crash(int side, unsigned long done)
{
    if (done != (unsigned long)crash_after)
        return;
    if (crash == side)
        raise(SIGKILL);
    if (side == CRASH_READER && crash == CRASH_READER_STOPS)
        raise(SIGSTOP);     /* the writer times out, and its cleanup kills us */
}

/* region: reader */
static int reader(struct ring *r, int out)
{
    unsigned long done = 0, bytes = 0;
    const unsigned char *p;
    uint32_t len;

    r->peer_alive = writer_alive;
    for (;;) {
        maybe_crash(CRASH_READER, done);
        p = ring_next(r, &len);
        if (p == NULL)
            break;
        if (len == 0) {                         /* the end marker */
            ring_release(r);
            if (close(out) != 0)
                die("close %s", out_path);
            return 0;
        }
        write_full_or_die(out, p, len);         /* straight out of shared memory */
        ring_release(r);
        done++;
        bytes += len;
    }
    unlink(out_path);
    if (errno == EPIPE)
        fprintf(stderr, "%s: reader: the writer (pid %ld) died after %lu bytes; "
                "removed the incomplete %s\n", program_name, (long)writer_pid, bytes, out_path);
    else
        fprintf(stderr, "%s: reader: no data for %ld ms after %lu bytes; gave up and "
                "removed the incomplete %s\n", program_name, timeout_ms, bytes, out_path);
    return 1;
}
/* end region: reader */

/* region: writer */
static int writer(struct ring *r, int in, int handle, int out_handle, uint64_t start)
{
    unsigned long done = 0, bytes = 0;
    char how[64];
    unsigned char *p;
    ssize_t n = 0;

    r->peer_alive = reader_alive;
    do {
        maybe_crash(CRASH_WRITER, done);
        p = ring_reserve(r);
        if (p == NULL)
            break;
        n = read_full(in, p, (size_t)slot_size);   /* straight into shared memory */
        if (n < 0)
            die("read");
        ring_commit(r, (uint32_t)n);               /* n == 0: the end marker */
        done++;
        bytes += (unsigned long)n;
    } while (n > 0);
    if (p != NULL && waitpid(reader_pid, &reader_status, 0) == reader_pid)
        reader_pid = -1;
    if (reader_pid < 0)
        cleanup_forget(handle);
    if (p != NULL && WIFEXITED(reader_status) && WEXITSTATUS(reader_status) == 0) {
        uint64_t ns = monotonic_ns() - start;
        cleanup_forget(out_handle);                /* complete: it stays */
        printf("copied %lu bytes through %ld slots of %ld bytes in %lu slots: "
               "%.1f ms, %.1f MiB/s\n", bytes, slots, slot_size, done - 1, ns_to_ms(ns),
               ns > 0 ? (double)bytes / (1 << 20) / ((double)ns / 1e9) : 0.0);
        return 0;
    }
    unlink(out_path);
    if (p == NULL && errno == ETIMEDOUT)
        fprintf(stderr, "%s: writer: no free slot for %ld ms after %lu bytes; gave up "
                "and removed the incomplete %s\n", program_name, timeout_ms, bytes, out_path);
    else {
        wait_status_describe(reader_status, how, sizeof how);
        fprintf(stderr, "%s: writer: the reader (pid %ld) %s mid-transfer, "
                "after %lu slots were sent; removed the incomplete %s\n", program_name, (long)reader_pid_at_start,
                how, done, out_path);
    }
    return 1;
}
/* end region: writer */

int main(int argc, char **argv)
{
    int first = cli_parse(&cli, argc, argv), in, out, handle, out_handle = -1;
    struct ring r;
    sigset_t saved;
    uint64_t start;

    if (slots * slot_size > 64L << 20)
        usage_error("--slots x --slot-size is more than 64 MiB of shared memory");
    out_path = argv[first + 1];
    in = open(argv[first], O_RDONLY);
    if (in < 0)
        die("open %s", argv[first]);
    /* Registered, so that a signal or an error removes an incomplete OUT. */
    cleanup_block_signals(&saved);
    out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out >= 0)
        out_handle = cleanup_check(cleanup_add_path(out_path), out_path);
    cleanup_unblock_signals(&saved);
    if (out < 0)
        die("open %s", out_path);
    r.timeout_ms = timeout_ms;
    r.peer_arg = NULL;
    ring_create(&r, (uint32_t)slots, (uint32_t)slot_size);
    writer_pid = getpid();
    start = monotonic_ns();
    /* Not fork_child(): it asks for SIGTERM when the parent dies, and this
     * lesson is the reader noticing that by itself (a bounded wait that
     * checks its peer) and saying so. */
    reader_pid = reader_pid_at_start = fork_child_outliving_parent_or_die(&handle);
    if (reader_pid == 0) {
        close(in);
        _exit(reader(&r, out));
    }
    close(out);
    return writer(&r, in, handle, out_handle, start);
}
