/* msg_types.c - a System V message queue hands out messages by type.
 *
 * Lesson: msgrcv()'s msgtyp argument chooses which message comes next.  A
 * positive type takes the oldest message of exactly that type, so the two
 * type-1 messages come out together; 0 takes the oldest of any type
 * (arrival order); a negative -N takes the lowest type up to N first.  With
 * IPC_NOWAIT, a queue with no matching message answers ENOMSG at once
 * instead of waiting.
 *
 * Run:  msg_types                       # by type: 1, then 2, then 3
 *       msg_types --receive arrival     # msgtyp 0
 *       msg_types --receive lowest      # msgtyp -3
 *
 * You should see the four messages going in (types 1, 2, 3, 1), each one
 * coming out, ENOMSG when nothing matches, and the order they came out in:
 *       order: #1 #4 #2 #3       (by-type and lowest)
 *       order: #1 #2 #3 #4       (arrival)
 */
#include "ipclab.h"

#include <errno.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/msg.h>

enum receive_kind { BY_TYPE, ARRIVAL, LOWEST };
static const char *const receive_names[] = { "by-type", "arrival", "lowest", NULL };
static int receive = BY_TYPE;

/* A System V message: a positive long type, then the bytes.  The size passed
 * to msgsnd() and msgrcv() counts the bytes only, never the type. */
struct message {
    long mtype;
    char mtext[32];
};

static const long sent_types[] = { 1, 2, 3, 1 };
#define SENT (sizeof sent_types / sizeof sent_types[0])

static char order[64];          /* " #1 #4 #2 #3": as the messages came out */
static size_t order_len;

/* region: receive */
/* Takes every message msgtyp selects, oldest first, until ENOMSG. */
static void receive_all(int msqid, long msgtyp)
{
    struct message m;
    ssize_t got;

    printf("msgrcv(msgtyp %ld, IPC_NOWAIT):\n", msgtyp);
    while ((got = msgrcv(msqid, &m, sizeof m.mtext - 1, msgtyp, IPC_NOWAIT)) >= 0) {
        m.mtext[got] = '\0';
        printf("  received %s type=%ld\n", m.mtext, m.mtype);
        order_len += snprintf(order + order_len, sizeof order - order_len, " %s", m.mtext);
    }
    if (errno != ENOMSG)
        die("msgrcv");
    printf("  %s: nothing left that msgtyp %ld selects\n", errno_name(errno), msgtyp);
}
/* end region: receive */

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("receive", &receive, receive_names, "HOW",
                      "the receives' msgtyp: 1, 2, 3 in turn; 0; or -3"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends four messages of types 1, 2, 3, 1 to a System V queue and\n"
               "receives them by type, in arrival order, or lowest type first.",
    .options = options,
};

int main(int argc, char **argv)
{
    sigset_t saved;
    struct msqid_ds stat;
    int msqid;

    cli_parse(&cli, argc, argv);

    /* region: send */
    /* Created and registered with the stop signals blocked: a SIGTERM
     * between the two would otherwise leave the queue behind. */
    cleanup_block_signals(&saved);
    msqid = msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600);
    if (msqid >= 0)
        cleanup_check(cleanup_add_sysv_msg(msqid), "message queue");
    cleanup_unblock_signals(&saved);
    if (msqid < 0)
        die("msgget");

    for (size_t i = 0; i < SENT; i++) {
        struct message m = { .mtype = sent_types[i] };
        int len = snprintf(m.mtext, sizeof m.mtext, "#%zu", i + 1);

        if (msgsnd(msqid, &m, (size_t)len, IPC_NOWAIT) != 0)
            die("msgsnd");
        printf("sent %s type=%ld\n", m.mtext, m.mtype);
    }
    /* end region: send */

    switch (receive) {
    case BY_TYPE:
        for (long type = 1; type <= 3; type++)
            receive_all(msqid, type);
        break;
    case ARRIVAL:
        receive_all(msqid, 0);
        break;
    case LOWEST:
        receive_all(msqid, -3);
        break;
    }

    if (msgctl(msqid, IPC_STAT, &stat) != 0)
        die("msgctl IPC_STAT");
    printf("order:%s\n", order);
    printf("left on the queue: %lu messages\n", (unsigned long)stat.msg_qnum);
    return 0;             /* exit removes the queue (cleanup.h) */
}
