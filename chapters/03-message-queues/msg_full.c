/* msg_full.c - a System V queue holds a limited number of bytes; then senders wait or get EAGAIN.
 *
 * Lesson: msgctl(IPC_STAT) reports how many messages a queue holds
 * (msg_qnum), how many bytes (msg_cbytes) and its limit (msg_qbytes, by
 * default /proc/sys/kernel/msgmnb).  When the next message would pass the
 * limit, msgsnd() with IPC_NOWAIT fails with EAGAIN; without it, msgsnd()
 * waits until a receiver makes room.  The owner may lower the limit with
 * msgctl(IPC_SET), which is how this program fills a queue in four sends.
 *
 * Run:  msg_full                   # the 5th send with IPC_NOWAIT: EAGAIN
 *       msg_full --block           # the 5th send waits until a reader takes one
 *       msg_full --limit 1000 --size 100
 *
 * You should see the default limit, the lowered one, msg_qnum and msg_cbytes
 * after each send, and then either
 *       send #5 (IPC_NOWAIT): EAGAIN: the queue is full, 4 messages, 256 of 256 bytes
 * or, with --block, the reader taking a message before the 5th send returns.
 */
#define _GNU_SOURCE   /* msg_cbytes: the bytes on a queue, a Linux field of msqid_ds */
#include "ipclab.h"
#include "common/msg_timed.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 1024
static long limit = 256, size = 64, delay_ms = 100, timeout_ms = 2000;
static bool block = false;

struct message {
    long mtype;
    char mtext[MAX_SIZE];
};

static struct msqid_ds queue_stat(int msqid)
{
    struct msqid_ds stat;

    if (msgctl(msqid, IPC_STAT, &stat) != 0)
        die("msgctl IPC_STAT");
    return stat;
}

static void print_fill(int msqid)
{
    struct msqid_ds s = queue_stat(msqid);

    printf("msg_qnum=%lu msg_cbytes=%lu msg_qbytes=%lu\n", (unsigned long)s.msg_qnum,
           (unsigned long)s.msg_cbytes, (unsigned long)s.msg_qbytes);
}

/* The reader of --block: waits, announces itself, takes the oldest message.
 * It prints before msgrcv(), so its line always comes before the sender's
 * "returned": the send cannot finish until this receive has made room. */
static _Noreturn void reader(int msqid)
{
    struct timespec pause = { delay_ms / 1000, (delay_ms % 1000) * 1000000 };
    struct message m;

    while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
        ;
    printf("reader (pid %ld): takes one message after %ld ms\n", (long)getpid(), delay_ms);
    if (msgrcv_timed(msqid, &m, sizeof m.mtext, 0, 0, timeout_ms) < 0)
        die("reader: msgrcv");
    exit(0);
}

/* The reader is registered with cleanup.h (fork_child_or_die), so a Ctrl-C
 * while the parent waits stops it too. */
static pid_t fork_reader(int msqid, int *handle)
{
    pid_t pid = fork_child_or_die(handle);

    if (pid == 0)
        reader(msqid);
    return pid;
}

static const struct cli_option options[] = {
    CLI_OPTION_LONG("limit", &limit, 1, 16384, "BYTES", "msg_qbytes to set with IPC_SET"),
    CLI_OPTION_LONG("size", &size, 1, MAX_SIZE, "BYTES", "bytes in each message"),
    CLI_OPTION_FLAG("block", &block, "send once more without IPC_NOWAIT, while a reader makes room"),
    CLI_OPTION_LONG("delay-ms", &delay_ms, 0, 10000, "MS", "how long the --block reader waits"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS",
                    "longest a blocking send or receive may wait"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Fills a System V queue to its byte limit and shows msgctl(IPC_STAT),\n"
               "EAGAIN with IPC_NOWAIT, and a blocking msgsnd() waiting for room.",
    .options = options,
};

int main(int argc, char **argv)
{
    sigset_t saved;
    struct message m = { .mtype = 1 };
    struct msqid_ds stat;
    long n;
    int msqid;

    cli_parse(&cli, argc, argv);
    if (size > limit)
        usage_error("--size %ld is larger than --limit %ld: no message would fit", size, limit);
    memset(m.mtext, 'x', sizeof m.mtext);

    /* Created and registered with the stop signals blocked: a SIGTERM
     * between the two would otherwise leave the queue behind. */
    cleanup_block_signals(&saved);
    msqid = msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600);
    if (msqid >= 0)
        cleanup_check(cleanup_add_sysv_msg(msqid), "message queue");
    cleanup_unblock_signals(&saved);
    if (msqid < 0)
        die("msgget");

    /* region: limit */
    stat = queue_stat(msqid);
    printf("new queue: msg_qbytes=%lu (the default limit)\n", (unsigned long)stat.msg_qbytes);
    stat.msg_qbytes = (msglen_t)limit;     /* lowering needs no privilege */
    if (msgctl(msqid, IPC_SET, &stat) != 0)
        die("msgctl IPC_SET");
    printf("lowered with IPC_SET: ");
    print_fill(msqid);
    /* end region: limit */

    /* region: fill */
    for (n = 1;; n++) {
        if (msgsnd(msqid, &m, (size_t)size, IPC_NOWAIT) == 0) {
            printf("send #%ld (%ld bytes, IPC_NOWAIT): ok, ", n, size);
            print_fill(msqid);
            continue;
        }
        if (errno != EAGAIN)
            die("msgsnd");
        stat = queue_stat(msqid);
        printf("send #%ld (IPC_NOWAIT): EAGAIN: the queue is full, %lu messages, "
               "%lu of %lu bytes\n", n, (unsigned long)stat.msg_qnum,
               (unsigned long)stat.msg_cbytes, (unsigned long)stat.msg_qbytes);
        break;
    }
    /* end region: fill */

    if (block) {
        /* region: block */
        int status, child;
        uint64_t start;
        pid_t pid;

        /* Printed before the fork, so it always precedes the reader's line. */
        printf("send #%ld (blocking): waits for room...\n", n);
        pid = fork_reader(msqid, &child);

        start = monotonic_ns();
        if (msgsnd_timed(msqid, &m, (size_t)size, 0, timeout_ms) != 0)
            die("msgsnd");
        printf("send #%ld returned after %.0f ms: ", n, ns_to_ms(monotonic_ns() - start));
        print_fill(msqid);
        /* end region: block */

        while (waitpid(pid, &status, 0) < 0)
            if (errno != EINTR)
                die("waitpid");
        cleanup_forget(child);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fatal("the reader failed");
    }
    return 0;             /* exit removes the queue (cleanup.h) */
}
