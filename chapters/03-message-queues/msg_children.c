/* msg_children.c - five children each send a message to their parent through one queue.
 *
 * Lesson: one System V queue collects messages from many processes; each
 * msgsnd() puts one whole message on it, so messages never mix.  A type can
 * serve as an address: each child sends with its own pid as the type, so
 * the parent can take the messages as they come (msgtyp 0) or child by child
 * (msgtyp = that child's pid).  The parent receives with a time limit, so a
 * child that dies before sending cannot make it wait forever.
 *
 * Run:  msg_children                  # arrival order, which varies
 *       msg_children --in-order       # child 1, 2, 3, 4, 5
 *       msg_children --children 20
 *
 * You should see one line per child, then the tally:
 *       received 5 messages from 5 children, each once; every child exited 0
 */
#include "ipclab.h"
#include "common/msg_timed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#define MAX_CHILDREN 64
static long children = 5, timeout_ms = 2000;
static bool in_order = false;

struct message {
    long mtype;             /* the sender's pid */
    char mtext[64];
};

/* region: child */
static int child(int index, void *arg)
{
    int msqid = *(int *)arg;
    struct message m = { .mtype = (long)getpid() };
    int len = snprintf(m.mtext, sizeof m.mtext, "hello from child %d", index + 1);

    if (msgsnd(msqid, &m, (size_t)len, 0) != 0)
        die("child %d: msgsnd", index + 1);
    return 0;
}
/* end region: child */

static const struct cli_option options[] = {
    CLI_OPTION_LONG("children", &children, 1, MAX_CHILDREN, "N", "how many children send"),
    CLI_OPTION_FLAG("in-order", &in_order, "receive child by child (msgtyp = its pid)"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS", "longest wait for one message"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "N children each send one message, typed with their pid, to the\n"
               "parent's System V queue; the parent receives them all.",
    .options = options,
};

int main(int argc, char **argv)
{
    sigset_t saved;
    bool seen[MAX_CHILDREN] = { false };
    struct workers *workers;
    int msqid, failed, err, distinct = 0;

    cli_parse(&cli, argc, argv);

    /* Created and registered with the stop signals blocked: a SIGTERM
     * between the two would otherwise leave the queue behind. */
    cleanup_block_signals(&saved);
    msqid = msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600);
    if (msqid >= 0)
        cleanup_check(cleanup_add_sysv_msg(msqid), "message queue");
    cleanup_unblock_signals(&saved);
    if (msqid < 0)
        die("msgget");

    err = workers_start(&workers, (int)children, child, &msqid);
    if (err == 0)
        err = workers_go(workers);
    if (err != 0)
        die_errnum(err, "starting the children");
    printf("%ld children send one message each, typed with their pid\n", children);

    /* region: parent */
    for (int i = 0; i < children; i++) {
        long msgtyp = in_order ? (long)workers_pid(workers, i) : 0;
        struct message m;
        ssize_t got = msgrcv_timed(msqid, &m, sizeof m.mtext - 1, msgtyp, 0, timeout_ms);
        int from = -1;

        if (got < 0)
            die("msgrcv (message %d of %ld)", i + 1, children);
        m.mtext[got] = '\0';
        for (int c = 0; c < children; c++)      /* which child has this pid? */
            if ((long)workers_pid(workers, c) == m.mtype)
                from = c;
        if (from < 0)
            fatal("a message of type %ld: no child has that pid", m.mtype);
        if (!seen[from])
            distinct++;
        seen[from] = true;
        printf("msgtyp %ld: type=%ld (child %d) \"%s\"\n", msgtyp, m.mtype, from + 1, m.mtext);
    }
    /* end region: parent */

    err = workers_wait(workers, &failed);
    if (err != 0)
        die_errnum(err, "waiting for the children");
    workers_free(workers);
    printf("received %ld messages from %d children, each once; ", children, distinct);
    if (failed == 0)
        printf("every child exited 0\n");
    else
        printf("%d children failed\n", failed);
    return failed == 0 && distinct == children ? 0 : 1;
}
