/* mq_prio.c - a POSIX message queue delivers the highest priority first, and mq_timedreceive stops waiting.
 *
 * Lesson: mq_send() gives each message a priority; mq_receive() always takes
 * the oldest message of the highest priority, so urgent messages overtake.
 * mq_timedreceive() waits until an absolute CLOCK_REALTIME deadline and then
 * fails with ETIMEDOUT, so an empty queue cannot hang the receiver.  The
 * receive buffer must hold mq_msgsize bytes (the queue's largest message):
 * a smaller one fails with EMSGSIZE even for a short message.  The queue has
 * a name (from ipc_name_make), lives in /dev/mqueue on Linux, and is
 * unlinked on every exit path.
 *
 * Run:  mq_prio
 *       mq_prio --timeout-ms 300
 *
 * You should see five messages sent with priorities 1, 9, 5, 9, 0, coming
 * out as 9, 9, 5, 1, 0 (the two 9s in the order they were sent), then
 *       mq_timedreceive: ETIMEDOUT: the queue stayed empty; the wait lasted 100 ms
 * (the wait is measured: a deadline on the wrong clock would end it at once).
 */
#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MSG_SIZE 64
static long timeout_ms = 100;

static const struct { unsigned prio; const char *text; } sent[] = {
    { 1, "low" }, { 9, "urgent A" }, { 5, "normal" }, { 9, "urgent B" }, { 0, "lowest" },
};
#define SENT (sizeof sent / sizeof sent[0])

/* region: deadline */
/* mq_timedreceive() takes a point in time on CLOCK_REALTIME, not a duration. */
static struct timespec deadline_in(long ms)
{
    struct timespec t;

    if (clock_gettime(CLOCK_REALTIME, &t) != 0)
        die("clock_gettime");
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}
/* end region: deadline */

static const struct cli_option options[] = {
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS",
                    "how long mq_timedreceive waits on the empty queue"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends five messages with different priorities to a POSIX queue and\n"
               "receives them with mq_timedreceive until the queue is empty.",
    .options = options,
};

int main(int argc, char **argv)
{
    sigset_t saved;
    struct mq_attr attr = { .mq_maxmsg = 10, .mq_msgsize = MSG_SIZE };
    char name[IPC_NAME_SIZE], buf[MSG_SIZE + 1];
    unsigned prio;
    uint64_t start = 0;
    ssize_t got;
    mqd_t mq;

    cli_parse(&cli, argc, argv);

    /* region: open */
    ipc_name_make_or_die(name, sizeof name, "prio");
    cleanup_block_signals(&saved);           /* create + register: no signal between */
    mq = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (mq != (mqd_t)-1)
        cleanup_check(cleanup_add_posix_mq(name), name);
    cleanup_unblock_signals(&saved);
    if (mq == (mqd_t)-1)
        die("mq_open %s", name);
    /* end region: open */

    for (size_t i = 0; i < SENT; i++) {
        if (mq_send(mq, sent[i].text, strlen(sent[i].text), sent[i].prio) != 0)
            die("mq_send");
        printf("sent     priority %u \"%s\"\n", sent[i].prio, sent[i].text);
    }

    /* A buffer smaller than mq_msgsize is refused, however short the message,
     * and the message stays on the queue. */
    got = mq_receive(mq, buf, MSG_SIZE - 1, &prio);
    if (mq_getattr(mq, &attr) != 0)
        die("mq_getattr");
    printf("mq_receive into %d bytes, mq_msgsize is %d: %s; still queued: %ld messages\n",
           MSG_SIZE - 1, MSG_SIZE, got >= 0 ? "took a message" : errno_name(errno),
           (long)attr.mq_curmsgs);

    /* region: receive */
    for (;;) {
        struct timespec deadline;

        start = monotonic_ns();        /* first: the wait cannot look shorter than it was */
        deadline = deadline_in(timeout_ms);
        got = mq_timedreceive(mq, buf, MSG_SIZE, &prio, &deadline);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            break;
        buf[got] = '\0';
        printf("received priority %u \"%s\"\n", prio, buf);
    }
    if (errno != ETIMEDOUT)
        die("mq_timedreceive");
    printf("mq_timedreceive: %s: the queue stayed empty; the wait lasted %.0f ms\n",
           errno_name(errno), ns_to_ms(monotonic_ns() - start));
    /* end region: receive */

    mq_close(mq);
    return 0;             /* exit unlinks the queue (cleanup.h) */
}
