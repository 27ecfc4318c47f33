/* msg_send.c - the sending side: opens the queue a receiver made, by the same ftok key.
 *
 * Lesson: the sender names the same file and project id as the receiver,
 * so ftok() gives it the same key and msgget() the same queue.  It opens
 * the queue without IPC_CREAT: the receiver owns it and removes it, and a
 * sender that created queues would leave them behind whenever no receiver
 * came.  A receiver started a moment ago may not have created the queue
 * yet, so the sender looks for it again for up to --wait-ms; then msgget()
 * fails with ENOENT.  Before sending, it checks with IPC_STAT that the queue
 * is one a receiver of ours made (our uid, no access for others): anyone
 * can create a queue under a key first, and read what we send.  If the
 * receiver removes the queue while the sender waits for room, msgsnd()
 * fails with EIDRM (or EINVAL, if the removal fell between two of its calls).
 *
 * Run:  touch somefile
 *       msg_recv --count 3 somefile 7 &
 *       msg_send somefile 7 hello world
 *       msg_send --type 2 somefile 7 urgent
 *
 * You should see one line per message sent:
 *       sent type=1 "hello"
 * and, without a receiver, after --wait-ms:
 *       msg_send: msgget key 0x0700abcd (ftok somefile 7): ENOENT (No such file or directory)
 */
#include "ipclab.h"
#include "common/msg_timed.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

static long type = 1, timeout_ms = 1000, wait_ms = 2000;

struct message {
    long mtype;
    char mtext[];
};

static const struct cli_option options[] = {
    CLI_OPTION_LONG("type", &type, 1, 1000000, "MSGTYP", "the type of every message sent"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 600000, "MS",
                    "longest wait for room on a full queue"),
    CLI_OPTION_LONG("wait-ms", &wait_ms, 0, 60000, "MS",
                    "how long to look for a queue that is not there yet"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends each TEXT as one message to the System V queue that msg_recv\n"
               "created under the key ftok(PATH, PROJ_ID).",
    .options = options,
    .operands = "PATH PROJ_ID [TEXT]...",
    .operands_min = 2,
    .operands_max = 1000,
    .details = "Without TEXT, sends \"hello\".  A TEXT may be as long as msgmax\n"
               "(/proc/sys/kernel/msgmax).  Refuses a queue that another user owns\n"
               "or that others may access.",
};

/* msgget(key, 0), again every 10 ms while it fails with ENOENT, for up to
 * wait_ms: a receiver started in the background a moment ago may still be
 * on its way to msgget.  Returns the id, or -1 with errno set. */
static int open_queue(key_t key)
{
    uint64_t deadline = monotonic_ns() + (uint64_t)wait_ms * 1000000u;
    int msqid;

    while ((msqid = msgget(key, 0)) < 0 && errno == ENOENT && monotonic_ns() < deadline) {
        struct timespec tick = { 0, 10 * 1000000 };
        nanosleep(&tick, NULL);
        errno = ENOENT;
    }
    return msqid;
}

/* The queue must be what msg_recv makes: created and owned by our user,
 * with no access for anyone else.  Otherwise someone else made it first,
 * and could read what we send or feed us messages. */
static void check_ours(int msqid, key_t key)
{
    struct msqid_ds ds;
    uid_t me = geteuid();

    if (msgctl(msqid, IPC_STAT, &ds) != 0)
        die("msgctl IPC_STAT queue id %d", msqid);
    if (ds.msg_perm.uid != me || ds.msg_perm.cuid != me || (ds.msg_perm.mode & 077) != 0)
        fatal("refusing to send: the queue under key 0x%08lx (id %d) is owned by uid %ld,\n"
              "created by uid %ld, mode %04o; msg_recv makes its queue as uid %ld, mode 0600",
              (unsigned long)key, msqid, (long)ds.msg_perm.uid, (long)ds.msg_perm.cuid,
              (unsigned)(ds.msg_perm.mode & 0777), (long)me);
}

int main(int argc, char **argv)
{
    int first = cli_parse(&cli, argc, argv), msqid, err;
    const char *path = argv[first];
    long proj_id = parse_long_option("PROJ_ID", argv[first + 1], 1, 255);
    char *hello[] = { "hello" };
    char **texts = argc - first > 2 ? argv + first + 2 : hello;
    int ntexts = argc - first > 2 ? argc - first - 2 : 1;
    size_t text_max = msg_max_bytes();
    struct message *m;
    key_t key;

    for (int i = 0; i < ntexts; i++)
        if (strlen(texts[i]) > text_max)
            usage_error("TEXT %d is longer than msgmax, %zu bytes", i + 1, text_max);
    m = malloc(sizeof *m + text_max);
    if (m == NULL)
        die("malloc");

    /* region: open */
    err = ipc_key_from_path(path, (int)proj_id, &key);
    if (err != 0)
        die_errnum(err, "ftok %s", path);
    msqid = open_queue(key);       /* no IPC_CREAT: only the receiver creates */
    if (msqid < 0)
        die("msgget key 0x%08lx (ftok %s %ld)", (unsigned long)key, path, proj_id);
    check_ours(msqid, key);
    /* end region: open */

    for (int i = 0; i < ntexts; i++) {
        size_t len = strlen(texts[i]);

        m->mtype = type;
        memcpy(m->mtext, texts[i], len);
        if (msgsnd_timed(msqid, m, len, 0, timeout_ms) != 0) {
            /* EIDRM: removed while we waited; EINVAL: between two waits. */
            if (errno == EIDRM || errno == EINVAL)
                die("msgsnd: the receiver removed the queue");
            die("msgsnd");
        }
        printf("sent type=%ld \"%s\"\n", type, texts[i]);
    }
    free(m);
    return 0;
}
