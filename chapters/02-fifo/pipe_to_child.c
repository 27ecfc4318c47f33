/* pipe_to_child.c - a pipe from parent to child, and why unused ends are closed.
 *
 * Lesson: pipe() gives two descriptors; after fork() both processes hold
 * both.  The parent writes, the child reads until end-of-file, and
 * end-of-file comes only when EVERY write end is closed, the child's own
 * copy included.  A child that forgets to close its write end waits forever
 * for an end that it is holding back itself.  This is the chapter's first
 * program, so it makes the bare calls: pipe(), fork(), waitpid().
 *
 * Run:  pipe_to_child                      # 5 lines, then end-of-file
 *       pipe_to_child --lines 100000       # a lot more than the pipe holds
 *       pipe_to_child --keep-write-end     # the child forgets close(): no EOF
 *
 * You should see the child read every line and then end-of-file; with
 * --keep-write-end, the child's wait for end-of-file runs into its timeout:
 *       child: line 1: message 1 of 5 from parent 4711
 *       child: end-of-file after 5 lines
 *       result: sent=5 received=5 bytes=165 eof=1 lines_ok=1
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

static long nlines = 5, eof_timeout_ms = 300;
static bool keep_write_end = false;

struct child_report {
    long lines;
    long bytes;
    int eof;          /* 1: read() returned 0; 0: the timeout came first */
    int lines_ok;     /* every line was the one expected, in order */
};

static const struct cli_option options[] = {
    CLI_OPTION_LONG("lines", &nlines, 1, 1000000, "N", "lines the parent sends"),
    CLI_OPTION_FLAG("keep-write-end", &keep_write_end,
                    "the child forgets to close its copy of the write end"),
    CLI_OPTION_LONG("eof-timeout-ms", &eof_timeout_ms, 1, 600000, "MS",
                    "the child gives up waiting for data or end-of-file"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "The parent writes lines into a pipe; the child reads them until\n"
               "end-of-file.",
    .options = options,
};

/* region: child */
static _Noreturn void run_child(int fds[2], int report_fd, pid_t parent)
{
    struct child_report report = { 0, 0, 0, 1 };
    char buf[4096], line[128], expected[128];
    size_t used = 0;

    if (!keep_write_end)
        close(fds[1]);        /* the step that --keep-write-end leaves out */
    for (;;) {
        /* Wait with a timeout only so that the broken variant ends. */
        struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
        int ready = poll(&pfd, 1, (int)eof_timeout_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            die("poll");
        if (ready == 0) {
            printf("child: no data and no end-of-file for %ld ms: a write end is still "
                   "open%s\n", eof_timeout_ms, keep_write_end ? " (my own)" : "");
            break;
        }
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("read");
        if (n == 0) {         /* every write end is closed */
            report.eof = 1;
            printf("child: end-of-file after %ld lines\n", report.lines);
            break;
        }
        report.bytes += n;
        /* A read returns whatever is there: part of a line, or several. */
        for (ssize_t i = 0; i < n; i++) {
            if (used < sizeof line - 1)
                line[used++] = buf[i];
            if (buf[i] != '\n')
                continue;
            line[used - 1] = '\0';
            used = 0;
            report.lines++;
            snprintf(expected, sizeof expected, "message %ld of %ld from parent %ld",
                     report.lines, nlines, (long)parent);
            if (strcmp(line, expected) != 0)
                report.lines_ok = 0;
            if (nlines <= 10)
                printf("child: line %ld: %s\n", report.lines, line);
        }
    }
    write_full_or_die(report_fd, &report, sizeof report);
    exit(0);
}
/* end region: child */

int main(int argc, char **argv)
{
    struct child_report report;
    int fds[2], back[2], status, handle = -1, err;
    sigset_t saved;
    pid_t pid;
    long bytes = 0;

    cli_parse(&cli, argc, argv);
    /* region: parent */
    if (pipe(fds) != 0 || pipe(back) != 0)
        die("pipe");
    /* fork() copies the process, descriptors and all: both processes now
     * hold both ends of both pipes.  The stop signals wait from fork() until
     * the child is registered for cleanup, so a SIGTERM to the parent always
     * takes the child down too. */
    cleanup_block_signals(&saved);
    pid = fork();
    err = errno;
    if (pid > 0)
        handle = cleanup_add_child(pid);
    cleanup_unblock_signals(&saved);
    if (pid < 0)
        die_errnum(err, "fork");
    if (pid == 0) {           /* the child: fork() returned 0 */
        close(back[0]);
        run_child(fds, back[1], getppid());
    }
    cleanup_check(handle, "the child");
    close(fds[0]);            /* the parent only writes */
    close(back[1]);
    for (long i = 1; i <= nlines; i++) {
        char line[128];
        int len = snprintf(line, sizeof line, "message %ld of %ld from parent %ld\n", i,
                           nlines, (long)getpid());
        /* Blocks while the pipe is full, until the child reads. */
        write_full_or_die(fds[1], line, (size_t)len);
        bytes += len;
    }
    close(fds[1]);            /* the end-of-file the child waits for */
    printf("parent: wrote %ld lines (%ld bytes) and closed the write end\n", nlines, bytes);
    /* end region: parent */

    if (read_full(back[0], &report, sizeof report) != (ssize_t)sizeof report)
        fatal("the child died before it reported");
    /* region: wait */
    while (waitpid(pid, &status, 0) < 0)      /* collect the child: no zombie */
        if (errno != EINTR)
            die("waitpid");
    /* end region: wait */
    cleanup_forget(handle);
    printf("result: sent=%ld received=%ld bytes=%ld eof=%d lines_ok=%d\n", nlines,
           report.lines, report.bytes, report.eof, report.lines_ok);
    return 0;
}
