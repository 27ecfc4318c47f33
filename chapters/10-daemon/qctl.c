/* qctl.c - sends one command to qdaemon's control socket and prints the answer.
 *
 * Lesson: a Unix-domain stream socket in a private 0700 directory is a
 * control channel only our user can reach, and unlike a System V queue it
 * is a file descriptor the daemon's event loop can watch.
 *
 * Run:  qctl /tmp/ipclab-qdaemon-Xy12Ab/control status
 *       qctl /tmp/ipclab-qdaemon-Xy12Ab/control reload   (what SIGHUP does, answered)
 *       qctl /tmp/ipclab-qdaemon-Xy12Ab/control stop
 *
 * You should see the daemon's one-line answer:
 *       running pid 4242: requests=3 answered=3 errors=0 refused=0 dropped=0 uptime=2.0s
 */
#include "ipclab.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static long timeout_ms = 2000;

static const struct cli_option options[] = {
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "longest wait for the answer"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends COMMAND (status, reload or stop) to the control socket SOCKET\n"
               "of qdaemon and prints the answer.",
    .options = options,
    .operands = "SOCKET COMMAND",
    .operands_min = 2,
    .operands_max = 2,
};

int main(int argc, char **argv)
{
    int first = cli_parse(&cli, argc, argv), fd;
    const char *path = argv[first], *command = argv[first + 1];
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct timeval limit = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    char answer[1200];
    size_t used = 0;
    ssize_t got = 0;

    if (strlen(path) >= sizeof addr.sun_path)
        usage_error("SOCKET: the path is longer than %zu bytes", sizeof addr.sun_path - 1);
    if (strlen(command) > 64 || strchr(command, '\n') != NULL)
        usage_error("COMMAND: one word of at most 64 characters");
    memcpy(addr.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        die("connect %s", path);
    write_full_or_die(fd, command, strlen(command));
    write_full_or_die(fd, "\n", 1);
    /* The daemon answers one line and closes: read to end of file. */
    while (used < sizeof answer - 1 &&
           ((got = read(fd, answer + used, sizeof answer - 1 - used)) > 0 ||
            (got < 0 && errno == EINTR)))
        if (got > 0)
            used += (size_t)got;
    if (got < 0)
        die("read (no answer in %ld ms)", timeout_ms);
    close(fd);
    fwrite(answer, 1, used, stdout);
    return 0;
}
