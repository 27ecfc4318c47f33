/* fifo_server.c - one FIFO, many clients: requests in, a reply FIFO each.
 *
 * Lesson: a FIFO has a name, so unrelated processes can meet through it.
 * Every client writes its requests to the server's one FIFO; each request
 * is a single write() of at most PIPE_BUF bytes, so requests from many
 * clients never mix.  Replies cannot share that FIFO (a reader would take
 * anyone's), so each client names a FIFO of its own in the request.  The
 * server keeps a write end of its own FIFO open, or every client that
 * closes would make its reads return end-of-file.  Any process of ours can
 * write a request, so the server writes only to a reply path of the
 * protocol (fifo.h) that turns out, once opened, to be a FIFO.
 *
 * Run:  fifo_server                          # serves 3 clients it forks itself
 *       fifo_server --clients 5 --each 4
 *       fifo_server --clients 0 --requests 2 &   # then, with the path it prints:
 *       fifo_client --requests 2 PATH
 *       fifo_client --reply-path FILE PATH       # refused: not a client's FIFO
 *
 * You should see the server's FIFO path, each request served once, each
 * client get its own replies, and the FIFOs and directories gone at the end:
 *       fifo_server: listening on /tmp/ipclab-server-Xw3k2a/requests
 *       fifo_server: request 1 from client 4712: hello 1 from 4712
 *       client 0 (pid 4712): reply to request 1: served 1: hello 1 from 4712
 *       result: clients=3 requests=6 served=6 answered=6 clients_ok=3 ms=3.208
 */
#include "ipclab.h"
#include "fifo/fifo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CLIENTS 20

static long nclients = 3, each = 2, requests = 0, idle_ms = 1000, timeout_ms = 2000;

static const struct cli_option options[] = {
    CLI_OPTION_LONG("clients", &nclients, 0, MAX_CLIENTS, "N",
                    "client processes to fork; 0: wait for fifo_client"),
    CLI_OPTION_LONG("each", &each, 1, 1000, "N", "requests per forked client"),
    CLI_OPTION_LONG("requests", &requests, 0, 1000000, "N",
                    "stop after N requests; 0: clients x each, or until idle"),
    CLI_OPTION_LONG("idle-ms", &idle_ms, 1, 600000, "MS",
                    "stop when no request came for MS ms"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 600000, "MS",
                    "a forked client waits this long for a reply"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Serves requests that clients write to one FIFO, replying to each\n"
               "client through the client's own FIFO.",
    .options = options,
    .details = "The FIFO lives in a private directory under $TMPDIR; both are removed\n"
               "on every exit path, SIGINT and SIGTERM included.",
};

/* A client that closes its FIFO between our open and our write makes the
 * write fail with EPIPE, and raise SIGPIPE, which would stop the server.
 * SIGPIPE is blocked for the write, and one it raised is taken off the
 * pending set with sigtimedwait(), so only a SIGPIPE from elsewhere (stdout
 * piped into `head`) still stops us. */
static int write_reply(int fd, const struct fifo_reply *reply)
{
    static const struct timespec now = { 0, 0 };
    sigset_t pipe_set, saved;
    int err;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigprocmask(SIG_BLOCK, &pipe_set, &saved);
    err = fifo_write_record(fd, reply, sizeof *reply, timeout_ms);
    if (err == EPIPE)
        while (sigtimedwait(&pipe_set, NULL, &now) < 0 && errno == EINTR)
            ;
    sigprocmask(SIG_SETMASK, &saved, NULL);
    return err;
}

/* region: check */
/* A request names its reply FIFO, and any process of ours can write a
 * request: without a check, the server would write wherever it is told.
 * So the path must have the protocol's shape (fifo.h): our $TMPDIR, then
 * "ipclab-client-" and mkdtemp's six characters, then "/reply"; and the
 * directory must be a real directory of ours, mode 0700.  Returns NULL if
 * the path passes, else why not. */
static const char *reply_path_refusal(const char *path)
{
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const char *tmp = getenv("TMPDIR"), *rest;
    char prefix[PATH_MAX], dir[PATH_MAX];
    struct stat st;

    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    snprintf(prefix, sizeof prefix, "%s/ipclab-%s-", tmp, FIFO_CLIENT_DIR);
    if (strncmp(path, prefix, strlen(prefix)) != 0)
        return "it is not in a client directory of this server's $TMPDIR";
    rest = path + strlen(prefix);
    if (strspn(rest, alnum) != 6 || strcmp(rest + 6, "/" FIFO_REPLY_NAME) != 0)
        return "it is not <client directory>/" FIFO_REPLY_NAME;
    snprintf(dir, sizeof dir, "%.*s", (int)(rest + 6 - path), path);
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return "its directory is missing or not a directory";
    if (st.st_uid != geteuid() || (st.st_mode & 07777) != 0700)
        return "its directory is not ours with mode 0700";
    return NULL;
}
/* end region: check */

/* region: reply */
/* Opens the client's FIFO without blocking: if the client is gone (no
 * reader, ENXIO), the server moves on instead of hanging.  Whatever the
 * path names, only a FIFO of ours is written to.  Returns 1 if answered. */
static int send_reply(const struct fifo_request *req, long served)
{
    const char *why = reply_path_refusal(req->reply_path), *what = NULL;
    char kind[64];
    struct fifo_reply reply;
    struct stat st;
    int fd = -1, err;

    if (why == NULL) {
        fd = fifo_open_writer(req->reply_path, &what);
        if (fd < 0 && what != NULL) {
            snprintf(kind, sizeof kind, "it is %s, not a FIFO", what);
            why = kind;
        }
        else if (fd < 0 && errno == ENXIO)
            why = "nobody reads it (ENXIO): the client went away";
        else if (fd < 0)
            why = errno_name(errno);
        else if (fstat(fd, &st) != 0 || st.st_uid != geteuid())
            why = "the FIFO is not ours";
    }
    if (why != NULL) {
        printf("%s: request %d not answered: reply path %s refused: %s\n", program_name,
               (int)req->seq, req->reply_path, why);
        if (fd >= 0)
            close(fd);
        return 0;
    }
    memset(&reply, 0, sizeof reply);
    reply.server_pid = (int32_t)getpid();
    reply.seq = req->seq;
    reply.served = (int32_t)served;
    snprintf(reply.text, sizeof reply.text, "served %ld: %s", served, req->text);
    err = write_reply(fd, &reply);
    close(fd);
    if (err != 0) {
        printf("%s: request %d not answered: write %s: %s\n", program_name, (int)req->seq,
               req->reply_path, errno_name(err));
        return 0;
    }
    return 1;
}
/* end region: reply */

int main(int argc, char **argv)
{
    char dir[PATH_MAX], path[PATH_MAX];
    pid_t pids[MAX_CLIENTS];
    int handles[MAX_CLIENTS];
    int from_clients, keep_open, clients_ok = 0;
    long target, served = 0, answered = 0;
    uint64_t start;

    cli_parse(&cli, argc, argv);
    target = requests > 0 ? requests : nclients * each;   /* 0: until idle */

    /* region: setup */
    ipc_private_dir_create_or_die(dir, sizeof dir, "server");
    fifo_make(path, sizeof path, dir, "requests");
    /* O_NONBLOCK: a plain O_RDONLY open would block until a client opens. */
    from_clients = open(path, O_RDONLY | O_NONBLOCK);
    if (from_clients < 0)
        die("open %s", path);
    /* Our own writer: the FIFO never reports end-of-file between clients. */
    keep_open = open(path, O_WRONLY);
    if (keep_open < 0)
        die("open %s", path);
    /* end region: setup */
    printf("%s: listening on %s\n", program_name, path);

    start = monotonic_ns();
    for (int i = 0; i < nclients; i++) {
        pid_t pid = fork_child_or_die(&handles[i]);   /* registered for cleanup */
        if (pid == 0) {
            char label[64];
            close(from_clients);
            close(keep_open);
            snprintf(label, sizeof label, "client %d (pid %ld)", i, (long)getpid());
            exit(fifo_client_run(label, path, each, timeout_ms) == each ? 0 : 1);
        }
        pids[i] = pid;
    }

    /* region: serve */
    while (target == 0 || served < target) {
        struct fifo_request req;
        int err = fifo_read_record(from_clients, &req, sizeof req, idle_ms);
        if (err == ETIMEDOUT) {
            printf("%s: no request for %ld ms; stopping\n", program_name, idle_ms);
            break;
        }
        if (err != 0)
            die_errnum(err, "read %s", path);
        req.reply_path[sizeof req.reply_path - 1] = '\0';
        req.text[sizeof req.text - 1] = '\0';
        served++;
        printf("%s: request %d from client %d: %s\n", program_name, (int)req.seq,
               (int)req.client_pid, req.text);
        answered += send_reply(&req, served);
    }
    /* end region: serve */

    for (int i = 0; i < nclients; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) != pids[i])
            die("waitpid");
        cleanup_forget(handles[i]);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            clients_ok++;
        } else {
            char how[64];
            wait_status_describe(status, how, sizeof how);
            printf("%s: client %d (pid %ld) %s\n", program_name, i, (long)pids[i], how);
        }
    }
    close(keep_open);
    close(from_clients);
    printf("result: clients=%ld requests=%ld served=%ld answered=%ld clients_ok=%d ms=%.3f\n",
           nclients, target, served, answered, clients_ok, ns_to_ms(monotonic_ns() - start));
    return clients_ok == nclients ? 0 : 1;
}
