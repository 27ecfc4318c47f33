#define _GNU_SOURCE   /* FIONREAD, to pace a writer byte by byte */
/* test_frame.c - length-prefixed frames over a byte stream (lib/frame.c). */
#include "unit.h"

#include "die.h"
#include "frame.h"
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* --- helpers -------------------------------------------------------------- */

/* The payload of frame number seed, byte i: differs from frame to frame, so
 * a reader out of step sees wrong bytes. */
static unsigned char payload_byte(unsigned seed, size_t i)
{
    return (unsigned char)(i * 31 + seed * 101 + i / 509);
}

static void fill_payload(unsigned char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = payload_byte(seed, i);
}

static int is_payload(const unsigned char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != payload_byte(seed, i))
            return 0;
    return 1;
}

static void put_header(unsigned char *h, uint32_t len)
{
    h[0] = (unsigned char)(len >> 24);
    h[1] = (unsigned char)(len >> 16);
    h[2] = (unsigned char)(len >> 8);
    h[3] = (unsigned char)len;
}

/* A pipe holding exactly the given bytes, its write end closed: the reader
 * sees them, then end-of-stream.  Returns the read end. */
static int stream_of(const void *bytes, size_t n)
{
    int fds[2];

    CU_ASSERT_FATAL(pipe(fds) == 0);
    CU_ASSERT_FATAL(n < 65536);                     /* fits in the pipe */
    CU_ASSERT_FATAL(write_full(fds[1], bytes, n) == (ssize_t)n);
    close(fds[1]);
    return fds[0];
}

static void ignore_sigpipe(struct sigaction *old)
{
    struct sigaction ign;

    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    CU_ASSERT_FATAL(sigaction(SIGPIPE, &ign, old) == 0);
}

/* --- round trip ---------------------------------------------------------------- */

static const size_t sizes[] = { 0, 1, 4095, 4096, 4097, 1024 * 1024, 3 };
enum { NSIZES = sizeof sizes / sizeof sizes[0] };

/* The child: receives every frame, checks length and bytes, then expects a
 * clean end of stream.  Exit status 0, or 10 + the frame that was wrong, or
 * 50 if the end was not FRAME_EOF. */
static int receive_all(void *arg)
{
    int fd = *(int *)arg;
    static unsigned char buf[1024 * 1024];
    size_t len = 0;

    for (unsigned k = 0; k < NSIZES; k++) {
        memset(buf, 0xee, sizes[k] + 1 < sizeof buf ? sizes[k] + 1 : sizeof buf);
        if (frame_recv(fd, buf, sizeof buf, &len) != FRAME_OK || len != sizes[k] ||
            !is_payload(buf, len, k))
            return 10 + (int)k;
    }
    return frame_recv(fd, buf, sizeof buf, &len) == FRAME_EOF ? 0 : 50;
}

static void test_round_trip_across_a_socketpair(void)
{
    static unsigned char payload[1024 * 1024];
    struct sigaction old;
    int sv[2];
    pid_t pid;

    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    pid = unit_fork(receive_all, &sv[1]);
    close(sv[1]);
    ignore_sigpipe(&old);           /* a reader that gives up must not kill us */
    for (unsigned k = 0; k < NSIZES; k++) {
        fill_payload(payload, sizes[k], k);
        CU_ASSERT_EQUAL(frame_send(sv[0], payload, sizes[k]), FRAME_OK);
    }
    shutdown(sv[0], SHUT_WR);
    CU_ASSERT_TRUE(unit_exited(unit_wait_timeout(pid, 10000), 0));
    sigaction(SIGPIPE, &old, NULL);
    close(sv[0]);
}

static void test_wire_format_is_big_endian_length_then_bytes(void)
{
    unsigned char raw[16];
    int fds[2];

    CU_ASSERT_FATAL(pipe(fds) == 0);
    CU_ASSERT_EQUAL(frame_send(fds[1], "abc", 3), FRAME_OK);
    close(fds[1]);
    CU_ASSERT_EQUAL(read_full(fds[0], raw, sizeof raw), 7);
    CU_ASSERT_EQUAL(memcmp(raw, "\0\0\0\3abc", 7), 0);
    close(fds[0]);
}

static void test_decodes_a_multi_byte_length(void)
{
    /* 0x00000102 = 258; read little-endian it would be 0x02010000. */
    unsigned char raw[4 + 258], buf[300];
    size_t len = 0;
    int fd;

    put_header(raw, 258);
    fill_payload(raw + 4, 258, 7);
    CU_ASSERT_EQUAL(raw[2], 1);
    CU_ASSERT_EQUAL(raw[3], 2);
    fd = stream_of(raw, sizeof raw);
    CU_ASSERT_EQUAL(frame_recv(fd, buf, sizeof buf, &len), FRAME_OK);
    CU_ASSERT_EQUAL(len, 258);
    CU_ASSERT_TRUE(is_payload(buf, 258, 7));
    CU_ASSERT_EQUAL(frame_recv(fd, buf, sizeof buf, &len), FRAME_EOF);
    close(fd);
}

static void test_frames_written_together_come_apart(void)
{
    unsigned char raw[3 * 4 + 5 + 0 + 2], buf[8];
    size_t len = 99;
    int fd;

    put_header(raw, 5);
    memcpy(raw + 4, "hello", 5);
    put_header(raw + 9, 0);
    put_header(raw + 13, 2);
    memcpy(raw + 17, "ok", 2);
    fd = stream_of(raw, sizeof raw);
    CU_ASSERT_EQUAL(frame_recv(fd, buf, sizeof buf, &len), FRAME_OK);
    CU_ASSERT_EQUAL(len, 5);
    CU_ASSERT_EQUAL(memcmp(buf, "hello", 5), 0);
    CU_ASSERT_EQUAL(frame_recv(fd, buf, sizeof buf, &len), FRAME_OK);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(frame_recv(fd, buf, sizeof buf, &len), FRAME_OK);
    CU_ASSERT_EQUAL(len, 2);
    CU_ASSERT_EQUAL(memcmp(buf, "ok", 2), 0);
    CU_ASSERT_EQUAL(frame_recv(fd, buf, sizeof buf, &len), FRAME_EOF);
    close(fd);
}

/* Writes a frame one byte at a time, each only after the reader took the
 * previous one: the header itself arrives in four reads. */
static int dribble(void *arg)
{
    int fd = *(int *)arg;
    unsigned char raw[4 + 6];

    put_header(raw, 6);
    memcpy(raw + 4, "dribbl", 6);
    for (size_t i = 0; i < sizeof raw; i++) {
        int queued = 1;
        const struct timespec t = { 0, 50000 };

        if (write_full(fd, raw + i, 1) != 1)
            return 1;
        for (int waited = 0; queued > 0; waited++) {
            if (ioctl(fd, FIONREAD, &queued) != 0 || waited > 100000)
                return 2;
            if (queued > 0)
                nanosleep(&t, NULL);
        }
    }
    return 0;
}

static void test_a_frame_arriving_byte_by_byte(void)
{
    unsigned char buf[16];
    size_t len = 0;
    int fds[2];
    pid_t pid;

    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid = unit_fork(dribble, &fds[1]);
    close(fds[1]);
    CU_ASSERT_EQUAL(frame_recv(fds[0], buf, sizeof buf, &len), FRAME_OK);
    CU_ASSERT_EQUAL(len, 6);
    CU_ASSERT_EQUAL(memcmp(buf, "dribbl", 6), 0);
    CU_ASSERT_EQUAL(frame_recv(fds[0], buf, sizeof buf, &len), FRAME_EOF);
    CU_ASSERT_TRUE(unit_exited(unit_wait_timeout(pid, 10000), 0));
    close(fds[0]);
}

/* --- end of stream and truncation ------------------------------------------ */

static void test_eof_only_at_a_frame_boundary(void)
{
    unsigned char buf[8];
    size_t len = 77;
    int fd = stream_of("", 0);

    CU_ASSERT_EQUAL(frame_recv(fd, buf, sizeof buf, &len), FRAME_EOF);
    CU_ASSERT_EQUAL(len, 77);                 /* untouched */
    close(fd);
}

static void test_truncated_in_the_header(void)
{
    unsigned char raw[4], buf[8];
    size_t len = 77;

    put_header(raw, 1);
    for (size_t cut = 1; cut < 4; cut++) {
        int fd = stream_of(raw, cut);
        CU_ASSERT_EQUAL(frame_recv(fd, buf, sizeof buf, &len), FRAME_TRUNCATED);
        close(fd);
    }
    CU_ASSERT_EQUAL(len, 77);
}

static void test_truncated_in_the_payload(void)
{
    unsigned char raw[4 + 10], buf[16];
    size_t len = 77;
    int fd;

    put_header(raw, 10);
    fill_payload(raw + 4, 10, 1);
    fd = stream_of(raw, 4);                      /* no payload at all */
    CU_ASSERT_EQUAL(frame_recv(fd, buf, sizeof buf, &len), FRAME_TRUNCATED);
    close(fd);
    fd = stream_of(raw, 4 + 9);                  /* one byte short */
    CU_ASSERT_EQUAL(frame_recv(fd, buf, sizeof buf, &len), FRAME_TRUNCATED);
    close(fd);
    CU_ASSERT_EQUAL(len, 77);
    fd = stream_of(raw, 4 + 10);                 /* complete */
    CU_ASSERT_EQUAL(frame_recv(fd, buf, sizeof buf, &len), FRAME_OK);
    CU_ASSERT_EQUAL(len, 10);
    close(fd);
}

/* --- size limits ---------------------------------------------------------------- */

static void test_too_big_for_the_callers_buffer(void)
{
    unsigned char raw[4 + 101], buf[101];
    size_t len = 77;
    int fd;

    put_header(raw, 101);
    fill_payload(raw + 4, 101, 3);
    fd = stream_of(raw, sizeof raw);
    CU_ASSERT_EQUAL(frame_recv(fd, buf, 100, &len), FRAME_TOO_BIG);
    CU_ASSERT_EQUAL(len, 77);
    /* Nothing of the payload was read: it is all still in the stream. */
    CU_ASSERT_EQUAL(read_full(fd, buf, sizeof buf), 101);
    CU_ASSERT_TRUE(is_payload(buf, 101, 3));
    close(fd);

    fd = stream_of(raw, sizeof raw);             /* the same frame, cap 101 */
    CU_ASSERT_EQUAL(frame_recv(fd, buf, 101, &len), FRAME_OK);
    CU_ASSERT_EQUAL(len, 101);
    close(fd);
}

static void test_too_big_for_frame_max(void)
{
    unsigned char raw[4], buf[8];
    void *payload = NULL;
    size_t len = 77;
    int fd;

    put_header(raw, (uint32_t)FRAME_MAX + 1);
    fd = stream_of(raw, sizeof raw);
    CU_ASSERT_EQUAL(frame_recv(fd, buf, SIZE_MAX, &len), FRAME_TOO_BIG);
    close(fd);
    fd = stream_of(raw, sizeof raw);
    CU_ASSERT_EQUAL(frame_recv_alloc(fd, SIZE_MAX, &payload, &len), FRAME_TOO_BIG);
    close(fd);
    put_header(raw, UINT32_MAX);
    fd = stream_of(raw, sizeof raw);
    CU_ASSERT_EQUAL(frame_recv_alloc(fd, SIZE_MAX, &payload, &len), FRAME_TOO_BIG);
    close(fd);
    CU_ASSERT_PTR_NULL(payload);
    CU_ASSERT_EQUAL(len, 77);
}

static void test_send_refuses_more_than_frame_max(void)
{
    unsigned char small[8], probe[4];
    int fds[2];

    CU_ASSERT_FATAL(pipe(fds) == 0);
    /* Non-blocking both ways: a sender that tried anyway would fail with
     * EAGAIN instead of hanging, and the probe read finds nothing. */
    CU_ASSERT_FATAL(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
    CU_ASSERT_FATAL(fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0);
    CU_ASSERT_EQUAL(frame_send(fds[1], small, FRAME_MAX + 1), FRAME_TOO_BIG);
    errno = 0;
    CU_ASSERT_EQUAL(read(fds[0], probe, sizeof probe), -1);   /* nothing sent */
    CU_ASSERT_EQUAL(errno, EAGAIN);
    close(fds[0]);
    close(fds[1]);
}

/* A frame of exactly FRAME_MAX bytes is allowed both ways. */
static int send_frame_max(void *arg)
{
    int fd = *(int *)arg;
    unsigned char *big = malloc(FRAME_MAX);

    if (big == NULL)
        return 1;
    fill_payload(big, FRAME_MAX, 9);
    return frame_send(fd, big, FRAME_MAX) == FRAME_OK ? 0 : 2;
}

static void test_exactly_frame_max_passes(void)
{
    void *payload = NULL;
    size_t len = 0;
    int fds[2];
    pid_t pid;

    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid = unit_fork(send_frame_max, &fds[1]);
    close(fds[1]);
    CU_ASSERT_EQUAL(frame_recv_alloc(fds[0], FRAME_MAX, &payload, &len), FRAME_OK);
    CU_ASSERT_EQUAL(len, FRAME_MAX);
    CU_ASSERT(payload != NULL && is_payload(payload, FRAME_MAX, 9));
    free(payload);
    CU_ASSERT_TRUE(unit_exited(unit_wait_timeout(pid, 20000), 0));
    close(fds[0]);
}

/* --- frame_recv_alloc ------------------------------------------------------- */

static void test_recv_alloc(void)
{
    unsigned char raw[4 + 5 + 4 + 4 + 6];
    void *payload = NULL;
    size_t len = 0;
    int fd;

    put_header(raw, 5);
    memcpy(raw + 4, "hello", 5);
    put_header(raw + 9, 0);
    put_header(raw + 13, 6);
    memcpy(raw + 17, "toobig", 6);
    fd = stream_of(raw, sizeof raw);

    CU_ASSERT_EQUAL_FATAL(frame_recv_alloc(fd, 5, &payload, &len), FRAME_OK);
    CU_ASSERT_EQUAL(len, 5);
    CU_ASSERT_STRING_EQUAL(payload, "hello");      /* zero byte after it */
    free(payload);
    payload = NULL;

    CU_ASSERT_EQUAL_FATAL(frame_recv_alloc(fd, 5, &payload, &len), FRAME_OK);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_PTR_NOT_NULL(payload);
    CU_ASSERT(payload != NULL && ((char *)payload)[0] == '\0');
    free(payload);
    payload = NULL;

    CU_ASSERT_EQUAL(frame_recv_alloc(fd, 5, &payload, &len), FRAME_TOO_BIG);
    CU_ASSERT_PTR_NULL(payload);
    close(fd);
}

static void test_recv_alloc_eof_and_truncation(void)
{
    unsigned char raw[4 + 3];
    void *payload = NULL;
    size_t len = 77;
    int fd;

    fd = stream_of("", 0);
    CU_ASSERT_EQUAL(frame_recv_alloc(fd, 100, &payload, &len), FRAME_EOF);
    close(fd);
    put_header(raw, 8);
    memcpy(raw + 4, "abc", 3);
    fd = stream_of(raw, sizeof raw);     /* the buffer is freed (ASan checks) */
    CU_ASSERT_EQUAL(frame_recv_alloc(fd, 100, &payload, &len), FRAME_TRUNCATED);
    close(fd);
    fd = stream_of(raw, 2);
    CU_ASSERT_EQUAL(frame_recv_alloc(fd, 100, &payload, &len), FRAME_TRUNCATED);
    close(fd);
    CU_ASSERT_PTR_NULL(payload);
    CU_ASSERT_EQUAL(len, 77);
}

/* --- I/O errors and names ------------------------------------------------------ */

static void test_io_errors(void)
{
    struct sigaction old;
    unsigned char buf[8];
    void *payload = NULL;
    size_t len = 0;
    int fds[2];

    errno = 0;
    CU_ASSERT_EQUAL(frame_recv(-1, buf, sizeof buf, &len), FRAME_IO_ERROR);
    CU_ASSERT_EQUAL(errno, EBADF);
    errno = 0;
    CU_ASSERT_EQUAL(frame_recv_alloc(-1, 8, &payload, &len), FRAME_IO_ERROR);
    CU_ASSERT_EQUAL(errno, EBADF);
    ignore_sigpipe(&old);
    CU_ASSERT_FATAL(pipe(fds) == 0);
    close(fds[0]);
    errno = 0;
    CU_ASSERT_EQUAL(frame_send(fds[1], "x", 1), FRAME_IO_ERROR);
    CU_ASSERT_EQUAL(errno, EPIPE);
    close(fds[1]);
    sigaction(SIGPIPE, &old, NULL);
}

static void test_result_names_are_distinct(void)
{
    const enum frame_result all[] = { FRAME_OK, FRAME_EOF, FRAME_TRUNCATED,
                                      FRAME_TOO_BIG, FRAME_IO_ERROR };
    const size_t n = sizeof all / sizeof all[0];

    for (size_t i = 0; i < n; i++) {
        CU_ASSERT(strlen(frame_result_name(all[i])) > 0);
        for (size_t j = 0; j < i; j++)
            CU_ASSERT(strcmp(frame_result_name(all[i]), frame_result_name(all[j])) != 0);
    }
    CU_ASSERT_STRING_EQUAL(frame_result_name(FRAME_EOF), "end of stream");
    CU_ASSERT_STRING_EQUAL(frame_result_name(FRAME_TRUNCATED), "stream ended inside a frame");
    CU_ASSERT_STRING_EQUAL(frame_result_name((enum frame_result)99), "unknown frame result");
}

/* --- exiting forms ----------------------------------------------------------- */

static void test_or_die_forms_on_success(void)
{
    unsigned char buf[16];
    int fds[2], eof = 7;

    CU_ASSERT_FATAL(pipe(fds) == 0);
    frame_send_or_die(fds[1], "frame", 5);
    frame_send_or_die(fds[1], "", 0);
    close(fds[1]);
    CU_ASSERT_EQUAL(frame_recv_or_die(fds[0], buf, sizeof buf, &eof), 5);
    CU_ASSERT_EQUAL(eof, 0);
    CU_ASSERT_EQUAL(memcmp(buf, "frame", 5), 0);
    CU_ASSERT_EQUAL(frame_recv_or_die(fds[0], buf, sizeof buf, &eof), 0);
    CU_ASSERT_EQUAL(eof, 0);                    /* an empty frame is not EOF */
    CU_ASSERT_EQUAL(frame_recv_or_die(fds[0], buf, sizeof buf, &eof), 0);
    CU_ASSERT_EQUAL(eof, 1);
    close(fds[0]);
}

/* Child bodies for the fatal paths; arg selects the case. */
static int recv_or_die_case(void *arg)
{
    int which = *(int *)arg, fd = -1, eof;
    unsigned char raw[4 + 20], buf[10];

    program_name = "t";
    put_header(raw, 20);
    memset(raw + 4, 'z', 20);
    if (which == 0) {
        put_header(raw, 8);                      /* fits, but is cut short */
        fd = stream_of(raw, 6);
    } else if (which == 1) {
        fd = stream_of(raw, sizeof raw);         /* larger than buf */
    }                                            /* 2: fd -1, EBADF */
    frame_recv_or_die(fd, buf, sizeof buf, &eof);
    return 0;
}

static int send_or_die_case(void *arg)
{
    int which = *(int *)arg, fds[2];
    static unsigned char small[8];

    program_name = "t";
    signal(SIGPIPE, SIG_IGN);
    if (pipe(fds) != 0)
        return 10;
    if (which == 0)
        frame_send_or_die(fds[1], small, FRAME_MAX + 1);
    close(fds[0]);
    frame_send_or_die(fds[1], small, sizeof small);
    return 0;
}

static void test_or_die_forms_report_and_exit_1(void)
{
    static const char *const recv_expect[] = {
        "t: frame_recv: stream ended inside a frame\n",
        "t: frame_recv: frame larger than the limit\n",
        "t: frame_recv: read: EBADF (Bad file descriptor)\n",
    };
    static const char *const send_expect[] = {
        "t: frame_send: frame larger than the limit\n",
        "t: frame_send: write: EPIPE (Broken pipe)\n",
    };
    struct unit_output o;

    for (int i = 0; i < 3; i++) {
        unit_capture(recv_or_die_case, &i, &o);
        CU_ASSERT(unit_exited(o.status, 1));
        CU_ASSERT_STRING_EQUAL(o.err, recv_expect[i]);
    }
    for (int i = 0; i < 2; i++) {
        unit_capture(send_or_die_case, &i, &o);
        CU_ASSERT(unit_exited(o.status, 1));
        CU_ASSERT_STRING_EQUAL(o.err, send_expect[i]);
    }
}

static CU_TestInfo tests[] = {
    { "round trip 0, 1, 4095-4097 bytes, 1 MiB over a socketpair", test_round_trip_across_a_socketpair },
    { "wire format: big-endian length, then the bytes", test_wire_format_is_big_endian_length_then_bytes },
    { "a multi-byte length is decoded big-endian", test_decodes_a_multi_byte_length },
    { "frames written in one go come apart", test_frames_written_together_come_apart },
    { "a frame arriving byte by byte", test_a_frame_arriving_byte_by_byte },
    { "FRAME_EOF at a frame boundary", test_eof_only_at_a_frame_boundary },
    { "FRAME_TRUNCATED in the header", test_truncated_in_the_header },
    { "FRAME_TRUNCATED in the payload", test_truncated_in_the_payload },
    { "FRAME_TOO_BIG for the caller's capacity, payload left unread", test_too_big_for_the_callers_buffer },
    { "FRAME_TOO_BIG beyond FRAME_MAX, whatever the capacity", test_too_big_for_frame_max },
    { "frame_send refuses more than FRAME_MAX and sends nothing", test_send_refuses_more_than_frame_max },
    { "exactly FRAME_MAX passes both ways", test_exactly_frame_max_passes },
    { "frame_recv_alloc: payload, zero byte, empty frame, max", test_recv_alloc },
    { "frame_recv_alloc: EOF and truncation", test_recv_alloc_eof_and_truncation },
    { "I/O errors keep errno", test_io_errors },
    { "result names", test_result_names_are_distinct },
    { "or_die forms on success and at EOF", test_or_die_forms_on_success },
    { "or_die forms report and exit 1", test_or_die_forms_report_and_exit_1 },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("frame", tests)
