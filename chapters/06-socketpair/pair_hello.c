/* pair_hello.c - a socketpair carries messages both ways between parent and child.
 *
 * Lesson: socketpair() makes two connected sockets at once; after fork()
 * the parent keeps one end and the child the other, and each end can both
 * write and read, unlike a pipe, which is one-way.  Each side closes the
 * end it does not use.  A stream socket has no message boundaries, so here
 * the end of the stream marks the end of a message: each side sends, then
 * shuts down its writing half (shutdown(SHUT_WR)), and the other side reads
 * until end-of-file.  As the chapter's first program it uses the bare calls,
 * socketpair(), fork() and waitpid(); later programs fork through lib's
 * fork_child(), which also makes sure a signal cannot leave a child behind.
 *
 * Run:  pair_hello
 *       pair_hello --parent-says "ping" --child-says "pong"
 *
 * You should see, always in this order:
 *       parent -> child: Message From Parent.
 *       child got: Message From Parent.
 *       child -> parent: Message From Child.
 *       parent got: Message From Child.
 */
#include "ipclab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEXT_MAX 4096
static const char *parent_says = "Message From Parent.";
static const char *child_says = "Message From Child.";

/* region: talk */
/* Sends text, ends our half of the stream, and reads the peer's message
 * until its end-of-file. */
static void say_then_listen(int fd, const char *text, char *heard, size_t size)
{
    size_t got;

    write_full_or_die(fd, text, strlen(text));
    if (shutdown(fd, SHUT_WR) != 0)          /* "I am done talking" */
        die("shutdown");
    got = read_full_or_die(fd, heard, size - 1);
    heard[got] = '\0';
}

/* The child listens first; it prints before it answers, so its lines
 * always come before the parent's "got". */
static void listen_then_say(int fd, const char *text, char *heard, size_t size)
{
    size_t got = read_full_or_die(fd, heard, size - 1);

    heard[got] = '\0';
    printf("child got: %s\n", heard);
    printf("child -> parent: %s\n", text);
    write_full_or_die(fd, text, strlen(text));
    if (shutdown(fd, SHUT_WR) != 0)
        die("shutdown");
}
/* end region: talk */

static const struct cli_option options[] = {
    CLI_OPTION_STRING("parent-says", &parent_says, "TEXT", "the parent's message"),
    CLI_OPTION_STRING("child-says", &child_says, "TEXT", "the child's answer"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Parent and child exchange one message each way over a socketpair.",
    .options = options,
};

int main(int argc, char **argv)
{
    char heard[TEXT_MAX];
    int sv[2], status;
    pid_t pid;

    cli_parse(&cli, argc, argv);
    if (strlen(parent_says) >= TEXT_MAX || strlen(child_says) >= TEXT_MAX)
        usage_error("a message may have at most %d bytes", TEXT_MAX - 1);

    /* region: pair */
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("socketpair");
    fflush(stdout);                          /* or the child would repeat what is pending */
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(sv[0]);                        /* the child talks on sv[1] */
        listen_then_say(sv[1], child_says, heard, sizeof heard);
        exit(0);
    }
    close(sv[1]);                            /* the parent talks on sv[0] */
    printf("parent -> child: %s\n", parent_says);
    say_then_listen(sv[0], parent_says, heard, sizeof heard);
    printf("parent got: %s\n", heard);

    while (waitpid(pid, &status, 0) < 0)     /* reap the child */
        if (errno != EINTR)
            die("waitpid");
    /* end region: pair */
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
