/* qstop.c - stops the daemon that holds a pid file, and waits until it is gone.
 *
 * Lesson: `kill "$(cat qd.pid)"` trusts a number in a file.  After a crash
 * the file is stale and the number may belong to another process by now.
 * The pid file's lock tells the truth: F_GETLK names the process that
 * holds it, and only a live process holds a lock.  So qstop signals the
 * lock's holder, not the file's text, and then waits for the daemon's
 * last act, removing its pid file, so that `qstop && restart` never races
 * the old daemon's drain.  start-stop-daemon --stop --retry does the same.
 *
 * Run:  qstop qd.pid
 *
 * You should see:
 *       stopped pid 4242 (SIGTERM; its pid file was gone after 12 ms)
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
static const char *const sigs[] = { "TERM", "INT", NULL };

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("signal", &sig_choice, sigs, "SIG", "the signal that stops it"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "the longest wait for it to go"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends SIGTERM to the process that holds the lock of PIDFILE and waits\n"
               "until the pid file is gone.",
    .options = options,
    .operands = "PIDFILE",
    .operands_min = 1,
    .operands_max = 1,
    .details = "Exit status: 0 once it is gone, 1 if nobody holds the lock (not running,\n"
               "or a stale file) or it is still there after --timeout-ms.",
};

int main(int argc, char **argv)
{
    int first = cli_parse(&cli, argc, argv), fd;
    const char *path = argv[first];
    const int signo = sig_choice == 0 ? SIGTERM : SIGINT;
    const struct timespec pause = { 0, 5000000 };        /* 5 ms */
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    uint64_t start, waited;

    /* region: holder */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open %s", path);
    /* F_GETLK asks "could I take this lock?" and names who is in the way.
     * We ask about a read lock, which the daemon's write lock blocks: it
     * needs only a read-only descriptor. */
    lock.l_type = F_RDLCK;
    if (fcntl(fd, F_GETLK, &lock) != 0)
        die("fcntl F_GETLK %s", path);
    close(fd);
    if (lock.l_type == F_UNLCK)
        fatal("%s is not locked: no daemon is running (a stale file is taken over "
              "by the next start)", path);
    /* end region: holder */
    start = monotonic_ns();
    if (kill(lock.l_pid, signo) != 0)
        die("kill %ld", (long)lock.l_pid);
    while (access(path, F_OK) == 0) {
        if (monotonic_ns() - start > (uint64_t)timeout_ms * 1000000u)
            fatal("pid %ld still holds %s %ld ms after SIG%s", (long)lock.l_pid, path,
                  timeout_ms, sigs[sig_choice]);
        nanosleep(&pause, NULL);
    }
    waited = (monotonic_ns() - start) / 1000000u;
    printf("stopped pid %ld (SIG%s; its pid file was gone after %llu ms)\n", (long)lock.l_pid,
           sigs[sig_choice], (unsigned long long)waited);
    return 0;
}
