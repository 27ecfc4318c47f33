/* coprocess.c - two pipes to one child: requests in, answers out.
 *
 * Lesson: a pipe carries bytes one way, so talking with a child both ways
 * takes two: one to its input, one from its output.  The parent writes a
 * request and waits for the answer, so the child must send each answer at
 * once.  A child that writes with stdio into a pipe gets full buffering (a
 * pipe is not a terminal): its answer sits in its buffer while both sides
 * wait for each other.  --child-buffering full shows that deadlock, ended
 * here by a timeout.
 *
 * Run:  coprocess                           # 3 requests, 3 answers
 *       coprocess --requests 1000
 *       coprocess --child-buffering full    # no answer: both sides wait
 *
 * You should see each sum computed by the child; with full buffering, no
 * answer until the parent gives up and closes the child's input, after
 * which the child exits and its buffer is flushed, too late:
 *       parent: asked "1 100", child answered "101"
 *       result: requests=3 asked=3 answered=3 correct=3 timeout=0 late=0
 *       result: requests=3 asked=1 answered=0 correct=0 timeout=1 late=1   (full)
 */
#include "ipclab.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long nrequests = 3, timeout_ms = 300;
static const char *const buffering_names[] = { "line", "full", NULL };
enum { BUFFER_LINE, BUFFER_FULL };
static int buffering = BUFFER_LINE;

static const struct cli_option options[] = {
    CLI_OPTION_LONG("requests", &nrequests, 1, 100000, "N", "requests to send"),
    CLI_OPTION_CHOICE("child-buffering", &buffering, buffering_names, "MODE",
                      "the child's stdio buffering of its answers"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 600000, "MS", "wait this long for an answer"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends \"A B\" lines to a child through one pipe and reads the sums\n"
               "back through another.",
    .options = options,
};

/* region: child */
/* The coprocess: a filter that reads "A B" lines and writes "A+B" lines,
 * through stdio as most filters do. */
static _Noreturn void run_child(int in_fd, int out_fd)
{
    FILE *in = fdopen(in_fd, "r"), *out = fdopen(out_fd, "w");
    char line[256];

    if (in == NULL || out == NULL)
        die("fdopen");
    /* On a pipe, stdio picks full buffering by itself; "line" is the fix. */
    if (setvbuf(out, NULL, buffering == BUFFER_LINE ? _IOLBF : _IOFBF, BUFSIZ) != 0)
        die("setvbuf");
    while (fgets(line, sizeof line, in) != NULL) {
        char *space = strchr(line, ' '), *nl = strchr(line, '\n');
        long a, b;
        if (nl != NULL)
            *nl = '\0';
        if (space != NULL)
            *space = '\0';
        if (space == NULL || parse_long(line, -1000000000, 1000000000, &a) != 0 ||
            parse_long(space + 1, -1000000000, 1000000000, &b) != 0)
            fprintf(out, "error: expected two numbers\n");
        else
            fprintf(out, "%ld\n", a + b);
    }
    fclose(out);                 /* flushes whatever is still buffered */
    exit(0);
}
/* end region: child */

/* Reads one line from fd into line (without the newline), waiting at most
 * timeout_ms.  Returns 1, 0 at end-of-file, or -1 on timeout.  Reads a byte
 * at a time so that nothing of the next answer is taken early. */
static int read_line(int fd, char *line, size_t size, long ms)
{
    size_t used = 0;

    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int ready = poll(&pfd, 1, (int)ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            die("poll");
        if (ready == 0)
            return -1;
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("read");
        if (n == 0)
            return 0;
        if (c == '\n') {
            line[used] = '\0';
            return 1;
        }
        if (used < size - 1)
            line[used++] = c;
    }
}

int main(int argc, char **argv)
{
    int to_child[2], from_child[2], handle, status, timed_out = 0;
    long asked = 0, answered = 0, correct = 0, late = 0;
    char answer[256];
    pid_t pid;

    cli_parse(&cli, argc, argv);
    /* region: pipes */
    if (pipe(to_child) != 0 || pipe(from_child) != 0)
        die("pipe");
    pid = fork_child_or_die(&handle);   /* registered for cleanup */
    if (pid == 0) {
        close(to_child[1]);      /* the child reads requests ... */
        close(from_child[0]);    /* ... and writes answers */
        run_child(to_child[0], from_child[1]);
    }
    close(to_child[0]);
    close(from_child[1]);
    /* end region: pipes */

    /* region: exchange */
    for (long i = 1; i <= nrequests; i++) {
        char request[64];
        int len = snprintf(request, sizeof request, "%ld %ld\n", i, 100 * i);
        write_full_or_die(to_child[1], request, (size_t)len);
        asked++;
        int got = read_line(from_child[0], answer, sizeof answer, timeout_ms);
        request[len - 1] = '\0';
        if (got < 0) {
            printf("parent: asked \"%s\", no answer within %ld ms: it sits in the child's "
                   "stdio buffer\n", request, timeout_ms);
            if (i < nrequests)
                printf("parent: %ld of %ld requests asked; not asking the rest\n", i,
                       nrequests);
            timed_out = 1;
            break;
        }
        if (got == 0)
            fatal("the child closed its output");
        answered++;
        long sum;
        correct += parse_long(answer, -2000000000, 2000000000, &sum) == 0 && sum == 101 * i;
        if (nrequests <= 10)
            printf("parent: asked \"%s\", child answered \"%s\"\n", request, answer);
    }
    /* end region: exchange */

    /* End of input: the child's fgets() returns NULL, it exits, and exit
     * flushes anything its buffer still held. */
    close(to_child[1]);
    while (read_line(from_child[0], answer, sizeof answer, timeout_ms) == 1) {
        late++;
        printf("parent: after closing the child's input, a late answer: \"%s\"\n", answer);
    }
    close(from_child[0]);
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    cleanup_forget(handle);
    printf("result: requests=%ld asked=%ld answered=%ld correct=%ld timeout=%d late=%ld\n",
           nrequests, asked, answered, correct, timed_out, late);
    return 0;
}
