/* supervisor.c - start N workers, stop them by signal, reap them on SIGCHLD.
 *
 * Lesson: a parent that starts workers must collect each one's exit status
 * with waitpid(), or every worker that ends stays a zombie.  SIGCHLD tells
 * the parent that at least one child ended; because standard signals do not
 * queue, one SIGCHLD may stand for several children, so the handler only
 * sets a flag and the main loop reaps with waitpid(WNOHANG) until nothing is
 * left; it also counts its runs, so the output shows how many ends one
 * SIGCHLD stood for.  The signals stay blocked except inside pselect(),
 * which unblocks them and sleeps in one step, so no SIGCHLD slips by
 * unseen.  Workers get SIGTERM if the supervisor dies (PR_SET_PDEATHSIG).
 *
 * Run:  supervisor                          # 3 workers, SIGTERM after 200 ms
 *       supervisor --workers 5 --stop-signal SIGINT
 *       supervisor --kill-one               # worker 0 dies of SIGKILL at once
 *       supervisor --stop-signal SIGKILL    # no clean stop: jobs are cut off
 *       supervisor --no-reap                # see the zombies, then reap late
 *
 * You should see each worker start, the supervisor send the stop signal,
 * each worker finish its job and stop, each one reaped with its status, and
 * the verdict that no zombie and no child is left:
 *       supervisor: sent SIGTERM to worker 1 (pid 4713)
 *       worker 1 (pid 4713): SIGTERM arrived during job 10; finishing that job first
 *       supervisor: reaped worker 1 (pid 4713): exited with status 0
 *       supervisor: waitpid(-1): ECHILD, no child left
 *       supervisor: 3 workers ended, SIGCHLD was delivered 2 times: one SIGCHLD stood ...
 *       result: workers=3 started=3 reaped=3 clean=3 died=0 zombies=0 children_left=0 sigchld=2
 */
#include "ipclab.h"
#include "worker/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>   /* PR_SET_PDEATHSIG: Linux */
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKERS 32

static long nworkers = 3, run_ms = 200, job_ms = 20, grace_ms = 1000;
static const char *const stop_names[] = { "SIGTERM", "SIGINT", "SIGKILL", NULL };
static const int stop_signals[] = { SIGTERM, SIGINT, SIGKILL };
static int stop_choice = 0;
static bool kill_one = false, no_reap = false;

enum slot_state { SLOT_RUNNING, SLOT_EXITED, SLOT_REAPED };

struct slot {
    pid_t pid;
    int cleanup_handle;
    enum slot_state state;
};

static struct slot slots[MAX_WORKERS];
static int started, reaped, clean, died;
static sigset_t wait_mask;     /* the mask inside pselect(): the signals open */

/* region: handlers */
static volatile sig_atomic_t child_exited;   /* a SIGCHLD came */
static volatile sig_atomic_t sigchld_count;  /* how many times it came */
static volatile sig_atomic_t stop_request;   /* SIGTERM or SIGINT to us */

/* Runs with every signal blocked (sa_mask), so the count has one writer. */
static void on_sigchld(int sig)
{
    (void)sig;
    child_exited = 1;
    sigchld_count++;
}

static void on_stop(int sig)
{
    stop_request = sig;
}
/* end region: handlers */

static void install(int sig, void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigfillset(&sa.sa_mask);
    sa.sa_flags = SA_NOCLDSTOP;        /* SIGCHLD for ends, not for stops */
    if (sigaction(sig, &sa, NULL) != 0)
        die("sigaction %s", signal_name(sig));
}

static _Noreturn void run_worker(int index, pid_t supervisor)
{
    struct worker_report report;
    struct sigaction dfl;
    char label[64];

    /* If the supervisor dies without stopping us (kill -9), the kernel sends
     * us SIGTERM (Linux's parent-death signal), and we stop cleanly.  It
     * may have died before the call: then our parent is someone else.
     * lib's fork_child() makes the same request for every child; it is
     * spelled out here because it is this chapter's lesson. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
        die("prctl PR_SET_PDEATHSIG");
    if (getppid() != supervisor)
        exit(1);
    snprintf(label, sizeof label, "worker %d (pid %ld)", index, (long)getpid());
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &dfl, NULL);     /* the supervisor's handlers are not ours */
    worker_install_handlers();
    /* Unblock last: a stop signal sent since fork() was kept pending and is
     * delivered now, to the worker's own handler. */
    sigprocmask(SIG_SETMASK, &wait_mask, NULL);
    printf("%s: started\n", label);
    /* Never outlive a supervisor that failed to stop us. */
    worker_run(label, job_ms, run_ms + grace_ms + 2000, &report);
    if (report.stop_signal == 0) {
        printf("%s: nobody stopped me; giving up\n", label);
        exit(1);
    }
    printf("%s: stopped cleanly after %ld jobs\n", label, report.jobs);
    exit(0);
}

static void start_workers(void)
{
    pid_t self = getpid();

    for (int i = 0; i < nworkers; i++) {
        /* fork(), and the child registered for cleanup before a stop signal
         * can land (lib/workers.h). */
        pid_t pid = fork_child_or_die(&slots[i].cleanup_handle);
        if (pid == 0)
            run_worker(i, self);
        slots[i].pid = pid;
        slots[i].state = SLOT_RUNNING;
        started++;
        printf("supervisor: started worker %d (pid %ld)\n", i, (long)pid);
    }
}

static struct slot *find_slot(pid_t pid, int *index)
{
    for (int i = 0; i < started; i++) {
        if (slots[i].pid == pid) {
            *index = i;
            return &slots[i];
        }
    }
    return NULL;
}

static int live_workers(void)
{
    int n = 0;

    for (int i = 0; i < started; i++)
        n += slots[i].state != SLOT_REAPED;
    return n;
}

/* region: wait */
/* Sleeps until a handler has run or the deadline passes.  Outside this call
 * the signals are blocked; pselect() opens them and sleeps in one atomic
 * step.  A SIGCHLD that came just before the call is pending, so it ends the
 * call at once instead of being noticed only at the deadline. */
static void wait_for_signal(uint64_t deadline)
{
    uint64_t now = monotonic_ns();
    struct timespec timeout;

    if (now >= deadline)
        return;
    timeout.tv_sec = (time_t)((deadline - now) / 1000000000u);
    timeout.tv_nsec = (long)((deadline - now) % 1000000000u);
    if (pselect(0, NULL, NULL, NULL, &timeout, &wait_mask) < 0 && errno != EINTR)
        die("pselect");
}
/* end region: wait */

/* region: reap */
/* One SIGCHLD may stand for several ended children: reap until waitpid()
 * says there is no more (0: children left, none ended; ECHILD: none left). */
static void reap_ended(const char *when)
{
    pid_t pid;
    int status, index;

    child_exited = 0;   /* safe: SIGCHLD is blocked outside pselect() */
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct slot *slot = find_slot(pid, &index);
        char how[64];

        if (slot == NULL)
            continue;
        wait_status_describe(status, how, sizeof how);
        printf("supervisor: reaped worker %d (pid %ld)%s: %s\n", index, (long)pid, when, how);
        cleanup_forget(slot->cleanup_handle);
        slot->state = SLOT_REAPED;
        reaped++;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            clean++;
        else
            died++;
    }
    if (pid < 0 && errno != ECHILD)
        die("waitpid");
}
/* end region: reap */

/* --no-reap: notes which workers have ended without reaping them
 * (waitid with WNOWAIT leaves the child a zombie). */
static int ended_unreaped(void)
{
    int n = 0;

    child_exited = 0;
    for (int i = 0; i < started; i++) {
        siginfo_t info;

        if (slots[i].state == SLOT_RUNNING) {
            memset(&info, 0, sizeof info);
            if (waitid(P_PID, (id_t)slots[i].pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
                die("waitid");
            if (info.si_pid == slots[i].pid)
                slots[i].state = SLOT_EXITED;
        }
        n += slots[i].state == SLOT_EXITED;
    }
    return n;
}

/* A zombie has state Z in /proc/PID/stat (Linux): it has ended, but its
 * parent has not collected its exit status yet.  Returns -1 without /proc. */
static int count_zombies(void)
{
    int zombies = 0;

    for (int i = 0; i < started; i++) {
        char path[64], stat[512];
        FILE *f;
        size_t n;

        snprintf(path, sizeof path, "/proc/%ld/stat", (long)slots[i].pid);
        f = fopen(path, "r");
        if (f == NULL) {
            if (errno == ENOENT)
                continue;               /* gone: reaped, not a zombie */
            return -1;
        }
        n = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[n] = '\0';
        /* "PID (COMMAND) STATE ...": the command may hold spaces or ')'. */
        char *end = strrchr(stat, ')');
        if (end != NULL && end[1] == ' ' && end[2] == 'Z')
            zombies++;
    }
    return zombies;
}

static const struct cli_option options[] = {
    CLI_OPTION_LONG("workers", &nworkers, 1, MAX_WORKERS, "N", "worker processes"),
    CLI_OPTION_LONG("run-ms", &run_ms, 0, 600000, "MS", "let the workers run this long"),
    CLI_OPTION_LONG("job-ms", &job_ms, 1, 1000, "MS", "length of one job of a worker"),
    CLI_OPTION_CHOICE("stop-signal", &stop_choice, stop_names, "SIG",
                      "what stops the workers"),
    CLI_OPTION_LONG("grace-ms", &grace_ms, 1, 60000, "MS",
                    "after the stop signal, wait this long, then SIGKILL"),
    CLI_OPTION_FLAG("kill-one", &kill_one, "SIGKILL worker 0 at once, as a crash would"),
    CLI_OPTION_FLAG("no-reap", &no_reap,
                    "leave the stopped workers unreaped for a moment: zombies"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Starts N workers, stops them with a signal, and reaps each one on\n"
               "SIGCHLD, leaving no zombie.",
    .options = options,
    .details = "SIGTERM or SIGINT to the supervisor stops the workers early; it still\n"
               "reaps them all and exits with status 0.",
};

int main(int argc, char **argv)
{
    sigset_t block;
    uint64_t deadline;
    int zombies, stop_sig, children_left;

    cli_parse(&cli, argc, argv);
    stop_sig = stop_signals[stop_choice];

    /* region: setup */
    /* Block first, then install, then fork: a signal that comes at any point
     * from here on waits, pending, for pselect(). */
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    if (sigprocmask(SIG_BLOCK, &block, &wait_mask) != 0)
        die("sigprocmask");
    install(SIGCHLD, on_sigchld);
    install(SIGTERM, on_stop);
    install(SIGINT, on_stop);
    /* end region: setup */

    start_workers();
    if (kill_one) {
        printf("supervisor: sending SIGKILL to worker 0 (pid %ld), as a crash would\n",
               (long)slots[0].pid);
        if (kill(slots[0].pid, SIGKILL) != 0)
            die("kill");
    }

    /* region: run */
    deadline = monotonic_ns() + (uint64_t)run_ms * 1000000u;
    while (stop_request == 0 && live_workers() > 0 && monotonic_ns() < deadline) {
        wait_for_signal(deadline);
        if (child_exited)
            reap_ended(" while running");
    }
    if (stop_request != 0)
        printf("supervisor: got %s; stopping the workers\n", signal_name(stop_request));

    for (int i = 0; i < started; i++) {
        if (slots[i].state != SLOT_RUNNING)
            continue;
        printf("supervisor: sent %s to worker %d (pid %ld)\n", signal_name(stop_sig), i,
               (long)slots[i].pid);
        if (kill(slots[i].pid, stop_sig) != 0)
            die("kill");
    }

    deadline = monotonic_ns() + (uint64_t)grace_ms * 1000000u;
    if (!no_reap) {
        while (live_workers() > 0 && monotonic_ns() < deadline) {
            wait_for_signal(deadline);
            if (child_exited)
                reap_ended("");
        }
    } else {
        while (ended_unreaped() < live_workers() && monotonic_ns() < deadline)
            wait_for_signal(deadline);
    }
    /* end region: run */

    zombies = count_zombies();
    if (no_reap) {
        printf("supervisor: %d of %d workers are zombies: ended, exit status not collected\n",
               zombies, live_workers());
        reap_ended(" late");
    }
    for (int i = 0; i < started; i++) {
        if (slots[i].state == SLOT_REAPED)
            continue;
        /* Still there after the grace period: it ignored the signal. */
        printf("supervisor: worker %d (pid %ld) did not stop within %ld ms; SIGKILL\n", i,
               (long)slots[i].pid, grace_ms);
        cleanup_remove(slots[i].cleanup_handle);   /* kill, then reap */
        slots[i].state = SLOT_REAPED;
        reaped++;
        died++;
    }

    errno = 0;
    children_left = !(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
    printf("supervisor: waitpid(-1): %s\n",
           children_left ? "a child is still there" : "ECHILD, no child left");
    printf("supervisor: %d workers ended, SIGCHLD was delivered %d time%s: %s\n", reaped,
           (int)sigchld_count, sigchld_count == 1 ? "" : "s",
           sigchld_count < reaped ? "one SIGCHLD stood for several ends"
                                  : "one per end, this time");
    printf("result: workers=%ld started=%d reaped=%d clean=%d died=%d zombies=%d "
           "children_left=%d sigchld=%d\n", nworkers, started, reaped, clean, died, zombies,
           children_left, (int)sigchld_count);
    return 0;
}
