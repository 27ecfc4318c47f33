/* pool_test_jobs.c - see pool_test_jobs.h. */
#include "unit.h"

#include "pool_test_jobs.h"

#include "frame.h"
#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* --- what every test checks at the end ------------------------------- */

int count_entries(const char *dir_path)
{
    DIR *dir = opendir(dir_path);
    int n = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    while (readdir(dir) != NULL)
        n++;
    closedir(dir);
    return n;
}

int count_fds(void) { return count_entries("/proc/self/fd"); }

/* No child at all, living or zombie: waitpid has nothing to wait for. */
bool no_children(void)
{
    return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

struct pool *make_pool(enum pool_mode mode, int workers, int time_limit_ms)
{
    struct pool_options opt = { .workers = workers, .mode = mode,
                                .time_limit_ms = time_limit_ms };
    struct pool *p = NULL;

    CU_ASSERT_EQUAL_FATAL(pool_create(&p, &opt), 0);
    return p;
}

uint64_t submit(struct pool *p, pool_job_fn fn, const void *arg, size_t len)
{
    uint64_t id = 0;

    CU_ASSERT_EQUAL_FATAL(pool_submit(p, fn, arg, len, &id), 0);
    return id;
}

struct pool_result get(struct pool *p)
{
    struct pool_result r;

    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL_FATAL(pool_get(p, LONG_WAIT_MS, &r), 0);
    return r;
}

/* --- jobs -------------------------------------------------------------- */

/* Output: the square of the 32-bit argument, as 8 bytes. */
size_t square_job(const void *arg, size_t len, void *out, size_t cap)
{
    uint32_t n;
    uint64_t sq;

    (void)cap;
    if (len != sizeof n)
        return 0;
    memcpy(&n, arg, sizeof n);
    sq = (uint64_t)n * n;
    memcpy(out, &sq, sizeof sq);
    return sizeof sq;
}

size_t echo_job(const void *arg, size_t len, void *out, size_t cap)
{
    (void)cap;
    memcpy(out, arg, len);
    return len;
}

size_t sleep_job(const void *arg, size_t len, void *out, size_t cap)
{
    int ms = 0;
    struct timespec ts;

    (void)out, (void)cap;
    if (len == sizeof ms)
        memcpy(&ms, arg, sizeof ms);
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return 0;
}

size_t crash_job(const void *arg, size_t len, void *out, size_t cap)
{
    struct rlimit no_core = { 0, 0 };

    (void)arg, (void)len, (void)out, (void)cap;
    setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGSEGV, SIG_DFL);        /* not a sanitizer's report: the signal */
    raise(SIGSEGV);
    return 0;
}

size_t exit3_job(const void *arg, size_t len, void *out, size_t cap)
{
    (void)arg, (void)len, (void)out, (void)cap;
    exit(3);
}

size_t exit_now_job(const void *arg, size_t len, void *out, size_t cap)
{
    (void)arg, (void)len, (void)out, (void)cap;
    _exit(0);
}

size_t too_much_job(const void *arg, size_t len, void *out, size_t cap)
{
    (void)arg, (void)len, (void)out;
    signal(SIGABRT, SIG_DFL);
    return cap + 1;                  /* breaks the contract */
}

/* Gates: a job blocks reading one byte from the pipe whose read end is its
 * argument; the test decides when it finishes.  Children inherit the pipes
 * (created before the pool forks). */
size_t gate_job(const void *arg, size_t len, void *out, size_t cap)
{
    int fds[2];
    char c;

    (void)len, (void)cap;
    memcpy(fds, arg, sizeof fds);
    if (read_full(fds[0], &c, 1) != 1)
        return 0;
    memcpy(out, "opened", 6);
    return 6;
}

/* Tells through the pipe in its argument that it started, then returns. */
size_t tell_job(const void *arg, size_t len, void *out, size_t cap)
{
    int fd;

    (void)len, (void)out, (void)cap;
    memcpy(&fd, arg, sizeof fd);
    write_full(fd, "t", 1);
    return 0;
}

/* Tells that it started, then sleeps for a minute. */
size_t tell_then_sleep_job(const void *arg, size_t len, void *out, size_t cap)
{
    int minute = 60000;

    tell_job(arg, len, out, cap);
    return sleep_job(&minute, sizeof minute, NULL, 0);
}

bool readable_within(int fd, int ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    return poll(&pfd, 1, ms) == 1;
}

/* --- malformed frames, written straight to the worker's channel ------- */

size_t frame_too_big_job(const void *arg, size_t len, void *out, size_t cap)
{
    const unsigned char header[4] = { 0x7f, 0xff, 0xff, 0xff };

    (void)arg, (void)len, (void)out, (void)cap;
    write_full(pool_channel(), header, sizeof header);
    return 0;
}

size_t frame_wrong_id_job(const void *arg, size_t len, void *out, size_t cap)
{
    /* A result record: id 999999, an output of 0 bytes. */
    const unsigned char rec[12] = { 0, 0, 0, 0, 0, 0x0f, 0x42, 0x3f, 0, 0, 0, 0 };

    (void)arg, (void)len, (void)out, (void)cap;
    frame_send(pool_channel(), rec, sizeof rec);
    return 0;
}

size_t frame_short_job(const void *arg, size_t len, void *out, size_t cap)
{
    (void)arg, (void)len, (void)out, (void)cap;
    frame_send(pool_channel(), "abc", 3);
    return 0;
}

/* A header announcing 100 bytes, 10 of them, then the end of the stream. */
size_t frame_truncated_job(const void *arg, size_t len, void *out, size_t cap)
{
    const unsigned char partial[14] = { 0, 0, 0, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

    (void)arg, (void)len, (void)out, (void)cap;
    write_full(pool_channel(), partial, sizeof partial);
    _exit(0);
}

/* The same, but the worker then hangs instead of exiting. */
size_t frame_stall_job(const void *arg, size_t len, void *out, size_t cap)
{
    const unsigned char partial[14] = { 0, 0, 0, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    int ms = 20000;

    (void)arg, (void)len, (void)out, (void)cap;
    write_full(pool_channel(), partial, sizeof partial);
    return sleep_job(&ms, sizeof ms, NULL, 0);
}

