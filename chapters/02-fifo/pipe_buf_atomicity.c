/* pipe_buf_atomicity.c - writes of at most PIPE_BUF bytes never interleave.
 *
 * Lesson: when several processes write to one pipe or FIFO, POSIX promises
 * that a write() of at most PIPE_BUF bytes lands in one piece, never mixed
 * with another writer's bytes.  A larger write has no such promise: when the
 * pipe fills up, the writer sleeps with its record half written and another
 * writer's bytes go in between.  A record-per-write protocol over a shared
 * pipe must keep its records within PIPE_BUF.
 *
 * Run:  pipe_buf_atomicity                       # records of PIPE_BUF bytes: none torn
 *       pipe_buf_atomicity --size 512 --writers 8
 *       pipe_buf_atomicity --size 131072 --records 20   # larger: torn ones show up
 *       printf AABBBBAA | pipe_buf_atomicity --check --size 4   # 1 intact, 1 torn
 *
 * You should see every record intact when --size is at most PIPE_BUF, and
 * a count of torn records (often most of them) when it is larger:
 *       4 writers x 1000 records of 4096 bytes into one pipe (PIPE_BUF 4096)
 *       result: writers=4 records=4000 size=4096 pipe_buf=4096 intact=4000 torn=0 ms=9.812
 */
#include "ipclab.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The most one run may move, and the most reads it may take: every accepted
 * set of options finishes in about a second or two. */
#define MAX_TOTAL_BYTES (64L * 1024 * 1024)
#define MAX_READS (1024L * 1024)

static long nwriters = 4, records = 1000, size = PIPE_BUF, read_size = 65536;
static bool pin = false, check_only = false;
static int pipe_fds[2];

static const struct cli_option options[] = {
    CLI_OPTION_LONG("writers", &nwriters, 2, 26, "N", "writer processes"),
    CLI_OPTION_LONG("records", &records, 1, 1000000, "N", "records per writer"),
    CLI_OPTION_LONG("size", &size, 1, 4 * 1024 * 1024, "BYTES",
                    "bytes per record, each written with one write()"),
    CLI_OPTION_LONG("read-size", &read_size, 1, 1024 * 1024, "BYTES",
                    "the reader's buffer"),
    CLI_OPTION_FLAG("pin", &pin, "run the reader and every writer on one CPU"),
    CLI_OPTION_FLAG("check", &check_only,
                    "write nothing: check the stream on standard input (a pipe or file)"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "N processes write fixed-size records into one pipe; the reader\n"
               "counts the records that arrived torn, mixed with another's bytes.",
    .options = options,
    .details = "Every byte of writer k's records is the letter 'A' + k, so the reader\n"
               "sees exactly where one writer's bytes stop and another's begin.\n"
               "A run moves at most 64 MiB (writers x records x size) in at most\n"
               "1048576 reads (that total divided by the read size).  --check reads\n"
               "any letters A-Z and counts the writers it sees.",
};

/* region: writer */
static int write_records(int index, void *arg)
{
    char *record = malloc((size_t)size);

    (void)arg;
    if (record == NULL)
        die("malloc");
    close(pipe_fds[0]);
    memset(record, 'A' + index, (size_t)size);
    for (long i = 0; i < records; i++) {
        /* One write() per record.  A blocking pipe write returns only when
         * everything is written (or a signal cuts it short), so the only
         * question is whether others got in between. */
        ssize_t n = write(pipe_fds[1], record, (size_t)size);
        if (n != size)
            die("write (%zd of %ld bytes)", n, size);
    }
    free(record);
    return 0;
}
/* end region: writer */

/* region: checker */
/* Follows each writer's current record through the stream.  When another
 * writer's byte shows up while a record is unfinished, that record is torn;
 * it is counted as such when its last byte arrives. */
struct checker {
    long pos[26];          /* bytes of each writer's current record so far */
    int broken[26];        /* that record was interrupted */
    int current;           /* whose bytes are arriving now; -1 at the start */
    int seen[26], writers; /* the writers whose bytes came at all */
    long intact, torn, stray;
};

static void check_bytes(struct checker *c, const unsigned char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int w = buf[i] - 'A';
        if (w < 0 || w >= 26 || (!check_only && w >= nwriters)) {
            c->stray++;
            continue;
        }
        if (c->pos[w] == 0 && !c->seen[w]) {
            c->seen[w] = 1;
            c->writers++;
        }
        if (w != c->current) {
            if (c->current >= 0 && c->pos[c->current] != 0)
                c->broken[c->current] = 1;   /* cut off mid-record */
            c->current = w;
        }
        if (++c->pos[w] == size) {
            if (c->broken[w])
                c->torn++;
            else
                c->intact++;
            c->pos[w] = 0;
            c->broken[w] = 0;
        }
    }
}
/* end region: checker */

/* Reads fd to end-of-file through the checker; returns the bytes read. */
static long check_stream(int fd, struct checker *checker)
{
    unsigned char *buf = malloc((size_t)read_size);
    long total = 0;

    if (buf == NULL)
        die("malloc");
    for (;;) {
        ssize_t n = read(fd, buf, (size_t)read_size);
        if (n == 0)
            break;                       /* every writer has closed: done */
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("read");
        }
        total += n;
        check_bytes(checker, buf, (size_t)n);
    }
    free(buf);
    return total;
}

int main(int argc, char **argv)
{
    struct checker checker = { .current = -1 };
    struct workers *workers;
    uint64_t start = monotonic_ns();
    long total_bytes, expected_bytes = -1, leftover = 0;
    int err, failed = 0;

    cli_parse(&cli, argc, argv);
    if (!check_only && nwriters * records * size > MAX_TOTAL_BYTES)
        usage_error("--writers x --records x --size is %ld bytes; at most %ld (64 MiB) "
                    "per run", nwriters * records * size, MAX_TOTAL_BYTES);
    if (!check_only && nwriters * records * size / read_size > MAX_READS)
        usage_error("--read-size %ld: %ld bytes take %ld reads; at most %ld per run",
                    read_size, nwriters * records * size,
                    nwriters * records * size / read_size, MAX_READS);
    if (check_only) {
        if (isatty(STDIN_FILENO))
            usage_error("--check reads a stream from standard input, not a terminal");
        total_bytes = check_stream(STDIN_FILENO, &checker);
    } else {
        if (pin)
            pin_to_one_cpu_or_die();         /* the writers inherit it */
        if (pipe(pipe_fds) != 0)
            die("pipe");
        printf("%ld writers x %ld records of %ld bytes into one pipe (PIPE_BUF %d)\n",
               nwriters, records, size, PIPE_BUF);
        err = workers_start(&workers, (int)nwriters, write_records, NULL);
        if (err != 0)
            die_errnum(err, "workers_start");
        /* Only the writers may hold the write end, or read() never sees EOF. */
        close(pipe_fds[1]);
        start = monotonic_ns();
        err = workers_go(workers);
        if (err != 0)
            die_errnum(err, "workers_go");
        total_bytes = check_stream(pipe_fds[0], &checker);
        err = workers_wait(workers, &failed);
        if (err != 0)
            die_errnum(err, "workers_wait");
        workers_free(workers);
        expected_bytes = nwriters * records * size;
    }

    for (int w = 0; w < nwriters; w++)
        leftover += checker.pos[w];
    if (checker.stray != 0 || leftover != 0 ||
        (expected_bytes >= 0 && total_bytes != expected_bytes))
        printf("%s: the stream is damaged: %ld stray bytes, %ld in unfinished records, "
               "%ld bytes in all\n", program_name, checker.stray, leftover, total_bytes);
    /* With --check the writers are the letters the stream holds. */
    printf("result: writers=%ld records=%ld size=%ld pipe_buf=%d intact=%ld torn=%ld ms=%.3f\n",
           check_only ? (long)checker.writers : nwriters, checker.intact + checker.torn, size,
           PIPE_BUF, checker.intact, checker.torn, ns_to_ms(monotonic_ns() - start));
    return failed == 0 ? 0 : 1;
}
