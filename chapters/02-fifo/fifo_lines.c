/* fifo_lines.c - read text lines from a FIFO, whoever writes them (PHP fwrite, echo, C).
 *
 * Lesson: a FIFO carries bytes, not lines or records: a writer's "hello\n"
 * may arrive in one read with the next line, or split across two.  A
 * reader of text keeps what it read after the last newline and finishes
 * the line with the next read; the last line may have no newline at all
 * (PHP's fwrite($f, "hello") writes none).  End-of-file comes when every
 * writer has closed.  The reader opens with O_NONBLOCK (a blocking open
 * would wait for a writer with no time limit) and poll()s for each piece
 * up to --timeout-ms.  Before any writer came, read() would already return
 * 0: only poll() tells "nobody yet" from "everyone left".
 *
 * Run:  fifo_lines &                        # makes a FIFO, prints its path
 *       printf 'one\ntwo\nthree' > PATH     # (or: php writer.php PATH)
 *       fifo_lines --fifo PATH              # a FIFO someone else made
 *
 * You should see the FIFO's path, then each line with its number:
 *       ready: write lines to /tmp/ipclab-lines-Ab12Cd/lines
 *       line 1: one
 *       line 3: three (no newline at the end)
 *       3 lines; every writer has closed the FIFO
 */
#include "ipclab.h"
#include "fifo/fifo.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096     /* a longer line is printed in pieces */

static long count = 0, timeout_ms = 10000;
static const char *fifo_path;

static const struct cli_option options[] = {
    CLI_OPTION_STRING("fifo", &fifo_path, "PATH",
                      "read an existing FIFO (posix_mkfifo's) instead of making one"),
    CLI_OPTION_LONG("count", &count, 0, 1000000, "N", "stop after N lines; 0: at end-of-file"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 600000, "MS",
                    "longest wait for a writer, or for the next bytes"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Prints the text lines written to a FIFO, numbered, until every\n"
               "writer has closed it.",
    .options = options,
    .details = "Without --fifo, makes one, mode 0600, in a private directory, and\n"
               "removes both when it stops.  A FIFO given with --fifo is left alone.",
};

static long lines;

static void print_line(const char *text, size_t len, const char *note)
{
    lines++;
    printf("line %ld: %.*s%s\n", lines, (int)len, text, note);
}

/* Waits for bytes (or for the last writer to leave): false after the
 * timeout. */
static bool wait_readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int n;

    while ((n = poll(&p, 1, (int)timeout_ms)) < 0)
        if (errno != EINTR)
            die("poll");
    return n > 0;
}

int main(int argc, char **argv)
{
    char dir[FIFO_PATH_MAX], path[FIFO_PATH_MAX], buf[LINE_MAX_BYTES];
    size_t held = 0;                    /* bytes of an unfinished line in buf */
    struct stat st;
    int fd;

    cli_parse(&cli, argc, argv);
    if (fifo_path == NULL) {
        ipc_private_dir_create_or_die(dir, sizeof dir, "lines");
        fifo_make(path, sizeof path, dir, "lines");
        fifo_path = path;
    }
    fd = open(fifo_path, O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        die("open %s", fifo_path);
    if (fstat(fd, &st) != 0)
        die("fstat %s", fifo_path);
    if (!S_ISFIFO(st.st_mode))
        fatal("%s is not a FIFO", fifo_path);
    printf("ready: write lines to %s\n", fifo_path);

    while (count == 0 || lines < count) {
        if (!wait_readable(fd))
            fatal("nothing came for %ld ms (%ld line%s so far)", timeout_ms, lines,
                  lines == 1 ? "" : "s");
        ssize_t got = read(fd, buf + held, sizeof buf - held);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got < 0)
            die("read %s", fifo_path);
        if (got == 0) {                 /* every writer has closed it */
            if (held > 0)
                print_line(buf, held, " (no newline at the end)");
            printf("%ld line%s; every writer has closed the FIFO\n", lines, lines == 1 ? "" : "s");
            break;
        }
        held += (size_t)got;
        /* Every complete line in buf, then keep the rest for the next read. */
        char *start = buf, *nl;
        while ((count == 0 || lines < count) &&
               (nl = memchr(start, '\n', held - (size_t)(start - buf))) != NULL) {
            print_line(start, (size_t)(nl - start), "");
            start = nl + 1;
        }
        held -= (size_t)(start - buf);
        memmove(buf, start, held);
        if (held == sizeof buf) {       /* no newline in LINE_MAX_BYTES: a piece */
            print_line(buf, held, " (cut: longer than 4096 bytes)");
            held = 0;
        }
    }
    if (count > 0 && lines >= count)
        printf("%ld line%s read, as --count asked\n", lines, lines == 1 ? "" : "s");
    close(fd);
    return 0;                           /* exit removes a FIFO we made */
}
