/* msg_toobig.c - a message longer than the receive buffer: E2BIG, or cut short with MSG_NOERROR.
 *
 * Lesson: msgrcv() never splits a message.  If it does not fit the buffer,
 * msgrcv() fails with E2BIG and the message stays on the queue, whole.  With
 * MSG_NOERROR it is delivered cut to the buffer's size, and the rest of it
 * is thrown away for good: no later call can get it back.
 *
 * Run:  msg_toobig                       # a 40-byte message, a 16-byte buffer
 *       msg_toobig --size 100 --buffer 10
 *
 * You should see E2BIG with the message still queued, then MSG_NOERROR
 * delivering the first 16 bytes and an empty queue:
 *       msgrcv(16-byte buffer): E2BIG; still queued: 1 message, 40 bytes
 *       msgrcv(16-byte buffer, MSG_NOERROR): 16 bytes "ABCDEFGHIJKLMNOP"; still queued: 0 messages, 0 bytes
 */
#define _GNU_SOURCE   /* msg_cbytes: the bytes on a queue, a Linux field of msqid_ds */
#include "ipclab.h"

#include <errno.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#define MAX_SIZE 4096
static long size = 40, buffer = 16;

struct message {
    long mtype;
    char mtext[MAX_SIZE + 1];
};

static void print_left(int msqid)
{
    struct msqid_ds stat;

    if (msgctl(msqid, IPC_STAT, &stat) != 0)
        die("msgctl IPC_STAT");
    printf("; still queued: %lu message%s, %lu bytes\n", (unsigned long)stat.msg_qnum,
           stat.msg_qnum == 1 ? "" : "s", (unsigned long)stat.msg_cbytes);
}

static const struct cli_option options[] = {
    CLI_OPTION_LONG("size", &size, 1, MAX_SIZE, "BYTES", "length of the message sent"),
    CLI_OPTION_LONG("buffer", &buffer, 1, MAX_SIZE, "BYTES", "room the receiver offers"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends one message and receives it into a smaller buffer: first\n"
               "without MSG_NOERROR (E2BIG), then with it (truncated).",
    .options = options,
};

int main(int argc, char **argv)
{
    sigset_t saved;
    struct message m = { .mtype = 1 };
    ssize_t got;
    int msqid;

    cli_parse(&cli, argc, argv);
    if (buffer >= size)
        usage_error("--buffer %ld must be smaller than --size %ld to show anything", buffer, size);

    /* Created and registered with the stop signals blocked: a SIGTERM
     * between the two would otherwise leave the queue behind. */
    cleanup_block_signals(&saved);
    msqid = msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600);
    if (msqid >= 0)
        cleanup_check(cleanup_add_sysv_msg(msqid), "message queue");
    cleanup_unblock_signals(&saved);
    if (msqid < 0)
        die("msgget");

    for (long i = 0; i < size; i++)
        m.mtext[i] = (char)('A' + i % 26);       /* ABC...Z ABC... */
    if (msgsnd(msqid, &m, (size_t)size, IPC_NOWAIT) != 0)
        die("msgsnd");
    printf("sent one message of %ld bytes", size);
    print_left(msqid);

    /* region: toobig */
    got = msgrcv(msqid, &m, (size_t)buffer, 0, IPC_NOWAIT);
    if (got >= 0 || errno != E2BIG)
        fatal("msgrcv(%ld-byte buffer) should have failed with E2BIG", buffer);
    printf("msgrcv(%ld-byte buffer): %s", buffer, errno_name(errno));
    print_left(msqid);

    got = msgrcv(msqid, &m, (size_t)buffer, 0, IPC_NOWAIT | MSG_NOERROR);
    if (got < 0)
        die("msgrcv MSG_NOERROR");
    m.mtext[got] = '\0';
    printf("msgrcv(%ld-byte buffer, MSG_NOERROR): %zd bytes \"%s\"", buffer, got, m.mtext);
    print_left(msqid);
    /* end region: toobig */
    return 0;             /* exit removes the queue (cleanup.h) */
}
