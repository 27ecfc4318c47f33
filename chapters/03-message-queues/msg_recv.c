/* msg_recv.c - the receiving side of a System V queue that separate programs share through a key.
 *
 * Lesson: unrelated programs find one System V queue through a key, and
 * ftok(PATH, PROJ_ID) makes the same key in every program that names the
 * same existing file and project id.  One side must own the queue: here the
 * receiver creates it (IPC_CREAT | IPC_EXCL, mode 0600) and removes it on
 * every exit path, and the sender (msg_send) only opens it.  msgrcv() alone
 * would wait forever for a sender that never comes, so each wait is bounded.
 *
 * Run:  msg_recv                              # a private key; prints how to send
 *       msg_recv --count 2 ./somefile 7 &     # a key from a file and id you choose
 *       msg_send ./somefile 7 hello world
 *
 * You should see the queue's id and key, the msg_send command that reaches
 * it, each message as it arrives, and the end:
 *       received type=1 "hello"
 *       received 2 messages; removing the queue
 * With no sender, it stops after --timeout-ms without a message.
 */
#include "ipclab.h"
#include "common/msg_timed.h"

#include <errno.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#define TEXT_MAX 512
static long count = 0, timeout_ms = 500, type = 0;

struct message {
    long mtype;
    char mtext[TEXT_MAX + 1];
};

static const struct cli_option options[] = {
    CLI_OPTION_LONG("count", &count, 0, 1000000, "N",
                    "stop after N messages; 0: when none comes for --timeout-ms"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 600000, "MS", "longest wait for one message"),
    CLI_OPTION_LONG("type", &type, -1000000, 1000000, "MSGTYP", "msgrcv's msgtyp: 0 takes any type"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Creates a System V queue under a key made by ftok(PATH, PROJ_ID),\n"
               "prints what it receives, and removes the queue when it stops.",
    .options = options,
    .operands = "[PATH PROJ_ID]",
    .operands_min = 0,
    .operands_max = 2,
    .details = "Without PATH and PROJ_ID, the key comes from a fresh private file;\n"
               "the program prints the msg_send command that reaches the queue.",
};

int main(int argc, char **argv)
{
    struct ipc_keyfile keyfile;
    const char *path;
    long proj_id = 1, received = 0;
    key_t key;
    int first = cli_parse(&cli, argc, argv), msqid, err;

    /* region: key */
    if (argc - first == 2) {
        path = argv[first];
        proj_id = parse_long_option("PROJ_ID", argv[first + 1], 1, 255);
        err = ipc_key_from_path(path, (int)proj_id, &key);
        if (err != 0)
            die_errnum(err, "ftok %s", path);
    } else if (argc - first == 0) {
        key = ipc_private_key_or_die(&keyfile, (int)proj_id);
        path = keyfile.path;
    } else {
        usage_error("expected PATH and PROJ_ID together, or neither");
    }

    /* The creator is the owner: IPC_EXCL refuses a queue someone else (or a
     * crashed run) left under this key, instead of silently sharing it. */
    msqid = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    if (msqid < 0)
        die("msgget key 0x%08lx (ftok %s %ld)", (unsigned long)key, path, proj_id);
    cleanup_check(cleanup_add_sysv_msg(msqid), "message queue");
    /* end region: key */

    printf("queue id %d, key 0x%08lx from ftok(\"%s\", %ld)\n", msqid,
           (unsigned long)key, path, proj_id);
    printf("send to it with: msg_send %s %ld TEXT...\n", path, proj_id);

    /* region: receive */
    while (count == 0 || received < count) {
        struct message m;
        ssize_t got = msgrcv_timed(msqid, &m, TEXT_MAX, type, 0, timeout_ms);

        if (got < 0 && errno == ETIMEDOUT) {
            if (count > 0)
                fatal("no message for %ld ms: received %ld of %ld", timeout_ms, received, count);
            printf("no message for %ld ms: stopping\n", timeout_ms);
            break;
        }
        if (got < 0)
            die("msgrcv");
        m.mtext[got] = '\0';
        printf("received type=%ld \"%s\"\n", m.mtype, m.mtext);
        received++;
    }
    /* end region: receive */
    printf("received %ld message%s; removing the queue\n", received, received == 1 ? "" : "s");
    return 0;             /* exit removes the queue and a private key file */
}
