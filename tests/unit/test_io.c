#define _GNU_SOURCE   /* RTLD_NEXT (dlsym) to wrap read() and write(); FIONREAD */
/* test_io.c - full reads and writes: short counts, end-of-file, EINTR
 * (lib/io.c).
 *
 * This file wraps read() and write(): read_full() and write_full(), linked
 * into this executable, call the wrappers, which pass every call on and
 * count, for the one descriptor under watch, the calls that failed with
 * EINTR and the calls that moved fewer bytes than asked.  So a test can
 * prove that the case it is about really happened, instead of hoping. */
#include "unit.h"

#include "die.h"
#include "io.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* --- the wrappers ------------------------------------------------------- */

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);

static int watched_fd = -1;
static int seen_calls, seen_eintr, seen_short;

static void find_real_calls(void)
{
    if (real_read == NULL)
        real_read = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    if (real_write == NULL)
        real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
}

/* Before main, so that a signal handler never has to call dlsym(). */
__attribute__((constructor)) static void init_wrappers(void)
{
    find_real_calls();
}

static void count(int fd, ssize_t result, size_t asked, int err)
{
    if (fd != watched_fd)
        return;
    seen_calls++;
    if (result < 0 && err == EINTR)
        seen_eintr++;
    else if (result >= 0 && (size_t)result < asked)
        seen_short++;
}

ssize_t read(int fd, void *buf, size_t n)
{
    ssize_t got;
    int err;

    find_real_calls();
    got = real_read(fd, buf, n);
    err = errno;
    count(fd, got, n, err);
    errno = err;
    return got;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    ssize_t put;
    int err;

    find_real_calls();
    put = real_write(fd, buf, n);
    err = errno;
    count(fd, put, n, err);
    errno = err;
    return put;
}

/* Starts counting the calls on fd from zero. */
static void watch(int fd)
{
    watched_fd = fd;
    seen_calls = seen_eintr = seen_short = 0;
}

/* Stops counting; the counts stay for the test to check. */
static void unwatch(void)
{
    watched_fd = -1;
}

/* --- helpers -------------------------------------------------------------- */

static unsigned char pattern_byte(size_t i)
{
    return (unsigned char)(i * 7 + i / 251);
}

static void fill_pattern(unsigned char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = pattern_byte(i);
}

static int is_pattern(const unsigned char *buf, size_t n, size_t offset)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != pattern_byte(offset + i))
            return 0;
    return 1;
}

static void sleep_us(long us)
{
    struct timespec t = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep(&t, NULL);
}

static void set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    CU_ASSERT_FATAL(flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0);
}

/* --- short counts and end-of-file ----------------------------------------- */

enum { CHUNK = 100, CHUNKS = 10 };

/* Writes the pattern in CHUNKS pieces, each only once the reader has taken
 * the previous one out of the pipe, so every read() sees exactly one piece. */
static int slow_writer(void *arg)
{
    int fd = *(int *)arg;
    unsigned char data[CHUNK * CHUNKS];

    fill_pattern(data, sizeof data);
    for (int k = 0; k < CHUNKS; k++) {
        int queued = 1;

        if (write_full(fd, data + k * CHUNK, CHUNK) != CHUNK)
            return 1;
        for (int waited = 0; queued > 0; waited++) {
            if (ioctl(fd, FIONREAD, &queued) != 0 || waited > 100000)
                return 2;          /* the reader never came: give up */
            if (queued > 0)
                sleep_us(50);
        }
    }
    return 0;
}

static void test_read_full_collects_short_reads(void)
{
    unsigned char buf[CHUNK * CHUNKS + 1];
    int fds[2];
    ssize_t got;
    pid_t pid;

    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid = unit_fork(slow_writer, &fds[1]);
    close(fds[1]);
    watch(fds[0]);
    got = read_full(fds[0], buf, CHUNK * CHUNKS);
    unwatch();
    CU_ASSERT_EQUAL(got, CHUNK * CHUNKS);
    CU_ASSERT_TRUE(is_pattern(buf, CHUNK * CHUNKS, 0));
    /* every read() but the last got one piece of the ten it was asked for */
    CU_ASSERT_EQUAL(seen_calls, CHUNKS);
    CU_ASSERT_EQUAL(seen_short, CHUNKS - 1);
    CU_ASSERT_TRUE(unit_exited(unit_wait_timeout(pid, 10000), 0));
    close(fds[0]);
}

static void test_read_full_stops_at_eof_with_partial_count(void)
{
    unsigned char data[300], buf[1000];
    int fds[2];

    fill_pattern(data, sizeof data);
    CU_ASSERT_FATAL(pipe(fds) == 0);
    CU_ASSERT_EQUAL(write_full(fds[1], data, 200), 200);
    CU_ASSERT_EQUAL(write_full(fds[1], data + 200, 100), 100);
    close(fds[1]);
    CU_ASSERT_EQUAL(read_full(fds[0], buf, sizeof buf), 300);
    CU_ASSERT_TRUE(is_pattern(buf, 300, 0));
    CU_ASSERT_EQUAL(read_full(fds[0], buf, sizeof buf), 0);   /* EOF again */
    close(fds[0]);
}

static void test_zero_bytes_and_exact_counts(void)
{
    unsigned char data[64], buf[64];
    int fds[2];

    fill_pattern(data, sizeof data);
    CU_ASSERT_FATAL(pipe(fds) == 0);
    set_nonblocking(fds[0]);
    CU_ASSERT_EQUAL(read_full(fds[0], buf, 0), 0);      /* no read needed */
    CU_ASSERT_EQUAL(write_full(fds[1], data, 0), 0);
    CU_ASSERT_EQUAL(write_full(fds[1], data, sizeof data), (ssize_t)sizeof data);
    /* Asking for fewer bytes than are there leaves the rest in the pipe. */
    CU_ASSERT_EQUAL(read_full(fds[0], buf, 10), 10);
    CU_ASSERT_TRUE(is_pattern(buf, 10, 0));
    CU_ASSERT_EQUAL(read_full(fds[0], buf, 54), 54);
    CU_ASSERT_TRUE(is_pattern(buf, 54, 10));
    close(fds[0]);
    close(fds[1]);
}

/* --- EINTR ------------------------------------------------------------------ */

/* The SIGALRM handler of the EINTR tests.  It is installed WITHOUT
 * SA_RESTART, so a blocked read() or write() fails with EINTR (or returns a
 * short count if it had moved some bytes).  On every other tick it also
 * moves data, so the blocked call can make progress: it feeds the reader or
 * drains the writer. */
static volatile sig_atomic_t ticks;
static int tick_fd;                      /* the pipe end the handler uses */
static size_t tick_offset, tick_total;   /* bytes moved by the handler */
static volatile sig_atomic_t tick_bad;   /* drained bytes that were wrong */
static int tick_feeding;                 /* 1: feed a reader; 0: drain a writer */

static void on_tick(int sig)
{
    int saved = errno;
    (void)sig;

    ticks++;
    if (ticks % 2 == 0) {
        if (tick_feeding) {
            unsigned char piece[CHUNK];
            if (tick_offset < tick_total) {
                for (size_t i = 0; i < CHUNK; i++)
                    piece[i] = pattern_byte(tick_offset + i);
                if (write(tick_fd, piece, CHUNK) == CHUNK)
                    tick_offset += CHUNK;
            }
        } else {
            static unsigned char sink[65536];
            ssize_t got;
            while ((got = read(tick_fd, sink, sizeof sink)) > 0) {
                if (!is_pattern(sink, (size_t)got, tick_offset))
                    tick_bad = 1;
                tick_offset += (size_t)got;
            }
        }
    }
    errno = saved;
}

static void start_ticks(struct sigaction *old)
{
    struct sigaction sa;
    struct itimerval every_ms = { { 0, 1000 }, { 0, 1000 } };

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick;
    sa.sa_flags = 0;                 /* no SA_RESTART: that is the point */
    sigemptyset(&sa.sa_mask);
    ticks = 0;
    tick_bad = 0;
    tick_offset = 0;
    CU_ASSERT_FATAL(sigaction(SIGALRM, &sa, old) == 0);
    CU_ASSERT_FATAL(setitimer(ITIMER_REAL, &every_ms, NULL) == 0);
}

static void stop_ticks(const struct sigaction *old)
{
    struct itimerval off = { { 0, 0 }, { 0, 0 } };

    /* A tick already due is delivered when setitimer() returns, while the
     * handler is still installed. */
    CU_ASSERT(setitimer(ITIMER_REAL, &off, NULL) == 0);
    CU_ASSERT(sigaction(SIGALRM, old, NULL) == 0);
}

/* Blocked on an empty pipe, read_full() is interrupted by odd ticks with
 * nothing read (EINTR) and by even ticks, whose handler then feeds one
 * piece (EINTR again; the retry finds the piece: a short count).  If
 * scheduling delays kept every tick away from a blocked read() (never seen
 * so far), the attempt is repeated. */
static void test_read_full_retries_eintr(void)
{
    enum { TOTAL = CHUNK * 6 };
    int attempts_with_eintr = 0;

    for (int attempt = 0; attempt < 5 && attempts_with_eintr == 0; attempt++) {
        unsigned char buf[TOTAL];
        struct sigaction old;
        int fds[2];
        ssize_t got;

        CU_ASSERT_FATAL(pipe(fds) == 0);
        set_nonblocking(fds[1]);     /* the handler must never block */
        tick_fd = fds[1];
        tick_feeding = 1;
        tick_total = TOTAL;
        memset(buf, 0, sizeof buf);
        watch(fds[0]);
        start_ticks(&old);
        got = read_full(fds[0], buf, TOTAL);
        stop_ticks(&old);
        unwatch();
        CU_ASSERT_EQUAL(got, TOTAL);
        CU_ASSERT_TRUE(is_pattern(buf, TOTAL, 0));
        CU_ASSERT(ticks >= 2 * (TOTAL / CHUNK));
        if (seen_eintr > 0)
            attempts_with_eintr++;
        close(fds[0]);
        close(fds[1]);
    }
    CU_ASSERT_EQUAL(attempts_with_eintr, 1);   /* read() really saw EINTR */
}

/* write_full() of 512 KiB into a 64 KiB pipe that only the handler drains,
 * on even ticks: a blocked write() returns a short count when interrupted
 * after moving some bytes, and fails with EINTR when the pipe was full all
 * along. */
static void test_write_full_retries_eintr_and_short_writes(void)
{
    enum { TOTAL = 512 * 1024 };
    static unsigned char data[TOTAL], rest[65536];
    int attempts_with_both = 0;

    fill_pattern(data, TOTAL);
    for (int attempt = 0; attempt < 5 && attempts_with_both == 0; attempt++) {
        struct sigaction old;
        int fds[2];
        ssize_t put, got;

        CU_ASSERT_FATAL(pipe(fds) == 0);
        set_nonblocking(fds[0]);     /* the handler drains without blocking */
        tick_fd = fds[0];
        tick_feeding = 0;
        watch(fds[1]);
        start_ticks(&old);
        put = write_full(fds[1], data, TOTAL);
        stop_ticks(&old);
        unwatch();
        CU_ASSERT_EQUAL(put, TOTAL);
        /* What the handler did not drain is still in the pipe. */
        while ((got = read(fds[0], rest, sizeof rest)) > 0) {
            CU_ASSERT_TRUE(is_pattern(rest, (size_t)got, tick_offset));
            tick_offset += (size_t)got;
        }
        CU_ASSERT_EQUAL(tick_offset, TOTAL);
        CU_ASSERT_FALSE(tick_bad);
        if (seen_eintr > 0 && seen_short > 0)
            attempts_with_both++;
        close(fds[0]);
        close(fds[1]);
    }
    CU_ASSERT_EQUAL(attempts_with_both, 1);
}

/* --- real errors ----------------------------------------------------------- */

static void test_closed_pipe_gives_epipe(void)
{
    struct sigaction ign, old;
    unsigned char data[4096];
    int fds[2];

    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    CU_ASSERT_FATAL(sigaction(SIGPIPE, &ign, &old) == 0);
    CU_ASSERT_FATAL(pipe(fds) == 0);
    close(fds[0]);
    fill_pattern(data, sizeof data);
    errno = 0;
    CU_ASSERT_EQUAL(write_full(fds[1], data, sizeof data), -1);
    CU_ASSERT_EQUAL(errno, EPIPE);
    close(fds[1]);
    CU_ASSERT(sigaction(SIGPIPE, &old, NULL) == 0);
}

static void test_errors_are_returned_not_retried(void)
{
    unsigned char buf[16];
    int fds[2];

    errno = 0;
    CU_ASSERT_EQUAL(read_full(-1, buf, sizeof buf), -1);
    CU_ASSERT_EQUAL(errno, EBADF);
    errno = 0;
    CU_ASSERT_EQUAL(write_full(-1, buf, sizeof buf), -1);
    CU_ASSERT_EQUAL(errno, EBADF);
    /* An empty non-blocking pipe: EAGAIN comes back at once. */
    CU_ASSERT_FATAL(pipe(fds) == 0);
    set_nonblocking(fds[0]);
    watch(fds[0]);
    errno = 0;
    CU_ASSERT_EQUAL(read_full(fds[0], buf, sizeof buf), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    CU_ASSERT_EQUAL(seen_calls, 1);
    unwatch();
    close(fds[0]);
    close(fds[1]);
}

/* --- exiting forms ---------------------------------------------------------- */

static void test_or_die_forms_on_success(void)
{
    unsigned char data[100], buf[200];
    int fds[2];

    fill_pattern(data, sizeof data);
    CU_ASSERT_FATAL(pipe(fds) == 0);
    write_full_or_die(fds[1], data, sizeof data);
    close(fds[1]);
    CU_ASSERT_EQUAL(read_full_or_die(fds[0], buf, sizeof buf), sizeof data);
    CU_ASSERT_TRUE(is_pattern(buf, sizeof data, 0));
    close(fds[0]);
}

static int read_bad_fd(void *arg)
{
    char buf[4];

    (void)arg;
    program_name = "t";
    read_full_or_die(-1, buf, sizeof buf);
    return 0;
}

static int write_closed_pipe(void *arg)
{
    int fds[2];

    (void)arg;
    program_name = "t";
    signal(SIGPIPE, SIG_IGN);
    if (pipe(fds) != 0)
        return 10;
    close(fds[0]);
    write_full_or_die(fds[1], "x", 1);
    return 0;
}

static void test_or_die_forms_name_the_call(void)
{
    struct unit_output o;

    unit_capture(read_bad_fd, NULL, &o);
    CU_ASSERT(unit_exited(o.status, 1));
    CU_ASSERT_STRING_EQUAL(o.err, "t: read: EBADF (Bad file descriptor)\n");
    unit_capture(write_closed_pipe, NULL, &o);
    CU_ASSERT(unit_exited(o.status, 1));
    CU_ASSERT_STRING_EQUAL(o.err, "t: write: EPIPE (Broken pipe)\n");
}

static CU_TestInfo tests[] = {
    { "read_full collects short reads from a slow writer", test_read_full_collects_short_reads },
    { "read_full stops at EOF with the partial count", test_read_full_stops_at_eof_with_partial_count },
    { "zero bytes, and exact counts leave the rest", test_zero_bytes_and_exact_counts },
    { "read_full retries a read interrupted by SIGALRM", test_read_full_retries_eintr },
    { "write_full retries EINTR and short writes", test_write_full_retries_eintr_and_short_writes },
    { "closed pipe: -1 with EPIPE (SIGPIPE ignored)", test_closed_pipe_gives_epipe },
    { "EBADF and EAGAIN are returned, not retried", test_errors_are_returned_not_retried },
    { "or_die forms pass data through", test_or_die_forms_on_success },
    { "or_die forms name read/write and errno", test_or_die_forms_name_the_call },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("io", tests)
