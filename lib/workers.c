/* workers.c - see workers.h.  Linux extensions, hence _GNU_SOURCE:
 * WCOREDUMP() (not in POSIX) and prctl(PR_SET_PDEATHSIG) (Linux only). */
#define _GNU_SOURCE
#include "workers.h"

#include "cleanup.h"
#include "clock.h"
#include "die.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct workers {
    int count;
    pid_t *pids;
    int *cleanup_handles;
    int barrier[2];        /* workers read [0] until the parent closes [1] */
};

int workers_count(const struct workers *workers) { return workers->count; }

pid_t workers_pid(const struct workers *workers, int index)
{
    return index >= 0 && index < workers->count ? workers->pids[index] : -1;
}

void wait_status_describe(int status, char *buf, size_t size)
{
    if (WIFEXITED(status)) {
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(buf, size, "killed by %s%s", signal_name(WTERMSIG(status)),
                 WCOREDUMP(status) ? " (core dumped)" : "");
    } else {
        snprintf(buf, size, "stopped or continued (status 0x%x)", (unsigned)status);
    }
}

static _Noreturn void run_worker(struct workers *w, int index, worker_fn fn, void *arg)
{
    char go;
    ssize_t got;

    close(w->barrier[1]);
    do                                  /* EOF = the barrier opened */
        got = read(w->barrier[0], &go, 1);
    while (got < 0 && errno == EINTR);
    close(w->barrier[0]);
    /* exit(), not _exit(): the rule in workers.h.  The worker's own output
     * is flushed and its own cleanup entries run; the parent's entries are
     * skipped (owner pid), and fork_child() flushed stdio before forking,
     * so nothing of the parent's is written twice. */
    exit(fn(index, arg));
}

static void kill_started(struct workers *w, int started)
{
    for (int i = 0; i < started; i++)
        cleanup_remove(w->cleanup_handles[i]);   /* SIGTERM, then reap */
}

/* In the child, right after fork(): ask the kernel for FORK_CHILD_DEATH_SIGNAL
 * when the parent dies, so that a parent killed by SIGKILL (whose cleanup
 * never runs) leaves no worker running.  PR_SET_PDEATHSIG is Linux only;
 * elsewhere a child would have to watch a pipe from its parent for EOF.
 *
 * SIGTERM rather than SIGKILL: the child gets to run its own cleanup (the
 * objects it created, its own children) and dies of SIGTERM, or, if the
 * program gave SIGTERM a handler, stops the way that program stops on
 * SIGTERM (finishing the job in hand, say).  Every ipclab child takes
 * SIGTERM; a program whose child ignores it must not rely on this.
 *
 * The signal may still be blocked here (fork_child() unblocks it next); it
 * then waits, pending, and is delivered at the unblock. */
static void die_with_parent(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, FORK_CHILD_DEATH_SIGNAL) != 0)
        return;                   /* no such feature: the cleanup still reaps us */
    /* A parent that died between fork() and prctl() sent nothing: we were
     * already reparented (to init or a subreaper), so getppid() differs. */
    if (getppid() != parent)
        raise(FORK_CHILD_DEATH_SIGNAL);
}

static pid_t fork_registered(int *handle, bool with_parent)
{
    pid_t parent = getpid();
    sigset_t old;
    pid_t pid;
    int err;

    fflush(NULL);
    cleanup_block_signals(&old);
    pid = fork();
    if (pid == 0) {
        if (with_parent)
            die_with_parent(parent);
        cleanup_unblock_signals(&old);
        return 0;
    }
    err = errno;
    if (pid > 0) {
        *handle = cleanup_add_child(pid);
        if (*handle < 0) {
            err = errno;
            kill(pid, SIGKILL);
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
            pid = -1;
        }
    }
    cleanup_unblock_signals(&old);   /* a pending stop signal lands now */
    errno = err;
    return pid;
}

pid_t fork_child(int *handle)
{
    return fork_registered(handle, true);
}

pid_t fork_child_or_die(int *handle)
{
    pid_t pid = fork_child(handle);

    if (pid < 0)
        die("fork");
    return pid;
}

pid_t fork_child_outliving_parent_or_die(int *handle)
{
    pid_t pid = fork_registered(handle, false);

    if (pid < 0)
        die("fork");
    return pid;
}

int workers_start(struct workers **out, int count, worker_fn fn, void *arg)
{
    struct workers *w;
    int err;

    if (count < 1)
        return EINVAL;
    w = calloc(1, sizeof *w);
    if (w == NULL)
        return ENOMEM;
    w->pids = calloc((size_t)count, sizeof *w->pids);
    w->cleanup_handles = calloc((size_t)count, sizeof *w->cleanup_handles);
    if (w->pids == NULL || w->cleanup_handles == NULL) {
        workers_free(w);
        return ENOMEM;
    }
    if (pipe(w->barrier) != 0) {
        err = errno;
        workers_free(w);
        return err;
    }
    w->count = count;
    for (int i = 0; i < count; i++) {
        pid_t pid = fork_child(&w->cleanup_handles[i]);
        if (pid == 0)
            run_worker(w, i, fn, arg);
        if (pid < 0) {
            err = errno;
            kill_started(w, i);
            close(w->barrier[0]);
            close(w->barrier[1]);
            workers_free(w);
            return err;
        }
        w->pids[i] = pid;
    }
    close(w->barrier[0]);
    w->barrier[0] = -1;
    *out = w;
    return 0;
}

int workers_go(struct workers *workers)
{
    if (workers->barrier[1] < 0)
        return EINVAL;
    if (close(workers->barrier[1]) != 0)
        return errno;
    workers->barrier[1] = -1;
    return 0;
}

int workers_wait(struct workers *workers, int *failed)
{
    int bad = 0;

    if (workers->barrier[1] >= 0)
        workers_go(workers);       /* never wait on workers still held back */
    for (int i = 0; i < workers->count; i++) {
        int status;
        pid_t got;

        while ((got = waitpid(workers->pids[i], &status, 0)) < 0 && errno == EINTR)
            ;
        if (got < 0)
            return errno;
        cleanup_forget(workers->cleanup_handles[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char how[64];
            wait_status_describe(status, how, sizeof how);
            fprintf(stderr, "%s: worker %d (pid %ld) %s\n", program_name, i,
                    (long)workers->pids[i], how);
            bad++;
        }
    }
    *failed = bad;
    return 0;
}

void workers_free(struct workers *workers)
{
    if (workers == NULL)
        return;
    free(workers->pids);
    free(workers->cleanup_handles);
    free(workers);
}

int workers_run(int count, worker_fn fn, void *arg, uint64_t *elapsed_ns)
{
    struct workers *w;
    int failed = 0;
    uint64_t start;
    int err = workers_start(&w, count, fn, arg);

    if (err != 0)
        die_errnum(err, "workers_start: fork");
    start = monotonic_ns();
    err = workers_go(w);
    if (err != 0)
        die_errnum(err, "workers_go: close");
    err = workers_wait(w, &failed);
    if (err != 0)
        die_errnum(err, "workers_wait: waitpid");
    if (elapsed_ns != NULL)
        *elapsed_ns = monotonic_ns() - start;
    workers_free(w);
    return failed;
}
