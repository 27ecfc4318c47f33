/* harness.c - one pair of processes: fork, pin, start barrier, watchdog.
 *
 * The parent never takes part in the IPC it measures: it creates the
 * objects, forks the echo side and the driver, and then only watches.  So
 * a pair that hangs (the classic start-up race of benchmarks found online,
 * or a peer that stops answering) cannot hang the parent: when the driver
 * has shown no progress for the watchdog's time, both are killed and the
 * mechanism is reported as failed.
 *
 * Start barrier, over one control socket per child:
 *   echo:   open its side (bind, listen, ...), send "ready" + info
 *   parent: pass the info (a ZeroMQ endpoint) to the driver
 *   driver: open its side (connect, ...), send "ready"
 *   parent: send "go" to both.
 * Nothing is measured before both sides are fully set up.
 */
#define _GNU_SOURCE     /* sched_getaffinity, CPU_SET, pthread_setaffinity_np */
#include "bench.h"

#include "ipclab.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RECORD 256      /* a barrier record: ready + info */

const size_t tput_sizes[NSIZES] = { 8, 64, 512, 4096, 32768, 262144, MAX_MSG };

void mctx_init(struct mctx *c, const struct mech *m)
{
    memset(c, 0, sizeof *c);
    c->m = m;
    for (int i = 0; i < 4; i++)
        c->fd[i] = c->handle[i] = -1;
    c->listen_fd = -1;
    c->id = -1;
}

void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void close_all_fds(struct mctx *c)
{
    for (int i = 0; i < 4; i++)
        close_fd(&c->fd[i]);
    close_fd(&c->listen_fd);
}

void remove_handles(struct mctx *c)
{
    for (int i = 3; i >= 0; i--)
        if (c->handle[i] >= 0) {
            cleanup_remove(c->handle[i]);
            c->handle[i] = -1;
        }
}

int pair_cpus(int cpu[2])
{
    cpu_set_t set;
    int n = 0;

    cpu[0] = cpu[1] = 0;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        die("sched_getaffinity");
    for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
        if (CPU_ISSET(i, &set))
            cpu[n++] = i;
    if (n == 1)
        cpu[1] = cpu[0];
    return n;
}

static void pin_thread(pthread_t t, int cpu)
{
    cpu_set_t set;
    int err;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    err = pthread_setaffinity_np(t, sizeof set, &set);
    if (err != 0)
        die_errnum(err, "pthread_setaffinity_np");
}

/* --- the children --------------------------------------------------------- */

static void send_record(int fd, const char *text)
{
    char rec[RECORD] = { 0 };

    snprintf(rec, sizeof rec, "%s", text);
    write_full_or_die(fd, rec, sizeof rec);
}

static void recv_record(int fd, char *text)
{
    char rec[RECORD];

    if (read_full_or_die(fd, rec, sizeof rec) != sizeof rec)
        exit(1);                        /* the parent is gone */
    rec[RECORD - 1] = '\0';
    memcpy(text, rec, RECORD);
}

struct echo_thread {
    struct mctx *c;
    const struct plan *plan;
    struct shared *sh;
};

static void *echo_thread_main(void *arg)
{
    struct echo_thread *t = arg;

    echo_phases(t->c, t->plan, t->sh);
    return NULL;
}

/* A child's whole life.  side is ECHO or DRIVER; threads: both, in one
 * process (ZeroMQ inproc only connects sockets of one context). */
static _Noreturn void child_main(struct mctx *c, int side, bool threads, const int cpu[2],
                                 const struct plan *plan, struct shared *sh, int ctl)
{
    char go[RECORD];
    pthread_t thread;
    struct echo_thread t = { c, plan, sh };
    int err;

    c->rxbuf = malloc(MAX_MSG);
    if (c->rxbuf == NULL)
        die("malloc");
    if (side == DRIVER)
        recv_record(ctl, c->info);      /* the echo side's info, if any */
    pin_thread(pthread_self(), cpu[side]);
    if (threads) {
        c->m->open(c, ECHO);
        c->m->open(c, DRIVER);
        err = pthread_create(&thread, NULL, echo_thread_main, &t);
        if (err != 0)
            die_errnum(err, "pthread_create");
        pin_thread(thread, cpu[ECHO]);
    } else {
        c->m->open(c, side);
    }
    send_record(ctl, side == ECHO ? c->info : "ready");
    recv_record(ctl, go);
    if (side == DRIVER)
        driver_phases(c, plan, sh, ctl);
    else
        echo_phases(c, plan, sh);
    if (threads) {
        err = pthread_join(thread, NULL);
        if (err != 0)
            die_errnum(err, "pthread_join");
        c->m->close(c, ECHO);
    }
    c->m->close(c, side);
    free(c->rxbuf);
    close(ctl);
    exit(0);
}

/* --- the parent ------------------------------------------------------------- */

/* Waits until fd is readable, at most ms; 0 if it is, -1 on time-out. */
static int readable_within(int fd, long ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    uint64_t deadline = monotonic_ns() + (uint64_t)ms * 1000000u;
    int n;

    for (;;) {
        uint64_t now = monotonic_ns();
        if (now >= deadline)
            return -1;
        n = poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            die("poll");
    }
}

/* Reads one barrier record within ms; 0, or -1 (time-out or the child ended). */
static int parent_record(int fd, long ms, char *rec)
{
    if (readable_within(fd, ms) != 0)
        return -1;
    return read_full(fd, rec, RECORD) == RECORD ? 0 : -1;
}

static void parent_send(int fd, const char *text)
{
    char rec[RECORD] = { 0 };

    snprintf(rec, sizeof rec, "%s", text);
    /* MSG_NOSIGNAL: a child that died is reported, it must not SIGPIPE us */
    if (send(fd, rec, sizeof rec, MSG_NOSIGNAL) != (ssize_t)sizeof rec && errno != EPIPE)
        die("send");
}

/* Reaps a child within ms, else kills it; describes how it ended. */
static int reap(pid_t pid, int handle, long ms, char *how, size_t size)
{
    int status = 0;
    uint64_t deadline = monotonic_ns() + (uint64_t)ms * 1000000u;
    struct timespec tick = { 0, 1000000 };
    pid_t r;

    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && monotonic_ns() < deadline)
        nanosleep(&tick, NULL);
    if (r == 0) {
        kill(pid, SIGKILL);
        r = waitpid(pid, &status, 0);
    }
    if (r != pid)
        die("waitpid");
    cleanup_forget(handle);
    wait_status_describe(status, how, size);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* region: watchdog */
/* After "go": every byte from the driver is a phase done.  No byte for
 * watchdog_ms means the pair is stuck. */
static int watch(int driver_ctl, long watchdog_ms, int *phases)
{
    char buf[64];
    ssize_t n;

    for (;;) {
        if (readable_within(driver_ctl, watchdog_ms) != 0)
            return -1;                  /* no progress: stuck */
        n = read(driver_ctl, buf, sizeof buf);
        if (n == 0)
            return 0;                   /* the driver finished and exited */
        if (n < 0 && errno != EINTR)
            die("read");
        if (n > 0)
            *phases += (int)n;
    }
}
/* end region: watchdog */

int run_pair(const struct mech *m, enum placement p, const struct plan *plan,
             long watchdog_ms, struct pair_result *out, char *why, size_t why_size)
{
    struct shared *sh;
    struct mctx c;
    int cpu[2], ctl[2][2], handle[2], nchild = m->threads ? 1 : 2, failed = 0, phases = 0;
    pid_t pid[2];
    char rec[RECORD], how[2][96];

    if (pair_cpus(cpu) < 2 && p == TWO_CPUS) {
        snprintf(why, why_size, "only one CPU may be used here");
        return -1;
    }
    if (p == SAME_CPU)
        cpu[1] = cpu[0];
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        die("mmap");
    mctx_init(&c, m);
    c.placement = p;
    if (m->create != NULL)
        m->create(&c);
    for (int i = 0; i < nchild; i++) {
        int side = (nchild == 1 || i == 1) ? DRIVER : ECHO;
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, ctl[i]) != 0)
            die("socketpair");
        pid[i] = fork_child_or_die(&handle[i]);
        if (pid[i] == 0) {
            for (int j = 0; j < i; j++)
                close(ctl[j][0]);
            close(ctl[i][0]);
            child_main(&c, side, m->threads, cpu, plan, sh, ctl[i][1]);
        }
        close(ctl[i][1]);
        if (side == ECHO)
            c.peer = pid[i];            /* the driver, forked next, learns it */
    }
    /* The barrier, each wait bounded by the watchdog. */
    if (nchild == 2) {
        if (parent_record(ctl[0][0], watchdog_ms, rec) != 0)
            failed = 1;
        else
            parent_send(ctl[1][0], rec);
    } else {
        parent_send(ctl[0][0], "");
    }
    if (!failed && parent_record(ctl[nchild - 1][0], watchdog_ms, rec) != 0)
        failed = 1;
    if (!failed) {
        for (int i = 0; i < nchild; i++)
            parent_send(ctl[i][0], "go");
        if (watch(ctl[nchild - 1][0], watchdog_ms, &phases) != 0)
            failed = 2;
    }
    if (failed)
        for (int i = 0; i < nchild; i++)
            kill(pid[i], SIGKILL);
    for (int i = 0; i < nchild; i++) {
        if (reap(pid[i], handle[i], watchdog_ms, how[i], sizeof how[i]) != 0 && !failed)
            failed = 3;
        close(ctl[i][0]);
    }
    if (failed == 1)
        snprintf(why, why_size, "a side was not ready within %ld ms (%s); both sides were killed",
                 watchdog_ms, how[nchild - 1]);
    else if (failed == 2)
        snprintf(why, why_size, "no progress for %ld ms after %d phase%s: both sides were killed",
                 watchdog_ms, phases, phases == 1 ? "" : "s");
    else if (failed == 3)
        snprintf(why, why_size, "a side ended badly: echo %s, driver %s",
                 nchild == 2 ? how[0] : "(thread)", how[nchild - 1]);
    *out = sh->r;
    if (munmap(sh, sizeof *sh) != 0)
        die("munmap");
    if (m->destroy != NULL)
        m->destroy(&c);
    close_all_fds(&c);
    remove_handles(&c);
    return failed ? -1 : 0;
}

/* --- statistics -------------------------------------------------------------- */

int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double median_u64(uint64_t *v, long n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    return n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2;
}

double median_double(double *v, long n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
