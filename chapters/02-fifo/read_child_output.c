/* read_child_output.c - read what a child prints: popen() by hand.
 *
 * Lesson: popen(cmd, "r") is pipe() + fork() + dup2() of the write end onto
 * the child's standard output + exec of "/bin/sh -c cmd"; pclose() is
 * waitpid().  Doing it by hand shows each step: the child's stdout becomes
 * the pipe, the parent reads until end-of-file (every write end closed),
 * then collects the exit status.  The child's stderr is not captured.  The
 * command runs in a process group of its own, so that a timeout or a signal
 * to us stops it with every process it started.  fork_child() (lib) does the
 * fork, so the child is registered for cleanup before a signal can land.
 *
 * Run:  read_child_output                         # the default command
 *       read_child_output 'ls /; exit 3'          # any shell command line
 *       read_child_output --compare-popen 'seq 5' # popen() reads the same bytes
 *
 * You should see each line the command printed, read by the parent, then
 * the command's exit status:
 *       parent: line 1: one
 *       parent: waitpid: exited with status 0
 *       result: lines=3 bytes=14 exit_status=0 signal=none timeout=0
 */
#include "ipclab.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long timeout_ms = 2000;
static bool compare_popen = false;
static const char *command = "echo one; echo two; echo three";

static const struct cli_option options[] = {
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 600000, "MS",
                    "stop the command if it has not finished by then"),
    CLI_OPTION_FLAG("compare-popen", &compare_popen,
                    "run the command again with popen() and compare the bytes"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Runs COMMAND with /bin/sh -c, its standard output a pipe, and reads\n"
               "what it prints: what popen() does.",
    .options = options,
    .operands = "[COMMAND]",
    .operands_min = 0,
    .operands_max = 1,
    .details = "COMMAND defaults to: echo one; echo two; echo three",
};

static volatile sig_atomic_t command_group;   /* the command's process group */

static const int stops[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };
#define NSTOPS (sizeof stops / sizeof stops[0])
static struct sigaction before[NSTOPS];       /* lib/cleanup.h's handlers */

/* A stop signal to us: pass SIGTERM on to the whole command (the shell and
 * what it started), then let cleanup.h's handler reap it and die of sig. */
static void on_stop(int sig)
{
    if (command_group > 0)
        kill(-(pid_t)command_group, SIGTERM);
    for (size_t i = 0; i < NSTOPS; i++) {
        if (stops[i] == sig && before[i].sa_handler != SIG_DFL) {
            before[i].sa_handler(sig);        /* cleans up, re-raises sig */
            return;
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_on_stop(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < NSTOPS; i++) {
        if (sigaction(stops[i], NULL, &before[i]) != 0)
            die("sigaction");
        if (before[i].sa_handler == SIG_IGN)
            continue;                         /* ignored by whoever started us */
        if (sigaction(stops[i], &sa, NULL) != 0)
            die("sigaction");
    }
}

/* region: spawn */
/* Returns the child's pid; *out is the read end of its standard output,
 * *handle its cleanup entry. */
static pid_t spawn_reading(const char *cmd, int *out, int *handle)
{
    int fds[2];
    pid_t pid;

    if (pipe(fds) != 0)
        die("pipe");
    pid = fork_child_or_die(handle);          /* fork(), registered for cleanup */
    if (pid == 0) {
        setpgid(0, 0);                        /* a process group of its own */
        close(fds[0]);                        /* the child only writes */
        if (fds[1] != STDOUT_FILENO) {
            if (dup2(fds[1], STDOUT_FILENO) < 0) {   /* stdout IS the pipe now */
                warn_errnum(errno, "dup2");
                _exit(127);
            }
            close(fds[1]);
        }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        /* Only reached if exec failed.  _exit, not exit: the parent's stdio
         * buffers and exit handlers are not the child's to run. */
        warn_errnum(errno, "execl /bin/sh");
        _exit(127);
    }
    setpgid(pid, pid);     /* as well, so it is done before we use it */
    command_group = pid;
    close(fds[1]);         /* or the parent never sees end-of-file */
    *out = fds[0];
    return pid;
}
/* end region: spawn */

/* Reads everything from fd until end-of-file or the deadline; returns a
 * malloc'd buffer (zero-terminated) and its length in *len. */
static char *read_all(int fd, uint64_t deadline, size_t *len, int *timed_out)
{
    size_t cap = 4096, used = 0;
    char *data = malloc(cap + 1);

    *timed_out = 0;
    if (data == NULL)
        die("malloc");
    for (;;) {
        uint64_t now = monotonic_ns();
        if (now >= deadline) {
            *timed_out = 1;
            break;
        }
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int ready = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
        if (ready < 0 && errno != EINTR)
            die("poll");
        if (ready <= 0)
            continue;
        if (used == cap) {
            cap *= 2;
            data = realloc(data, cap + 1);
            if (data == NULL)
                die("realloc");
        }
        ssize_t n = read(fd, data + used, cap - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("read");
        if (n == 0)
            break;                            /* the command closed its stdout */
        used += (size_t)n;
    }
    data[used] = '\0';
    *len = used;
    return data;
}

/* "exit_status=3 signal=none" or "exit_status=none signal=SIGKILL". */
static void status_fields(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exit_status=%d signal=none", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "exit_status=none signal=%s", signal_name(WTERMSIG(status)));
    else
        snprintf(buf, size, "exit_status=none signal=none");
}

int main(int argc, char **argv)
{
    int first = cli_parse(&cli, argc, argv);
    int fd, status, handle, timed_out, lines = 0;
    char how[64], fields[64], *data, *line, *save = NULL;
    size_t len;
    pid_t pid;

    if (first < argc)
        command = argv[first];
    install_on_stop();
    printf("parent: running /bin/sh -c '%s' with its stdout a pipe\n", command);
    pid = spawn_reading(command, &fd, &handle);
    data = read_all(fd, monotonic_ns() + (uint64_t)timeout_ms * 1000000u, &len, &timed_out);
    close(fd);
    if (timed_out) {
        printf("parent: no end-of-file within %ld ms; stopping the command\n", timeout_ms);
        kill(-pid, SIGKILL);                  /* the group: sh and what it started */
    }
    /* region: wait */
    while (waitpid(pid, &status, 0) < 0)      /* what pclose() does */
        if (errno != EINTR)
            die("waitpid");
    /* end region: wait */
    cleanup_forget(handle);

    for (size_t i = 0; i < len; i++)
        lines += data[i] == '\n';
    {
        char *copy = strdup(data);
        int n = 0;
        if (copy == NULL)
            die("strdup");
        for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
            if (++n <= 20)
                printf("parent: line %d: %s\n", n, line);
        if (n > 20)
            printf("parent: ... %d lines in all\n", n);
        free(copy);
    }
    wait_status_describe(status, how, sizeof how);
    printf("parent: waitpid: %s%s\n", how,
           timed_out && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL
               ? " (the SIGKILL we sent at the timeout)" : "");
    status_fields(status, fields, sizeof fields);

    if (compare_popen) {
        /* region: popen */
        FILE *p = popen(command, "r");
        char chunk[4096];
        size_t got, plen = 0;
        int same = 1;
        if (p == NULL)
            die("popen");
        while ((got = fread(chunk, 1, sizeof chunk, p)) > 0) {
            if (plen + got > len || memcmp(chunk, data + plen, got) != 0)
                same = 0;
            plen += got;
        }
        int pstatus = pclose(p);              /* waits for the child, too */
        /* end region: popen */
        if (pstatus == -1)
            die("pclose");
        same = same && plen == len;
        wait_status_describe(pstatus, how, sizeof how);
        printf("popen: read %zu bytes, %s; pclose: %s\n", plen,
               same ? "the same bytes" : "DIFFERENT bytes", how);
        printf("result: lines=%d bytes=%zu %s timeout=%d popen_same=%d\n", lines, len,
               fields, timed_out, same && pstatus == status);
    } else {
        printf("result: lines=%d bytes=%zu %s timeout=%d\n", lines, len, fields, timed_out);
    }
    free(data);
    return 0;
}
