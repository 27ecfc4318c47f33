/* msg_send.c - the sending side: opens the queue a receiver made, by the same ftok key.
 *
 * Lesson: the sender names the same file and project id as the receiver,
 * so ftok() gives it the same key and msgget() the same queue.  It opens
 * the queue without IPC_CREAT: the receiver owns it and removes it, and a
 * sender that created queues would leave them behind whenever no receiver
 * came.  If no receiver runs, msgget() fails with ENOENT; if the receiver
 * removes the queue while the sender waits for room, msgsnd() fails with
 * EIDRM (or EINVAL, if the removal fell between two of its calls).
 *
 * Run:  msg_recv --count 2 ./somefile 7 &
 *       msg_send ./somefile 7 hello world
 *       msg_send --type 2 ./somefile 7 urgent
 *
 * You should see one line per message sent:
 *       sent type=1 "hello"
 * and, without a receiver:
 *       msg_send: msgget key 0x0700abcd (ftok ./somefile 7): ENOENT (No such file or directory)
 */
#include "ipclab.h"
#include "common/msg_timed.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#define TEXT_MAX 512
static long type = 1, timeout_ms = 1000;

struct message {
    long mtype;
    char mtext[TEXT_MAX];
};

static const struct cli_option options[] = {
    CLI_OPTION_LONG("type", &type, 1, 1000000, "MSGTYP", "the type of every message sent"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 600000, "MS",
                    "longest wait for room on a full queue"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends each TEXT as one message to the System V queue that msg_recv\n"
               "created under the key ftok(PATH, PROJ_ID).",
    .options = options,
    .operands = "PATH PROJ_ID [TEXT]...",
    .operands_min = 2,
    .operands_max = 1000,
    .details = "Without TEXT, sends \"hello\".",
};

int main(int argc, char **argv)
{
    int first = cli_parse(&cli, argc, argv), msqid, err;
    const char *path = argv[first];
    long proj_id = parse_long_option("PROJ_ID", argv[first + 1], 1, 255);
    char *hello[] = { "hello" };
    char **texts = argc - first > 2 ? argv + first + 2 : hello;
    int ntexts = argc - first > 2 ? argc - first - 2 : 1;
    key_t key;

    for (int i = 0; i < ntexts; i++)
        if (strlen(texts[i]) > TEXT_MAX)
            usage_error("TEXT %d is longer than %d bytes", i + 1, TEXT_MAX);

    /* region: open */
    err = ipc_key_from_path(path, (int)proj_id, &key);
    if (err != 0)
        die_errnum(err, "ftok %s", path);
    msqid = msgget(key, 0);        /* no IPC_CREAT: only the receiver creates */
    if (msqid < 0)
        die("msgget key 0x%08lx (ftok %s %ld)", (unsigned long)key, path, proj_id);
    /* end region: open */

    for (int i = 0; i < ntexts; i++) {
        struct message m = { .mtype = type };
        size_t len = strlen(texts[i]);

        memcpy(m.mtext, texts[i], len);
        if (msgsnd_timed(msqid, &m, len, 0, timeout_ms) != 0) {
            /* EIDRM: removed while we waited; EINVAL: between two waits. */
            if (errno == EIDRM || errno == EINVAL)
                die("msgsnd: the receiver removed the queue");
            die("msgsnd");
        }
        printf("sent type=%ld \"%s\"\n", type, texts[i]);
    }
    return 0;
}
