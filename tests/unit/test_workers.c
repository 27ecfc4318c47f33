/* _GNU_SOURCE: MAP_ANONYMOUS (a shared mapping the workers report into) and
 * prctl(PR_SET_CHILD_SUBREAPER) (Linux: orphans come back to the test). */
#define _GNU_SOURCE
/* test_workers.c - start N workers together, wait, report failures
 * (lib/workers.c). */
#include "unit.h"

#include "cleanup.h"
#include "clock.h"
#include "die.h"
#include "io.h"
#include "workers.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAXW = 8 };

/* What each worker reports, in memory shared with the test. */
struct board {
    int runs[MAXW];             /* how many times worker i ran */
    pid_t pid[MAXW];
    uint64_t started_ns[MAXW];  /* monotonic time when it got past the barrier */
    const void *arg_seen[MAXW];
    int fail_with[MAXW];        /* 0: return 0; n > 0: return n; -s: raise(s) */
    long sleep_ms;              /* each worker sleeps this long */
};

static struct board *new_board(void)
{
    void *p = mmap(NULL, sizeof(struct board), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    CU_ASSERT_FATAL(p != MAP_FAILED);
    memset(p, 0, sizeof(struct board));
    return p;
}

static void free_board(struct board *b)
{
    munmap(b, sizeof *b);
}

static void nap_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

static int worker(int index, void *arg)
{
    struct board *b = arg;

    b->started_ns[index] = monotonic_ns();
    b->runs[index]++;
    b->pid[index] = getpid();
    b->arg_seen[index] = arg;
    if (b->sleep_ms > 0)
        nap_ms(b->sleep_ms);
    if (b->fail_with[index] < 0)
        raise(-b->fail_with[index]);
    return b->fail_with[index];
}

static void test_every_worker_runs_once_with_its_index(void)
{
    struct board *b = new_board();
    int failed;

    failed = workers_run(MAXW, worker, b, NULL);
    CU_ASSERT_EQUAL(failed, 0);
    for (int i = 0; i < MAXW; i++) {
        CU_ASSERT_EQUAL(b->runs[i], 1);
        CU_ASSERT_PTR_EQUAL(b->arg_seen[i], b);
        CU_ASSERT(b->pid[i] > 0 && b->pid[i] != getpid());
        for (int j = 0; j < i; j++)
            CU_ASSERT(b->pid[i] != b->pid[j]);          /* separate processes */
    }
    free_board(b);
}

static void test_barrier_holds_workers_until_go(void)
{
    struct board *b = new_board();
    struct workers *w = NULL;
    uint64_t released;
    int failed = -1, ran_early = 0;

    CU_ASSERT_EQUAL_FATAL(workers_start(&w, 4, worker, b), 0);
    CU_ASSERT_EQUAL(workers_count(w), 4);
    nap_ms(30);                          /* time enough to run, if they could */
    for (int i = 0; i < 4; i++)
        ran_early += b->runs[i];
    CU_ASSERT_EQUAL(ran_early, 0);
    released = monotonic_ns();
    CU_ASSERT_EQUAL(workers_go(w), 0);
    CU_ASSERT_EQUAL(workers_wait(w, &failed), 0);
    CU_ASSERT_EQUAL(failed, 0);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(b->runs[i], 1);
        CU_ASSERT(b->started_ns[i] >= released);       /* none got a head start */
        CU_ASSERT_EQUAL(workers_pid(w, i), b->pid[i]);
    }
    CU_ASSERT_EQUAL(workers_pid(w, -1), -1);
    CU_ASSERT_EQUAL(workers_pid(w, 4), -1);
    workers_free(w);
    free_board(b);
}

static void test_failures_reported_by_name_and_counted(void)
{
    struct board *b = new_board();
    struct workers *w = NULL;
    struct unit_redirect r;
    char err[2048], expected[512];
    int failed = -1, rc;

    program_name = "t";
    b->fail_with[1] = 3;
    b->fail_with[2] = -SIGKILL;
    CU_ASSERT_EQUAL_FATAL(workers_start(&w, 4, worker, b), 0);
    CU_ASSERT_EQUAL(workers_go(w), 0);
    unit_redirect_begin(&r, STDERR_FILENO);
    rc = workers_wait(w, &failed);
    unit_redirect_end(&r, err, sizeof err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(failed, 2);
    snprintf(expected, sizeof expected,
             "t: worker 1 (pid %ld) exited with status 3\n"
             "t: worker 2 (pid %ld) killed by SIGKILL\n",
             (long)workers_pid(w, 1), (long)workers_pid(w, 2));
    CU_ASSERT_STRING_EQUAL(err, expected);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(b->runs[i], 1);
    workers_free(w);
    program_name = "ipclab";
    free_board(b);
}

static void test_workers_run_counts_failures_and_times_the_work(void)
{
    struct board *b = new_board();
    struct unit_redirect r;
    char err[2048];
    uint64_t elapsed = 0, outer;
    int failed;

    b->sleep_ms = 20;
    b->fail_with[0] = 1;
    unit_redirect_begin(&r, STDERR_FILENO);
    outer = monotonic_ns();
    failed = workers_run(3, worker, b, &elapsed);
    outer = monotonic_ns() - outer;
    unit_redirect_end(&r, err, sizeof err);
    CU_ASSERT_EQUAL(failed, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "worker 0 (pid "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, ") exited with status 1\n"));
    CU_ASSERT(elapsed >= 20000000u);     /* every worker slept 20 ms */
    CU_ASSERT(elapsed <= outer);         /* a part of the call, not more */
    free_board(b);
}

static void test_wait_releases_a_barrier_never_opened(void)
{
    struct board *b = new_board();
    struct workers *w = NULL;
    int failed = -1;

    CU_ASSERT_EQUAL_FATAL(workers_start(&w, 2, worker, b), 0);
    CU_ASSERT_EQUAL(workers_wait(w, &failed), 0);   /* must not hang */
    CU_ASSERT_EQUAL(failed, 0);
    CU_ASSERT_EQUAL(b->runs[0] + b->runs[1], 2);
    CU_ASSERT_EQUAL(workers_go(w), EINVAL);         /* already open */
    workers_free(w);
    free_board(b);
}

static void test_bad_arguments(void)
{
    struct workers *w = NULL;
    struct board *b = new_board();
    int failed;

    CU_ASSERT_EQUAL(workers_start(&w, 0, worker, b), EINVAL);
    CU_ASSERT_EQUAL(workers_start(&w, -1, worker, b), EINVAL);
    CU_ASSERT_PTR_NULL(w);
    CU_ASSERT_EQUAL_FATAL(workers_start(&w, 1, worker, b), 0);
    CU_ASSERT_EQUAL(workers_go(w), 0);
    CU_ASSERT_EQUAL(workers_go(w), EINVAL);         /* twice */
    CU_ASSERT_EQUAL(workers_wait(w, &failed), 0);
    workers_free(w);
    workers_free(NULL);                             /* harmless */
    free_board(b);
}

/* A program that started workers and is killed by SIGTERM takes them with
 * it: they are registered with cleanup.h. */
struct parent_args {
    struct board *b;
    int ready;           /* write end: "workers started" */
    int hold;            /* read end, closed in the child */
};

static int start_workers_and_wait(void *arg)
{
    struct parent_args *p = arg;
    struct workers *w;

    close(p->hold);
    p->b->sleep_ms = 10000;
    if (workers_start(&w, 3, worker, p->b) != 0 || workers_go(w) != 0)
        return 1;
    for (int i = 0; i < 3; i++)        /* until each is really running */
        for (int waited = 0; p->b->runs[i] == 0; waited++) {
            if (waited > 10000)
                return 4;              /* never: the test fails, not hangs */
            nap_ms(1);
        }
    if (write_full(p->ready, "r", 1) != 1)
        return 2;
    nap_ms(10000);
    return 3;
}

static void test_sigterm_to_the_parent_takes_workers_down(void)
{
    struct parent_args p;
    int fds[2], status;
    char r;
    pid_t pid;

    p.b = new_board();
    CU_ASSERT_FATAL(pipe(fds) == 0);
    p.ready = fds[1];
    p.hold = fds[0];
    pid = unit_fork(start_workers_and_wait, &p);
    close(fds[1]);
    CU_ASSERT_EQUAL(read_full(fds[0], &r, 1), 1);
    close(fds[0]);
    CU_ASSERT_EQUAL(kill(pid, SIGTERM), 0);
    status = unit_wait_timeout(pid, 10000);
    CU_ASSERT_TRUE(unit_killed_by(status, SIGTERM));
    /* The parent reaped them before it died: they no longer exist. */
    for (int i = 0; i < 3; i++) {
        CU_ASSERT(p.b->pid[i] > 0);
        CU_ASSERT(p.b->pid[i] > 0 && kill(p.b->pid[i], 0) != 0 && errno == ESRCH);
        if (p.b->pid[i] > 0)
            kill(p.b->pid[i], SIGKILL);           /* if the test failed */
    }
    free_board(p.b);
}

/* --- fork_child ---------------------------------------------------------- */

/* A parent that forks one child with fork_child(), reports the child's pid
 * and waits to be signalled. */
static int fork_one_then_wait(void *arg)
{
    int ready = *(int *)arg;
    int handle = -1;
    pid_t pid = fork_child(&handle);

    if (pid < 0)
        return 2;
    if (pid == 0) {
        nap_ms(10000);
        _exit(0);
    }
    if (handle < 0)
        return 4;
    if (write_full(ready, &pid, sizeof pid) != (ssize_t)sizeof pid)
        return 2;
    nap_ms(10000);
    return 3;
}

static void test_fork_child_is_taken_down_by_the_parents_cleanup(void)
{
    int fds[2], status;
    pid_t parent, child = 0;

    CU_ASSERT_FATAL(pipe(fds) == 0);
    parent = unit_fork(fork_one_then_wait, &fds[1]);
    close(fds[1]);
    CU_ASSERT_EQUAL_FATAL(read_full(fds[0], &child, sizeof child), (ssize_t)sizeof child);
    close(fds[0]);
    CU_ASSERT_FATAL(child > 0);
    CU_ASSERT_EQUAL(kill(child, 0), 0);          /* it runs, as the parent's child */
    CU_ASSERT_EQUAL(kill(parent, SIGTERM), 0);
    status = unit_wait_timeout(parent, 10000);
    CU_ASSERT_TRUE(unit_killed_by(status, SIGTERM));
    /* The parent's cleanup stopped and reaped it before the parent died. */
    CU_ASSERT(kill(child, 0) != 0 && errno == ESRCH);
    kill(child, SIGKILL);                        /* if the test failed */
}

/* --- the child dies with its parent ------------------------------------------ */

/* Waits up to timeout_ms for pid (a child of this process); returns its
 * status, or -1 after killing it with SIGKILL when it did not end in time.
 * For processes without CUnit: the reaper below. */
static int wait_bounded(pid_t pid, int timeout_ms, uint64_t *took_ns)
{
    uint64_t start = monotonic_ns();
    int status;

    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid) {
            if (took_ns != NULL)
                *took_ns = monotonic_ns() - start;
            return status;
        }
        if (got < 0 && errno != EINTR)
            return -2;
        if (monotonic_ns() - start > (uint64_t)timeout_ms * 1000000u) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        nap_ms(1);
    }
}

/* The middle process: forks one child with fork_child(), tells the reaper
 * the child's pid, then waits to be killed (how == 0) or exits at once
 * (how == 1: the parent may die before the child has even asked for its
 * death signal).  The child sleeps 10 s and exits 0 if no signal came. */
static _Noreturn void middle(int report, int how)
{
    int handle;
    pid_t child = fork_child(&handle);

    if (child < 0)
        _exit(20);
    if (child == 0) {
        close(report);
        nap_ms(10000);
        _exit(0);
    }
    if (write_full(report, &child, sizeof child) != (ssize_t)sizeof child)
        _exit(21);
    if (how == 1)
        _exit(0);                  /* no cleanup_run: that would reap the child */
    nap_ms(10000);
    _exit(22);
}

/* The reaper: a subreaper, so the orphaned child is reparented to it and
 * can be waited for.  Exit status: 0 the child died of SIGTERM within 5 s
 * of its parent; 1 it was still running (then killed); 2 it ended some
 * other way; 3 and up, the setup failed. */
static int reaper(void *arg)
{
    int how = *(int *)arg;
    int fds[2], status;
    pid_t mid, child = 0;

    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0 || pipe(fds) != 0)
        return 3;
    mid = fork();
    if (mid < 0)
        return 4;
    if (mid == 0) {
        close(fds[0]);
        middle(fds[1], how);
    }
    close(fds[1]);
    if (read_full(fds[0], &child, sizeof child) != (ssize_t)sizeof child) {
        kill(mid, SIGKILL);
        waitpid(mid, NULL, 0);
        return 5;
    }
    close(fds[0]);
    if (how == 0)
        kill(mid, SIGKILL);        /* no handler runs, no cleanup */
    status = wait_bounded(mid, 10000, NULL);
    if (how == 0 ? !unit_killed_by(status, SIGKILL) : !unit_exited(status, 0)) {
        wait_bounded(child, 0, NULL);
        return 6;
    }
    status = wait_bounded(child, 5000, NULL);
    if (status == -1)
        return 1;
    return unit_killed_by(status, FORK_CHILD_DEATH_SIGNAL) ? 0 : 2;
}

static void test_child_dies_when_its_parent_is_killed(void)
{
    int how = 0;
    int status = unit_wait_timeout(unit_fork(reaper, &how), 20000);

    if (!unit_exited(status, 0))
        fprintf(stderr, "reaper: status 0x%x\n", (unsigned)status);
    CU_ASSERT_TRUE(unit_exited(status, 0));
    CU_ASSERT_EQUAL(FORK_CHILD_DEATH_SIGNAL, SIGTERM);
}

/* The parent exits right after fork_child() returns, often before the child
 * has run at all: whether the death signal or the getppid() check catches
 * it, the child must go, every time. */
static void test_child_dies_when_its_parent_exits_at_once(void)
{
    int how = 1, bad = 0;

    for (int i = 0; i < 20; i++) {
        int status = unit_wait_timeout(unit_fork(reaper, &how), 20000);
        if (!unit_exited(status, 0)) {
            fprintf(stderr, "reaper, round %d: status 0x%x\n", i, (unsigned)status);
            bad++;
            break;                 /* one is enough, and each costs 5 s */
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* fork_child_outliving_parent_or_die(): the parent exits at once, and the
 * child, which asked for no death signal, sees itself reparented and exits
 * 7 by itself.  20 times, since the parent often dies before the child runs
 * (the window a prctl() in the child could not close). */
static int outliving_middle(void *arg)
{
    int report = *(int *)arg, handle;
    pid_t me = getpid(), child = fork_child_outliving_parent_or_die(&handle);

    if (child == 0) {
        uint64_t start = monotonic_ns();
        close(report);
        while (getppid() == me)
            if (monotonic_ns() - start > 5000000000u)
                _exit(8);
            else
                nap_ms(1);
        _exit(7);
    }
    if (write_full(report, &child, sizeof child) != (ssize_t)sizeof child)
        _exit(21);
    _exit(0);
}

static int outliving_reaper(void *arg)
{
    int fds[2], status;
    pid_t mid, child = 0;

    (void)arg;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0 || pipe(fds) != 0)
        return 3;
    mid = fork();
    if (mid < 0)
        return 4;
    if (mid == 0) {
        close(fds[0]);
        _exit(outliving_middle(&fds[1]));
    }
    close(fds[1]);
    if (read_full(fds[0], &child, sizeof child) != (ssize_t)sizeof child) {
        wait_bounded(mid, 0, NULL);
        return 5;
    }
    close(fds[0]);
    if (!unit_exited(wait_bounded(mid, 10000, NULL), 0)) {
        wait_bounded(child, 0, NULL);
        return 6;
    }
    status = wait_bounded(child, 10000, NULL);
    if (status == -1)
        return 1;
    return unit_exited(status, 7) ? 0 : 2;
}

static void test_outliving_child_survives_its_parent(void)
{
    int bad = 0;

    for (int i = 0; i < 20 && bad == 0; i++) {
        int status = unit_wait_timeout(unit_fork(outliving_reaper, NULL), 20000);
        if (!unit_exited(status, 0)) {
            fprintf(stderr, "outliving reaper, round %d: status 0x%x\n", i, (unsigned)status);
            bad++;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* A worker's body returns: exit() flushes the worker's own stdio (here a
 * line left without a newline, so nothing but exit() writes it) and runs
 * its own cleanup entries, never the parent's. */
static char worker_dir[4096];

static int worker_prints_and_registers(int index, void *arg)
{
    char path[4200];

    (void)arg;
    snprintf(path, sizeof path, "%s/w%d", worker_dir, index);
    if (mkfifo(path, 0600) != 0 || cleanup_add_path(path) < 0)
        return 9;
    setvbuf(stdout, NULL, _IOFBF, 0);
    printf("worker %d says bye", index);      /* no newline: still buffered */
    return 0;
}

static int run_two_workers(void *arg)
{
    char mine[4200];
    struct stat st;
    int failed;

    (void)arg;
    snprintf(mine, sizeof mine, "%s/parent", worker_dir);
    if (mkfifo(mine, 0600) != 0 || cleanup_add_path(mine) < 0)
        return 10;
    /* One worker: two would write to the same file at once, and their
     * pieces can interleave ("worker worker 1 says bye0 says bye"). */
    failed = workers_run(1, worker_prints_and_registers, NULL, NULL);
    if (lstat(mine, &st) != 0)
        exit(11);                             /* a worker removed the parent's */
    exit(failed);                             /* exit(): the parent's own cleanup */
}

static void test_a_worker_exits_with_its_own_flush_and_cleanup(void)
{
    struct unit_output o;
    char path[4200];
    struct stat st;

    unit_tmpdir(worker_dir, sizeof worker_dir);
    unit_capture(run_two_workers, NULL, &o);
    CU_ASSERT_TRUE(unit_exited(o.status, 0));
    CU_ASSERT_STRING_EQUAL(o.out, "worker 0 says bye");
    for (int i = 0; i < 1; i++) {
        snprintf(path, sizeof path, "%s/w%d", worker_dir, i);
        CU_ASSERT(lstat(path, &st) != 0 && errno == ENOENT);   /* its own cleanup ran */
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/parent", worker_dir);
    CU_ASSERT(lstat(path, &st) != 0 && errno == ENOENT);       /* the parent's exit */
    unlink(path);
    CU_ASSERT_EQUAL(rmdir(worker_dir), 0);
}

/* --- wait_status_describe ------------------------------------------------------- */

static int exit_with(void *arg)
{
    return *(int *)arg;
}

static int die_by(void *arg)
{
    raise(*(int *)arg);
    return 0;
}

static int stop_then_exit(void *arg)
{
    (void)arg;
    raise(SIGSTOP);
    return 0;
}

static void expect_description(int status, const char *text)
{
    char buf[128];

    memset(buf, 'X', sizeof buf);
    wait_status_describe(status, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, text);
}

static void test_wait_status_describe(void)
{
    int zero = 0, three = 3, kill_sig = SIGKILL, term = SIGTERM;
    int rt = SIGRTMIN + 2, status;
    char expected[64], small[10];
    pid_t pid;

    expect_description(unit_wait(unit_fork(exit_with, &zero)), "exited with status 0");
    expect_description(unit_wait(unit_fork(exit_with, &three)), "exited with status 3");
    expect_description(unit_wait(unit_fork(die_by, &kill_sig)), "killed by SIGKILL");
    expect_description(unit_wait(unit_fork(die_by, &term)), "killed by SIGTERM");
    /* A real-time signal has no abbreviation: it is named from SIGRTMIN. */
    expect_description(unit_wait(unit_fork(die_by, &rt)), "killed by SIGRTMIN+2");
    /* A core dump is mentioned (the status is built by hand: the test must
     * not write a core file). */
    expect_description(SIGSEGV | WCOREFLAG, "killed by SIGSEGV (core dumped)");
    /* A stopped child. */
    pid = unit_fork(stop_then_exit, NULL);
    CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, WUNTRACED), pid);
    CU_ASSERT_TRUE(WIFSTOPPED(status));
    snprintf(expected, sizeof expected, "stopped or continued (status 0x%x)", (unsigned)status);
    expect_description(status, expected);
    kill(pid, SIGKILL);
    unit_wait(pid);
    /* A small buffer gets a cut, terminated string. */
    wait_status_describe(0, small, sizeof small);
    CU_ASSERT_STRING_EQUAL(small, "exited wi");
}

static CU_TestInfo tests[] = {
    { "every worker runs once, with its index and arg", test_every_worker_runs_once_with_its_index },
    { "the barrier holds workers until workers_go", test_barrier_holds_workers_until_go },
    { "failures: exit 3 and SIGKILL reported by name, counted", test_failures_reported_by_name_and_counted },
    { "workers_run counts failures and times the work", test_workers_run_counts_failures_and_times_the_work },
    { "workers_wait opens a barrier never opened", test_wait_releases_a_barrier_never_opened },
    { "bad counts and a second workers_go are EINVAL", test_bad_arguments },
    { "SIGTERM to the parent takes the workers down", test_sigterm_to_the_parent_takes_workers_down },
    { "fork_child: the parent's cleanup takes the child down", test_fork_child_is_taken_down_by_the_parents_cleanup },
    { "fork_child: kill -9 of the parent, the child dies of SIGTERM within 5 s", test_child_dies_when_its_parent_is_killed },
    { "fork_child: a parent exiting at once never leaves the child (20 times)", test_child_dies_when_its_parent_exits_at_once },
    { "fork_child_outliving_parent: the orphan lives on and sees its new parent (20 times)", test_outliving_child_survives_its_parent },
    { "a worker's return: exit() flushes its stdio and runs its own cleanup only", test_a_worker_exits_with_its_own_flush_and_cleanup },
    { "wait_status_describe", test_wait_status_describe },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("workers", tests)
