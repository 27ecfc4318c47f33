/* daemonize.c - see daemonize.h. */
#include "daemonize.h"

#include "die.h"
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define READY_WAIT_MS 30000     /* the start-up of a daemon that never says */
#define READY_TAG "READY "

/* The original process: relays what the daemon writes until the pipe
 * closes.  Exits 0 if the daemon said READY, 1 otherwise. */
static _Noreturn void wait_for_ready(int fd, pid_t child)
{
    char buf[4096];
    size_t used = 0;
    bool ready = false;

    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int n = poll(&p, 1, READY_WAIT_MS);
        ssize_t got;

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "%s: the daemon did not report ready in %d ms\n",
                    program_name, READY_WAIT_MS);
            break;
        }
        got = read(fd, buf + used, sizeof buf - 1 - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;              /* end of file: every copy of the pipe closed */
        used += (size_t)got;
        if (used == sizeof buf - 1)
            break;
    }
    buf[used] = '\0';
    for (char *line = buf, *next; *line != '\0'; line = next) {
        next = line + strcspn(line, "\n");
        if (*next == '\n')
            *next++ = '\0';
        if (strncmp(line, READY_TAG, strlen(READY_TAG)) == 0) {
            printf("%s\n", line + strlen(READY_TAG));
            ready = true;
        } else {
            fprintf(stderr, "%s\n", line);    /* the daemon's last words */
        }
    }
    waitpid(child, NULL, 0);    /* the first child exits right away */
    exit(ready ? 0 : 1);
}

/* region: daemonize */
int daemonize_or_die(void)
{
    int ready[2], null_fd;
    pid_t pid;

    if (pipe(ready) != 0)
        die("pipe");
    fflush(NULL);               /* or the children print it once more */
    /* 1. fork: the parent stays behind to report readiness, and the child,
     *    not a process-group leader, may call setsid().  (Bare fork: nothing
     *    is registered for cleanup yet, and the parent must not kill us.) */
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid > 0) {
        close(ready[1]);
        wait_for_ready(ready[0], pid);
    }
    close(ready[0]);
    /* 2. setsid: a new session with no controlling terminal, so closing
     *    the terminal (SIGHUP) or Ctrl-C there no longer reaches us. */
    if (setsid() < 0)
        die("setsid");
    /* 3. fork again: the session leader exits, and the daemon, not a
     *    leader, can never get a controlling terminal by opening a tty. */
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid > 0)
        _exit(0);
    /* 4. chdir("/"): not to keep a directory busy (an unmountable disk).
     *    Every path was made absolute before. */
    if (chdir("/") != 0)
        die("chdir /");
    /* 5. umask: the inherited one is the user's shell's; 022 means the
     *    modes we ask for (0600, 0644) are the modes we get. */
    umask(022);
    /* 6. standard streams: nothing to read, nobody to print to.  stdin and
     *    stdout go to /dev/null; stderr into the readiness pipe until ready.
     *    Other inherited descriptors are closed (a test runner waits for
     *    its pipes to close before it carries on). */
    null_fd = open("/dev/null", O_RDWR);
    if (null_fd < 0)
        die("open /dev/null");
    if (dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(ready[1], 2) < 0)
        die("dup2");
    for (int fd = 3; fd < 1024; fd++)
        if (fd != ready[1])
            close(fd);
    return ready[1];
}
/* end region: daemonize */

void daemon_ready(int fd, int log_fd, const char *line)
{
    char text[1024];
    int len;

    if (fd < 0) {
        printf("%s\n", line);
        return;
    }
    len = snprintf(text, sizeof text, READY_TAG "%s\n", line);
    write_full(fd, text, (size_t)len);
    /* From now on stderr is the log (or /dev/null): the pipe must close,
     * or the waiting parent never sees end-of-file. */
    if (dup2(log_fd >= 0 ? log_fd : 1, 2) < 0)
        die("dup2");
    close(fd);
}
