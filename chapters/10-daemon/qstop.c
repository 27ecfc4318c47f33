/* qstop.c - stops the daemon that holds a pid file, and waits until it is gone.
 *
 * Lesson: `kill "$(cat qd.pid)"` trusts a number in a file.  After a crash
 * the file is stale and the number may belong to another process by now.
 * The pid file's lock tells the truth: F_GETLK names the process that
 * holds it, and only a live process holds a lock.  So qstop signals the
 * lock's holder, not the file's text, and then waits until the lock is
 * free: the daemon has exited (after SIGTERM it removed its pid file
 * first), so `qstop && restart` never races the old daemon.
 * start-stop-daemon --stop --retry does the same.
 *
 * Run:  qstop qd.pid
 *       qstop --signal KILL qd.pid     (what a crash leaves: see the next start)
 *
 * You should see:
 *       stopped pid 4242 (SIGTERM; gone after 12 ms)
 */
#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static long timeout_ms = 10000;
static int sig_choice = 0;
static const char *const sigs[] = { "TERM", "INT", "KILL", NULL };

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("signal", &sig_choice, sigs, "SIG", "the signal that stops it"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "the longest wait for it to go"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends SIGTERM to the process that holds the lock of PIDFILE and waits\n"
               "until it has exited (the lock is free, or the file gone).",
    .options = options,
    .operands = "PIDFILE",
    .operands_min = 1,
    .operands_max = 1,
    .details = "Exit status: 0 once it is gone, 1 if nobody holds the lock (not running,\n"
               "or a stale file) or it is still there after --timeout-ms.",
};

/* The pid of the process holding a lock on path, 0 if none (or no file). */
static pid_t holder(const char *path)
{
    struct flock lock = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        die("open %s", path);
    }
    /* F_GETLK asks "could I take this lock?" and names who is in the way.
     * We ask about a read lock, which the daemon's write lock blocks: it
     * needs only a read-only descriptor. */
    if (fcntl(fd, F_GETLK, &lock) != 0)
        die("fcntl F_GETLK %s", path);
    close(fd);
    return lock.l_type == F_UNLCK ? 0 : lock.l_pid;
}

int main(int argc, char **argv)
{
    int first = cli_parse(&cli, argc, argv);
    const char *path = argv[first];
    const int signos[] = { SIGTERM, SIGINT, SIGKILL };
    const struct timespec pause = { 0, 5000000 };        /* 5 ms */
    uint64_t start;
    pid_t pid;

    /* region: holder */
    pid = holder(path);
    if (pid == 0)
        fatal("%s is not locked: no daemon is running (a stale file is taken over "
              "by the next start)", path);
    start = monotonic_ns();
    if (kill(pid, signos[sig_choice]) != 0)
        die("kill %ld", (long)pid);
    /* Exited: the kernel dropped its lock (a new daemon may hold a new
     * one by now: that is another pid). */
    while (holder(path) == pid) {
        if (monotonic_ns() - start > (uint64_t)timeout_ms * 1000000u)
            fatal("pid %ld still holds %s %ld ms after SIG%s", (long)pid, path,
                  timeout_ms, sigs[sig_choice]);
        nanosleep(&pause, NULL);
    }
    /* end region: holder */
    printf("stopped pid %ld (SIG%s; gone after %llu ms)\n", (long)pid, sigs[sig_choice],
           (unsigned long long)((monotonic_ns() - start) / 1000000u));
    return 0;
}
