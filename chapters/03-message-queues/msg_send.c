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
 * --create turns it round ("send now, receive later", as a PHP daemon's
 * queue): the sender makes the queue, mode --mode (0600 unless sharing with
 * another user is the point), and leaves it, messages and all, for a
 * receiver that comes later (msg_recv --attach, or PHP's msg_receive).
 * PROJ_ID is a number or one character, as PHP's ftok($path, 'A') takes it.
 *
 * Run:  touch somefile
 *       msg_recv --count 3 somefile 7 &
 *       msg_send somefile 7 hello world
 *       msg_send --type 2 somefile 7 urgent
 *       msg_send --create somefile A later     # the queue stays, for later
 *       msg_recv --attach --remove --count 1 somefile A
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
static bool create = false;
static const char *mode_text;
static unsigned mode = 0600;

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
    CLI_OPTION_FLAG("create", &create,
                    "make the queue if there is none, and leave it for a later receiver"),
    CLI_OPTION_STRING("mode", &mode_text, "MODE",
                      "octal: the mode --create gives, and the most a queue found may grant "
                      "(default 600)"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends each TEXT as one message to the System V queue that msg_recv\n"
               "created under the key ftok(PATH, PROJ_ID) (with --create: makes it).",
    .options = options,
    .operands = "PATH PROJ_ID [TEXT]...",
    .operands_min = 2,
    .operands_max = 1000,
    .details = "Without TEXT, sends \"hello\".  A TEXT may be as long as msgmax\n"
               "(/proc/sys/kernel/msgmax).  PROJ_ID: 1-255 or one character.  Refuses\n"
               "a queue that another user owns or that grants more than --mode.",
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

/* --create: msgget(IPC_CREAT | mode), which opens the queue if it is there
 * already (an earlier --create, or a PHP peer's).  A queue we make here is
 * not registered for removal: leaving it is the point. */
static int open_or_create_queue(key_t key, bool *made)
{
    int msqid = msgget(key, IPC_CREAT | IPC_EXCL | (int)mode);

    *made = msqid >= 0;
    if (msqid < 0 && errno == EEXIST)
        msqid = msgget(key, 0);
    return msqid;
}

/* The queue must be what msg_recv makes: created and owned by our user,
 * granting no more than --mode (0600: no access for anyone else).
 * Otherwise someone else made it first, and could read what we send or
 * feed us messages. */
static void check_ours(int msqid, key_t key)
{
    struct msqid_ds ds;
    uid_t me = geteuid();

    if (msgctl(msqid, IPC_STAT, &ds) != 0)
        die("msgctl IPC_STAT queue id %d", msqid);
    if (ds.msg_perm.uid != me || ds.msg_perm.cuid != me || (ds.msg_perm.mode & 0777 & ~mode) != 0)
        fatal("refusing to send: the queue under key 0x%08lx (id %d) is owned by uid %ld,\n"
              "created by uid %ld, mode %04o; msg_recv makes its queue as uid %ld, mode %04o",
              (unsigned long)key, msqid, (long)ds.msg_perm.uid, (long)ds.msg_perm.cuid,
              (unsigned)(ds.msg_perm.mode & 0777), (long)me, mode);
}

int main(int argc, char **argv)
{
    int first = cli_parse(&cli, argc, argv), msqid, err;
    const char *path = argv[first];
    int proj_id = parse_proj_id_option("PROJ_ID", argv[first + 1]);
    bool made = false;
    char *hello[] = { "hello" };
    char **texts = argc - first > 2 ? argv + first + 2 : hello;
    int ntexts = argc - first > 2 ? argc - first - 2 : 1;
    size_t text_max = msg_max_bytes();
    struct message *m;
    key_t key;

    if (mode_text != NULL)
        mode = parse_mode_option("--mode", mode_text);
    for (int i = 0; i < ntexts; i++)
        if (strlen(texts[i]) > text_max)
            usage_error("TEXT %d is longer than msgmax, %zu bytes", i + 1, text_max);
    m = malloc(sizeof *m + text_max);
    if (m == NULL)
        die("malloc");

    /* region: open */
    err = ipc_key_from_path(path, proj_id, &key);
    if (err != 0)
        die_errnum(err, "ftok %s", path);
    /* Without --create, no IPC_CREAT: the receiver creates. */
    msqid = create ? open_or_create_queue(key, &made) : open_queue(key);
    if (msqid < 0)
        die("msgget key 0x%08lx (ftok %s %d)", (unsigned long)key, path, proj_id);
    check_ours(msqid, key);
    if (made)
        printf("created queue id %d, key 0x%08lx, mode %04o: it stays after we exit\n",
               msqid, (unsigned long)key, mode);
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
    if (create)
        printf("left %s queue id %d for a receiver; remove it with: ipcrm -q %d\n",
               made ? "the new" : "the", msqid, msqid);
    free(m);
    return 0;
}
