/* msg_recv.c - the receiving side of a System V queue that separate programs share through a key.
 *
 * Lesson: unrelated programs find one System V queue through a key, and
 * ftok(PATH, PROJ_ID) makes the same key in every program that names the
 * same existing file and project id.  One side must own the queue: here the
 * receiver creates it (IPC_CREAT | IPC_EXCL, mode 0600) and removes it on
 * every exit path, and the sender (msg_send) only opens it.  msgrcv() alone
 * would wait forever for a sender that never comes, so each wait is bounded.
 * The receive buffer holds the largest message the kernel allows (msgmax,
 * read at run time), so no message is too long for it.
 * --attach turns it round: the queue was made earlier by someone else (a
 * PHP script's msg_get_queue, msg_send --create) and holds messages sent
 * before we came; the receiver takes them and leaves the queue (unless
 * --remove).  --php recognises what PHP's msg_send() puts in a message by
 * default, serialize()d text such as s:5:"hello";, and prints the value.
 *
 * Run:  msg_recv                              # a private key; prints how to send
 *       touch somefile
 *       msg_recv --count 2 somefile 7 &       # a key from a file and id you choose
 *       msg_send somefile 7 hello world
 *       msg_send --create somefile A later &&
 *       msg_recv --attach --remove --count 1 somefile A
 *
 * You should see the queue's id and key, the msg_send command that reaches
 * it, each message as it arrives, and the end:
 *       received type=1 "hello"
 *       received 2 messages; removing the queue
 * With no sender, it stops after --timeout-ms (30 s by default, time to
 * paste the command into another terminal) without a message.
 */
#include "ipclab.h"
#include "common/msg_timed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#define KEY_TRIES 10              /* fresh key files tried before giving up */
static long count = 0, timeout_ms = 30000, type = 0;
static bool attach = false, remove_it = false, php = false;
static const char *mode_text;
static unsigned mode = 0600;

struct message {
    long mtype;
    char mtext[];                 /* msgmax bytes, and one for a '\0' */
};

static const struct cli_option options[] = {
    CLI_OPTION_LONG("count", &count, 0, 1000000, "N",
                    "stop after N messages; 0: when none comes for --timeout-ms"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 600000, "MS", "longest wait for one message"),
    CLI_OPTION_LONG("type", &type, -1000000, 1000000, "MSGTYP", "msgrcv's msgtyp: 0 takes any type"),
    CLI_OPTION_FLAG("attach", &attach,
                    "take the queue that is there (PHP's, msg_send --create's) and leave it"),
    CLI_OPTION_FLAG("remove", &remove_it, "with --attach: remove the queue when done all the same"),
    CLI_OPTION_STRING("mode", &mode_text, "MODE",
                      "octal: the mode of the queue it creates (default 600)"),
    CLI_OPTION_FLAG("php", &php, "print PHP serialize()d strings and numbers as their value"),
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
               "the program prints the msg_send command that reaches the queue.\n"
               "PROJ_ID: 1-255 or one character, as PHP's ftok($path, 'A') takes it.\n"
               "Takes messages of any length the system allows (msgmax).",
};

/* msgget(IPC_CREAT | IPC_EXCL), with the queue registered for removal in
 * the same signal-free stretch.  Returns the id, or -1 with errno set. */
static int create_queue(key_t key)
{
    sigset_t saved;
    int msqid, err;

    cleanup_block_signals(&saved);
    msqid = msgget(key, IPC_CREAT | IPC_EXCL | (int)mode);
    err = errno;
    if (msqid >= 0)
        cleanup_check(cleanup_add_sysv_msg(msqid), "message queue");
    cleanup_unblock_signals(&saved);
    errno = err;
    return msqid;
}

/* Who holds the key: "queue id 5, owner uid 0, mode 0600", for messages.
 * Returns the queue's id, or -1. */
static int describe_holder(key_t key, char *buf, size_t size)
{
    struct msqid_ds ds;
    int id = msgget(key, 0);

    if (id >= 0 && msgctl(id, IPC_STAT, &ds) == 0)
        snprintf(buf, size, "queue id %d, owner uid %ld, mode %04o", id,
                 (long)ds.msg_perm.uid, (unsigned)(ds.msg_perm.mode & 0777));
    else
        snprintf(buf, size, "a queue we may not inspect");
    return id;
}

/* --attach: the queue someone else made.  Not ours to remove, unless
 * --remove says so (then registered, as a queue we made). */
static int attach_queue(key_t key, const char *path, int proj_id)
{
    sigset_t saved;
    int msqid, err;

    cleanup_block_signals(&saved);
    msqid = msgget(key, 0);
    err = errno;
    if (msqid >= 0 && remove_it)
        cleanup_check(cleanup_add_sysv_msg(msqid), "message queue");
    cleanup_unblock_signals(&saved);
    if (msqid < 0) {
        errno = err;
        die("msgget key 0x%08lx (ftok %s %d): no queue to attach to", (unsigned long)key,
            path, proj_id);
    }
    return msqid;
}

/* PHP's msg_send() serializes by default: a string "hi" travels as the 9
 * bytes s:2:"hi"; and an integer 42 as i:42;.  Prints the value and says
 * what it was, or returns false for anything else (printed as it is). */
static bool print_php_value(const char *text, size_t len)
{
    size_t n = 0, i = 2;

    if (len > 4 && text[0] == 's' && text[1] == ':') {
        while (i < len && text[i] >= '0' && text[i] <= '9' && n <= len)
            n = n * 10 + (size_t)(text[i++] - '0');
        /* s:N:"...N bytes...";  the length must match exactly. */
        if (i == 2 || n > len || len != i + n + 4 || text[i] != ':' || text[i + 1] != '"' ||
            text[len - 2] != '"' || text[len - 1] != ';')
            return false;
        printf("\"%.*s\" (PHP serialize()d string, %zu bytes)", (int)n, text + i + 2, n);
        return true;
    }
    if (len > 3 && text[0] == 'i' && text[1] == ':' && text[len - 1] == ';') {
        i = text[2] == '-' ? 3 : 2;
        if (i == len - 1)
            return false;
        for (size_t j = i; j < len - 1; j++)
            if (text[j] < '0' || text[j] > '9')
                return false;
        printf("%.*s (PHP serialize()d integer)", (int)(len - 3), text + 2);
        return true;
    }
    return false;
}

/* A buffer for the largest message the kernel takes now. */
static struct message *message_buffer(size_t *text_max)
{
    struct message *m;

    *text_max = msg_max_bytes();
    m = malloc(sizeof *m + *text_max + 1);
    if (m == NULL)
        die("malloc %zu bytes", *text_max);
    return m;
}

int main(int argc, char **argv)
{
    struct ipc_keyfile keyfile;
    const char *path = NULL;
    char holder[96];
    int proj_id = 1;
    long received = 0;
    key_t key = IPC_PRIVATE;
    struct message *m;
    size_t text_max;
    int first = cli_parse(&cli, argc, argv), msqid = -1, holder_id, err, flags = 0;

    if (mode_text != NULL)
        mode = parse_mode_option("--mode", mode_text);
    if (attach && (argc - first != 2 || mode_text != NULL))
        usage_error("--attach needs PATH and PROJ_ID, and takes no --mode (it creates nothing)");
    if (remove_it && !attach)
        usage_error("--remove goes with --attach (a queue msg_recv makes is always removed)");

    /* region: key */
    if (argc - first == 2) {
        path = argv[first];
        proj_id = parse_proj_id_option("PROJ_ID", argv[first + 1]);
        err = ipc_key_from_path(path, proj_id, &key);
        if (err != 0)
            die_errnum(err, "ftok %s", path);
    } else if (argc - first != 0) {
        usage_error("expected PATH and PROJ_ID together, or neither");
    }

    /* The creator is the owner: IPC_EXCL refuses a queue someone else (or a
     * run killed with SIGKILL) left under this key, instead of sharing it. */
    for (int tries = 1; !attach; tries++) {
        if (argc - first == 0) {
            key = ipc_private_key_or_die(&keyfile, (int)proj_id);
            path = keyfile.path;
        }
        msqid = create_queue(key);
        if (msqid >= 0 || errno != EEXIST)
            break;
        holder_id = describe_holder(key, holder, sizeof holder);
        if (argc - first == 2 || tries == KEY_TRIES) {
            warn_errnum(EEXIST, "msgget key 0x%08lx (ftok %s %d)", (unsigned long)key, path,
                        proj_id);
            fprintf(stderr, "%s: the key is taken by %s; if it is left from a receiver\n"
                            "that was killed (kill -9), remove it with: ipcrm -q %d\n",
                    program_name, holder, holder_id);
            exit(1);
        }
        /* A private key file is new, but ftok only sees its inode number:
         * a file freed by a killed run may have lent it the same number, and
         * its queue is still there.  The old file stays until we exit, so
         * the next one cannot get that inode again. */
        printf("key 0x%08lx from %s is taken (%s, probably left by a receiver\n"
               "killed with SIGKILL): trying another key file\n", (unsigned long)key, path, holder);
    }
    if (attach)
        msqid = attach_queue(key, path, proj_id);
    if (msqid < 0)
        die("msgget key 0x%08lx (ftok %s %d)", (unsigned long)key, path, proj_id);
    /* end region: key */

    printf("%squeue id %d, key 0x%08lx from ftok(\"%s\", %d)\n", attach ? "attached to " : "",
           msqid, (unsigned long)key, path, proj_id);
    printf("send to it with: msg_send %s %s TEXT...\n", path,
           argc - first == 2 ? argv[first + 1] : "1");
    m = message_buffer(&text_max);
    printf("ready: waiting up to %ld ms for each message of up to %zu bytes\n", timeout_ms, text_max);

    /* region: receive */
    while (count == 0 || received < count) {
        ssize_t got = msgrcv_timed(msqid, m, text_max, type, flags, timeout_ms);

        if (got < 0 && errno == ETIMEDOUT) {
            if (count > 0)
                fatal("no message for %ld ms: received %ld of %ld", timeout_ms, received, count);
            printf("no message for %ld ms: stopping\n", timeout_ms);
            break;
        }
        if (got < 0 && errno == E2BIG) {
            /* msgmax changed since we started (root may change it): E2BIG
             * took nothing, the message still waits.  A larger buffer if
             * msgmax grew; else take it cut short (MSG_NOERROR), and say so. */
            size_t before = text_max;
            free(m);
            m = message_buffer(&text_max);
            if (text_max <= before)
                flags = MSG_NOERROR;
            continue;
        }
        if (got < 0)
            die("msgrcv");
        m->mtext[got] = '\0';
        printf("received type=%ld ", m->mtype);
        if (!php || !print_php_value(m->mtext, (size_t)got))
            printf("\"%.*s\"", (int)got, m->mtext);
        if (got > 512 || flags != 0)
            printf(" (%zd bytes%s)", got, flags != 0 ? ", cut to msgmax by MSG_NOERROR" : "");
        printf("\n");
        flags = 0;
        received++;
    }
    /* end region: receive */
    printf("received %ld message%s; %s the queue\n", received, received == 1 ? "" : "s",
           attach && !remove_it ? "leaving" : "removing");
    free(m);
    return 0;             /* exit removes the queue and a private key file */
}
