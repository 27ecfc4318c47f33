/* test_cleanup.c - removal of what a program created, on every exit path
 * (lib/cleanup.c).
 *
 * The signal tests come first on purpose: their children must start with
 * the registry not yet installed, as a fresh program does, and a fork
 * inherits the parent's registry.  Every test removes what it made even
 * when the cleanup under test fails, so a failing run leaks nothing. */
#include "unit.h"

#include "cleanup.h"
#include "cli.h"
#include "clock.h"
#include "die.h"
#include "io.h"
#include "ipc_names.h"
#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* --- a set of objects of every kind ----------------------------------------- */

struct objects {
    int sem_id, shm_id, msg_id;
    char shm_name[IPC_NAME_SIZE], mq_name[IPC_NAME_SIZE], sem_name[IPC_NAME_SIZE];
    char dir[PATH_MAX];                 /* mkdtemp, under $TMPDIR */
    char fifo[PATH_MAX + 16];           /* dir/fifo */
    char sock[PATH_MAX + 16];           /* dir/sock: a socket file */
};

enum {
    HAS_SEM = 1, HAS_SHM = 2, HAS_MSG = 4, HAS_PSHM = 8, HAS_MQ = 16,
    HAS_PSEM = 32, HAS_FIFO = 64, HAS_SOCK = 128, HAS_DIR = 256,
    HAS_ALL = 511,
};

static int is_gone(int rc)
{
    return rc < 0 && (errno == ENOENT || errno == EINVAL || errno == EIDRM);
}

/* Which objects still exist (HAS_* bits). */
static int present(const struct objects *o)
{
    struct shmid_ds shm;
    struct msqid_ds msg;
    struct stat st;
    int mask = 0, fd;
    mqd_t mq;
    sem_t *sem;

    if (!is_gone(semctl(o->sem_id, 0, GETVAL)))
        mask |= HAS_SEM;
    if (!is_gone(shmctl(o->shm_id, IPC_STAT, &shm)))
        mask |= HAS_SHM;
    if (!is_gone(msgctl(o->msg_id, IPC_STAT, &msg)))
        mask |= HAS_MSG;
    if ((fd = shm_open(o->shm_name, O_RDONLY, 0)) >= 0 || !is_gone(fd)) {
        mask |= HAS_PSHM;
        if (fd >= 0)
            close(fd);
    }
    if ((mq = mq_open(o->mq_name, O_RDONLY)) != (mqd_t)-1 || errno != ENOENT) {
        mask |= HAS_MQ;
        if (mq != (mqd_t)-1)
            mq_close(mq);
    }
    if ((sem = sem_open(o->sem_name, 0)) != SEM_FAILED || errno != ENOENT) {
        mask |= HAS_PSEM;
        if (sem != SEM_FAILED)
            sem_close(sem);
    }
    if (!is_gone(lstat(o->fifo, &st)))
        mask |= HAS_FIFO;
    if (!is_gone(lstat(o->sock, &st)))
        mask |= HAS_SOCK;
    if (!is_gone(lstat(o->dir, &st)))
        mask |= HAS_DIR;
    return mask;
}

/* Removes whatever is left, so a failed test leaks nothing. */
static void remove_leftovers(const struct objects *o)
{
    semctl(o->sem_id, 0, IPC_RMID);
    shmctl(o->shm_id, IPC_RMID, NULL);
    msgctl(o->msg_id, IPC_RMID, NULL);
    shm_unlink(o->shm_name);
    mq_unlink(o->mq_name);
    sem_unlink(o->sem_name);
    unlink(o->fifo);
    unlink(o->sock);
    rmdir(o->dir);
}

static int make_dir(char *buf, size_t size)
{
    const char *tmp = getenv("TMPDIR");

    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    if (snprintf(buf, size, "%s/ipclab-unit-XXXXXX", tmp) >= (int)size)
        return -1;
    return mkdtemp(buf) != NULL ? 0 : -1;
}

/* A socket file, 0600 like every object of ours (its mode comes from the
 * umask at bind time). */
static int make_socket_file(const char *path)
{
    struct sockaddr_un addr;
    mode_t old_mask;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0), rc;

    if (fd < 0 || strlen(path) >= sizeof addr.sun_path)
        return -1;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path, strlen(path) + 1);
    old_mask = umask(077);
    rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
    umask(old_mask);
    close(fd);
    return rc;
}

/* Creates every kind of object and registers each right away, the way a
 * program does: the directory first, so it is removed last.  Returns 0, or
 * the step that failed (what was made before it is registered). */
static int create_and_register(struct objects *o)
{
    struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 8 };
    mqd_t mq;
    sem_t *sem;
    int fd;

    memset(o, 0, sizeof *o);
    o->sem_id = o->shm_id = o->msg_id = -1;
    if (make_dir(o->dir, sizeof o->dir) != 0 || cleanup_add_dir(o->dir) < 0)
        return 1;
    snprintf(o->fifo, sizeof o->fifo, "%s/fifo", o->dir);
    if (mkfifo(o->fifo, 0600) != 0 || cleanup_add_path(o->fifo) < 0)
        return 2;
    snprintf(o->sock, sizeof o->sock, "%s/sock", o->dir);
    if (make_socket_file(o->sock) != 0 || cleanup_add_path(o->sock) < 0)
        return 3;
    if ((o->sem_id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600)) < 0 ||
        cleanup_add_sysv_sem(o->sem_id) < 0)
        return 4;
    if ((o->shm_id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600)) < 0 ||
        cleanup_add_sysv_shm(o->shm_id) < 0)
        return 5;
    if ((o->msg_id = msgget(IPC_PRIVATE, IPC_CREAT | 0600)) < 0 ||
        cleanup_add_sysv_msg(o->msg_id) < 0)
        return 6;
    if (ipc_name_make(o->shm_name, sizeof o->shm_name, "ushm") != 0 ||
        (fd = shm_open(o->shm_name, O_RDWR | O_CREAT | O_EXCL, 0600)) < 0 ||
        cleanup_add_posix_shm(o->shm_name) < 0)
        return 7;
    close(fd);
    if (ipc_name_make(o->mq_name, sizeof o->mq_name, "umq") != 0 ||
        (mq = mq_open(o->mq_name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr)) == (mqd_t)-1 ||
        cleanup_add_posix_mq(o->mq_name) < 0)
        return 8;
    mq_close(mq);
    if (ipc_name_make(o->sem_name, sizeof o->sem_name, "usem") != 0 ||
        (sem = sem_open(o->sem_name, O_CREAT | O_EXCL, 0600, 0)) == SEM_FAILED ||
        cleanup_add_posix_sem(o->sem_name) < 0)
        return 9;
    sem_close(sem);
    return 0;
}

static void nap_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

    nanosleep(&t, NULL);
}

/* --- cleanup on a fatal signal ------------------------------------------------ */

struct signal_child {
    int ready;                 /* write end: the objects, once registered */
    int hold;                  /* read end, closed in the child */
};

/* The child: a program that creates objects, registers them and waits to
 * be killed.  exit() (not return) on every path, so that the cleanup
 * runs; bounded, so that it never outlives a broken test. */
static int make_objects_and_wait(void *arg)
{
    struct signal_child *c = arg;
    struct objects o;
    int step;

    close(c->hold);
    step = create_and_register(&o);
    if (step != 0)
        exit(100 + step);
    if (write_full(c->ready, &o, sizeof o) != (ssize_t)sizeof o)
        exit(99);
    for (int i = 0; i < 10000; i++)
        nap_ms(1);
    exit(98);                  /* the signal never came */
}

static void check_cleanup_on_signal(int sig)
{
    struct signal_child c;
    struct objects o;
    int fds[2], status;
    ssize_t got;
    pid_t pid;

    CU_ASSERT_FATAL(pipe(fds) == 0);
    c.ready = fds[1];
    c.hold = fds[0];
    pid = unit_fork(make_objects_and_wait, &c);
    close(fds[1]);
    got = read_full(fds[0], &o, sizeof o);
    close(fds[0]);
    if (got != (ssize_t)sizeof o) {
        status = unit_wait_timeout(pid, 10000);
        fprintf(stderr, "child could not create its objects: status 0x%x\n", (unsigned)status);
        CU_FAIL_FATAL("child could not create its objects");
    }
    CU_ASSERT_EQUAL(present(&o), HAS_ALL);   /* all there while it runs */
    CU_ASSERT_EQUAL(kill(pid, sig), 0);
    status = unit_wait_timeout(pid, 10000);
    CU_ASSERT_TRUE(unit_killed_by(status, sig));    /* re-raised, not exit() */
    CU_ASSERT_EQUAL(present(&o), 0);
    remove_leftovers(&o);
}

static void test_sigterm_removes_everything(void)
{
    check_cleanup_on_signal(SIGTERM);
}

static void test_sigint_removes_everything(void)
{
    check_cleanup_on_signal(SIGINT);
}

static void test_sighup_removes_everything(void)
{
    check_cleanup_on_signal(SIGHUP);
}

/* A program with its own SIGTERM handler keeps it: the signal only sets its
 * flag, the objects stay until the program exits on its own, and exit()
 * removes them then. */
static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
    (void)sig;
    got_term = 1;
}

static int own_handler_child(void *arg)
{
    struct signal_child *c = arg;
    struct objects o;
    struct sigaction sa;
    char still_there;

    close(c->hold);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    if (create_and_register(&o) != 0)
        exit(101);
    if (write_full(c->ready, &o, sizeof o) != (ssize_t)sizeof o)
        exit(99);
    for (int i = 0; i < 10000 && !got_term; i++)
        nap_ms(1);
    if (!got_term)
        exit(98);
    still_there = present(&o) == HAS_ALL ? 'y' : 'n';
    if (write_full(c->ready, &still_there, 1) != 1)
        exit(97);
    exit(0);                   /* and the exit handler cleans up */
}

static void test_own_sigterm_handler_is_respected(void)
{
    struct signal_child c;
    struct objects o;
    char still_there = '?';
    int fds[2], status;
    pid_t pid;

    CU_ASSERT_FATAL(pipe(fds) == 0);
    c.ready = fds[1];
    c.hold = fds[0];
    pid = unit_fork(own_handler_child, &c);
    close(fds[1]);
    if (read_full(fds[0], &o, sizeof o) != (ssize_t)sizeof o) {
        unit_wait_timeout(pid, 10000);
        close(fds[0]);
        CU_FAIL_FATAL("child could not create its objects");
    }
    CU_ASSERT_EQUAL(kill(pid, SIGTERM), 0);
    CU_ASSERT_EQUAL(read_full(fds[0], &still_there, 1), 1);
    close(fds[0]);
    status = unit_wait_timeout(pid, 10000);
    CU_ASSERT_EQUAL(still_there, 'y');            /* the signal removed nothing */
    CU_ASSERT_TRUE(unit_exited(status, 0));       /* its handler ran, not ours */
    CU_ASSERT_EQUAL(present(&o), 0);              /* exit() cleaned up */
    remove_leftovers(&o);
}

/* cleanup_install() takes the signals left at their default and leaves a
 * handled or ignored one alone.  Exit status: bit 0 SIGTERM not the
 * program's handler, bit 1 SIGHUP not ignored, bit 2 SIGINT not taken. */
static int check_install(void *arg)
{
    struct sigaction sa, now;
    int bad = 0;

    (void)arg;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_DFL);
    if (cleanup_install() != 0 || cleanup_install() != 0)
        return 64;
    if (sigaction(SIGTERM, NULL, &now) != 0 || now.sa_handler != on_term)
        bad |= 1;
    if (sigaction(SIGHUP, NULL, &now) != 0 || now.sa_handler != SIG_IGN)
        bad |= 2;
    if (sigaction(SIGINT, NULL, &now) != 0 || now.sa_handler == SIG_DFL ||
        now.sa_handler == SIG_IGN || now.sa_handler == on_term)
        bad |= 4;
    return bad;
}

static void test_install_takes_only_default_signals(void)
{
    int status = unit_wait_timeout(unit_fork(check_install, NULL), 10000);

    CU_ASSERT_TRUE(unit_exited(status, 0));
}

/* --- exit paths ------------------------------------------------------------------- */

struct exit_case {
    struct signal_child c;
    int how;                    /* 0: exit(0), 1: die() */
};

static int objects_then_exit(void *arg)
{
    struct exit_case *e = arg;
    struct objects o;

    close(e->c.hold);
    program_name = "t";
    if (create_and_register(&o) != 0)
        exit(101);
    if (write_full(e->c.ready, &o, sizeof o) != (ssize_t)sizeof o)
        exit(99);
    close(e->c.ready);
    if (e->how == 1) {
        errno = EIO;
        die("something failed");
    }
    exit(0);
}

static void test_exit_and_die_remove_everything(void)
{
    for (int how = 0; how < 2; how++) {
        struct exit_case e;
        struct unit_output out;
        struct objects o;
        int fds[2];

        CU_ASSERT_FATAL(pipe(fds) == 0);
        e.c.ready = fds[1];
        e.c.hold = fds[0];
        e.how = how;
        /* The objects' description fits in the pipe: the child can end
         * before the parent reads it. */
        unit_capture(objects_then_exit, &e, &out);
        close(fds[1]);
        CU_ASSERT_FATAL(read_full(fds[0], &o, sizeof o) == (ssize_t)sizeof o);
        close(fds[0]);
        CU_ASSERT_TRUE(unit_exited(out.status, how == 0 ? 0 : 1));
        CU_ASSERT_STRING_EQUAL(out.err, how == 0 ? "" : "t: something failed: EIO (Input/output error)\n");
        CU_ASSERT_EQUAL(present(&o), 0);
        remove_leftovers(&o);
    }
}

/* --- cleanup_run in this process ---------------------------------------------------- */

static void test_cleanup_run_removes_every_kind(void)
{
    struct objects o;

    CU_ASSERT_EQUAL_FATAL(create_and_register(&o), 0);
    CU_ASSERT_EQUAL(present(&o), HAS_ALL);
    cleanup_run();
    CU_ASSERT_EQUAL(present(&o), 0);
    remove_leftovers(&o);
}

/* Directories registered before what they hold: only newest-first removal
 * empties each one before its rmdir. */
static void test_cleanup_run_goes_newest_first(void)
{
    char dir[PATH_MAX], sub[PATH_MAX + 8], fifo[PATH_MAX + 16], sock[PATH_MAX + 16];
    struct stat st;

    CU_ASSERT_FATAL(make_dir(dir, sizeof dir) == 0);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", sub);
    snprintf(sock, sizeof sock, "%s/sock", dir);
    CU_ASSERT(cleanup_add_dir(dir) >= 0);
    CU_ASSERT(mkdir(sub, 0700) == 0 && cleanup_add_dir(sub) >= 0);
    CU_ASSERT(mkfifo(fifo, 0600) == 0 && cleanup_add_path(fifo) >= 0);
    CU_ASSERT(make_socket_file(sock) == 0 && cleanup_add_path(sock) >= 0);
    cleanup_run();
    CU_ASSERT(lstat(dir, &st) != 0 && errno == ENOENT);
    unlink(fifo);
    unlink(sock);
    rmdir(sub);
    rmdir(dir);
}

/* Children: each says which one it is when SIGTERM arrives; cleanup_run()
 * reaps one before signalling the next, so the order shows. */
static int report_on_term_fd;
static char report_on_term_id;

static void report_on_term(int sig)
{
    (void)sig;
    if (write(report_on_term_fd, &report_on_term_id, 1) < 0)
        _exit(2);
    _exit(0);
}

struct term_child {
    int report;       /* where to write the id */
    int ready;        /* where to say "handler installed" */
    char id;
};

static int wait_for_term(void *arg)
{
    struct term_child *t = arg;
    struct sigaction sa;

    report_on_term_fd = t->report;
    report_on_term_id = t->id;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = t->id == 'x' ? SIG_IGN : report_on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    if (write_full(t->ready, "r", 1) != 1)
        return 3;
    for (int i = 0; i < 10000; i++)
        nap_ms(1);
    return 4;
}

static int child_is_reaped(pid_t pid)
{
    return waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD && kill(pid, 0) != 0;
}

static void test_children_signalled_and_reaped_newest_first(void)
{
    int report[2], ready[2];
    char order[8] = "";
    pid_t pid[3];
    struct term_child t;
    ssize_t got;

    CU_ASSERT_FATAL(pipe(report) == 0 && pipe(ready) == 0);
    for (int i = 0; i < 3; i++) {
        char r;
        t.report = report[1];
        t.ready = ready[1];
        t.id = (char)('1' + i);
        pid[i] = unit_fork(wait_for_term, &t);
        CU_ASSERT(read_full(ready[0], &r, 1) == 1);    /* its handler is in place */
        CU_ASSERT(cleanup_add_child(pid[i]) >= 0);
    }
    cleanup_run();
    close(report[1]);
    got = read_full(report[0], order, sizeof order - 1);
    CU_ASSERT_EQUAL(got, 3);
    CU_ASSERT_STRING_EQUAL(order, "321");
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_TRUE(child_is_reaped(pid[i]));
        if (!child_is_reaped(pid[i])) {
            kill(pid[i], SIGKILL);
            waitpid(pid[i], NULL, 0);
        }
    }
    close(report[0]);
    close(ready[0]);
    close(ready[1]);
}

static void test_child_ignoring_sigterm_is_killed(void)
{
    struct term_child t;
    int ready[2];
    uint64_t start, took;
    char r;
    pid_t pid;

    CU_ASSERT_FATAL(pipe(ready) == 0);
    t.report = -1;
    t.ready = ready[1];
    t.id = 'x';                          /* ignores SIGTERM */
    pid = unit_fork(wait_for_term, &t);
    CU_ASSERT(read_full(ready[0], &r, 1) == 1);
    CU_ASSERT(cleanup_add_child(pid) >= 0);
    start = monotonic_ns();
    cleanup_run();
    took = monotonic_ns() - start;
    CU_ASSERT_TRUE(child_is_reaped(pid));
    CU_ASSERT(took >= 100000000u);       /* SIGKILL only after 100 ms */
    if (!child_is_reaped(pid)) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    close(ready[0]);
    close(ready[1]);
}

/* --- a forked child never removes its parent's objects ------------------------------ */

static int fifo_handle;

static int child_tries_to_clean(void *arg)
{
    int how = *(int *)arg;

    if (cleanup_remove(fifo_handle) != EINVAL)
        exit(10);
    cleanup_forget(fifo_handle);
    cleanup_run();
    if (how == 1)
        raise(SIGTERM);        /* the inherited handler runs in the child */
    exit(0);                   /* the exit handler runs in the child */
}

static void test_child_leaves_parents_entries_alone(void)
{
    char dir[PATH_MAX], fifo[PATH_MAX + 16];
    struct stat st;

    CU_ASSERT_FATAL(make_dir(dir, sizeof dir) == 0);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    CU_ASSERT_FATAL(mkfifo(fifo, 0600) == 0);
    fifo_handle = cleanup_add_path(fifo);
    CU_ASSERT(fifo_handle >= 0);
    for (int how = 0; how < 2; how++) {
        int status = unit_wait_timeout(unit_fork(child_tries_to_clean, &how), 10000);
        CU_ASSERT_TRUE(how == 0 ? unit_exited(status, 0) : unit_killed_by(status, SIGTERM));
        CU_ASSERT_EQUAL(lstat(fifo, &st), 0);          /* still there */
    }
    /* The parent's handle is intact after all that. */
    CU_ASSERT_EQUAL(cleanup_remove(fifo_handle), 0);
    CU_ASSERT(lstat(fifo, &st) != 0 && errno == ENOENT);
    unlink(fifo);
    CU_ASSERT_EQUAL(rmdir(dir), 0);
}

/* --- cleanup_remove, cleanup_forget, limits ------------------------------------------- */

static void test_cleanup_remove(void)
{
    char dir[PATH_MAX], fifo[PATH_MAX + 16], inner[PATH_MAX + 16];
    struct stat st;
    int h, hdir;

    CU_ASSERT_FATAL(make_dir(dir, sizeof dir) == 0);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(inner, sizeof inner, "%s/inner", dir);

    CU_ASSERT_FATAL(mkfifo(fifo, 0600) == 0);
    h = cleanup_add_path(fifo);
    CU_ASSERT_EQUAL(cleanup_remove(h), 0);
    CU_ASSERT(lstat(fifo, &st) != 0 && errno == ENOENT);       /* removed now */
    CU_ASSERT_EQUAL(cleanup_remove(h), EINVAL);                /* and forgotten */

    CU_ASSERT_FATAL(mkfifo(fifo, 0600) == 0);
    h = cleanup_add_path(fifo);
    CU_ASSERT_EQUAL(unlink(fifo), 0);
    CU_ASSERT_EQUAL(cleanup_remove(h), 0);                     /* gone already: fine */

    /* A removal that fails reports its errno. */
    hdir = cleanup_add_dir(dir);
    CU_ASSERT_FATAL(mkfifo(inner, 0600) == 0);
    CU_ASSERT_EQUAL(cleanup_remove(hdir), ENOTEMPTY);
    CU_ASSERT_EQUAL(unlink(inner), 0);

    CU_ASSERT_EQUAL(cleanup_remove(-1), EINVAL);
    CU_ASSERT_EQUAL(cleanup_remove(CLEANUP_MAX_ENTRIES), EINVAL);
    CU_ASSERT_EQUAL(rmdir(dir), 0);
}

static void test_cleanup_forget(void)
{
    char dir[PATH_MAX], fifo[PATH_MAX + 16];
    struct stat st;
    int h;

    CU_ASSERT_FATAL(make_dir(dir, sizeof dir) == 0);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    CU_ASSERT_FATAL(mkfifo(fifo, 0600) == 0);
    h = cleanup_add_path(fifo);
    CU_ASSERT(h >= 0);
    cleanup_forget(h);
    cleanup_forget(-1);                          /* harmless */
    cleanup_forget(CLEANUP_MAX_ENTRIES);
    cleanup_run();
    CU_ASSERT_EQUAL(lstat(fifo, &st), 0);        /* left alone */
    CU_ASSERT_EQUAL(cleanup_remove(h), EINVAL);
    CU_ASSERT_EQUAL(unlink(fifo), 0);
    CU_ASSERT_EQUAL(rmdir(dir), 0);
}

static void test_full_table_is_enospc(void)
{
    static int handles[CLEANUP_MAX_ENTRIES];
    char name[64];
    int n = 0, h;

    cleanup_run();                               /* start from an empty table */
    for (int i = 0; i < CLEANUP_MAX_ENTRIES + 1; i++) {
        /* Paths that never exist: removing them is a no-op. */
        snprintf(name, sizeof name, "/nonexistent-ipclab-unit/%d", i);
        h = cleanup_add_path(name);
        if (h < 0)
            break;
        handles[n++] = h;
    }
    CU_ASSERT_EQUAL(n, CLEANUP_MAX_ENTRIES);
    errno = 0;
    CU_ASSERT_EQUAL(cleanup_add_sysv_msg(12345), -1);
    CU_ASSERT_EQUAL(errno, ENOSPC);
    /* A forgotten slot is used again. */
    cleanup_forget(handles[100]);
    CU_ASSERT_EQUAL(cleanup_add_path("/nonexistent-ipclab-unit/again"), handles[100]);
    cleanup_run();
    CU_ASSERT(cleanup_add_path("/nonexistent-ipclab-unit/after") >= 0);
    cleanup_run();
}

static void test_name_too_long(void)
{
    char name[CLEANUP_NAME_MAX + 1];
    int h;

    memset(name, 'n', CLEANUP_NAME_MAX);
    name[0] = '/';
    name[CLEANUP_NAME_MAX] = '\0';               /* 256 characters */
    errno = 0;
    CU_ASSERT_EQUAL(cleanup_add_path(name), -1);
    CU_ASSERT_EQUAL(errno, ENAMETOOLONG);
    name[CLEANUP_NAME_MAX - 1] = '\0';           /* 255 fit */
    h = cleanup_add_posix_shm(name);
    CU_ASSERT(h >= 0);
    cleanup_forget(h);
}

static int check_fails(void *arg)
{
    (void)arg;
    program_name = "t";
    errno = ENOSPC;
    cleanup_check(-1, "the FIFO");
    return 0;
}

static void test_cleanup_check(void)
{
    struct unit_output o;

    CU_ASSERT_EQUAL(cleanup_check(0, "x"), 0);
    CU_ASSERT_EQUAL(cleanup_check(17, "x"), 17);
    unit_capture(check_fails, NULL, &o);
    CU_ASSERT(unit_exited(o.status, 1));
    CU_ASSERT_STRING_EQUAL(o.err, "t: cleanup: registering the FIFO: ENOSPC (No space left on device)\n");
}

/* --- fresh programs: what cli_parse() sets up, before any registration ---------- */

static const struct cli bare_cli = { .summary = "A test program." };

static int parse_bare(int argc, char **argv)
{
    char *none[] = { argv[0], NULL };

    (void)argc;
    return cli_parse(&bare_cli, 1, none);
}

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };

/* Program "dispositions [own]": with "own", it first gives SIGTERM a handler
 * of its own and ignores SIGHUP, as a program may before parsing; then it
 * calls cli_parse() and registers nothing.  It prints one line per stop
 * signal: "SIGTERM cleanup" (one handler shared by all, every signal
 * blocked while it runs), "own", "ignored" or "default". */
static int program_dispositions(int argc, char **argv)
{
    void (*cleanup_handler)(int) = NULL;

    if (argc > 1 && strcmp(argv[1], "own") == 0) {
        struct sigaction sa;

        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_term;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGHUP, SIG_IGN);
    }
    parse_bare(argc, argv);
    for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++) {
        struct sigaction now;
        const char *what;

        if (sigaction(stop_signals[i], NULL, &now) != 0)
            return 64;
        if (now.sa_handler == SIG_DFL)
            what = "default";
        else if (now.sa_handler == SIG_IGN)
            what = "ignored";
        else if (now.sa_handler == on_term)
            what = "own";
        else if (cleanup_handler != NULL && now.sa_handler != cleanup_handler)
            what = "a second handler";
        else if (sigismember(&now.sa_mask, SIGTERM) != 1 || sigismember(&now.sa_mask, SIGUSR1) != 1)
            what = "cleanup, but other signals open while it runs";
        else {
            cleanup_handler = now.sa_handler;
            what = "cleanup";
        }
        printf("%s %s\n", signal_name(stop_signals[i]), what);
    }
    return 0;
}

static void test_cli_parse_installs_the_handlers(void)
{
    const char *plain[] = { NULL }, *own[] = { "own", NULL };
    struct unit_output o;

    unit_run_program("dispositions", plain, &o);
    CU_ASSERT_TRUE(unit_exited(o.status, 0));
    CU_ASSERT_STRING_EQUAL(o.out, "SIGINT cleanup\nSIGTERM cleanup\nSIGHUP cleanup\n"
                                  "SIGQUIT cleanup\nSIGPIPE cleanup\n");
    CU_ASSERT_STRING_EQUAL(o.err, "");
    /* A handler the program installed itself, and an ignored signal, stay. */
    unit_run_program("dispositions", own, &o);
    CU_ASSERT_TRUE(unit_exited(o.status, 0));
    CU_ASSERT_STRING_EQUAL(o.out, "SIGINT cleanup\nSIGTERM own\nSIGHUP ignored\n"
                                  "SIGQUIT cleanup\nSIGPIPE cleanup\n");
}

static int fd_argument(const char *text)
{
    long fd;

    return parse_long(text, 0, 1023, &fd) == 0 ? (int)fd : -1;
}

/* Waits (bounded) until sig is pending, i.e. sent while blocked. */
static int wait_pending(int sig)
{
    for (int i = 0; i < 10000; i++) {
        sigset_t pending;

        if (sigpending(&pending) == 0 && sigismember(&pending, sig) == 1)
            return 0;
        nap_ms(1);
    }
    return -1;
}

/* Program "window REPORT_FD": cli_parse(), then the create + register
 * window of COMMON.md: the queue is created with the stop signals blocked,
 * its id sent to the test, which answers with SIGTERM; only once that
 * SIGTERM is pending does the program register the queue and unblock.
 * Had the block let the signal through, the program would die before the
 * registration and the queue would stay. */
static int program_window(int argc, char **argv)
{
    int report = argc > 1 ? fd_argument(argv[1]) : -1;
    sigset_t saved;
    int id;

    if (report < 0)
        return 60;
    parse_bare(argc, argv);
    cleanup_block_signals(&saved);
    id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (id < 0)
        return 61;
    if (write_full(report, &id, sizeof id) != (ssize_t)sizeof id)
        return 62;
    if (wait_pending(SIGTERM) != 0)
        return 63;                 /* the test never sent it */
    cleanup_check(cleanup_add_sysv_msg(id), "the queue");
    cleanup_unblock_signals(&saved);   /* SIGTERM lands here */
    return 64;                         /* it did not */
}

static void test_sigterm_during_the_window_removes_the_object(void)
{
    char report[16];
    const char *args[] = { report, NULL };
    struct msqid_ds ds;
    int fds[2], status, id = -1;
    pid_t pid;

    CU_ASSERT_FATAL(pipe(fds) == 0);
    snprintf(report, sizeof report, "%d", fds[1]);
    pid = unit_spawn("window", args);
    close(fds[1]);
    CU_ASSERT_EQUAL(read_full(fds[0], &id, sizeof id), (ssize_t)sizeof id);
    close(fds[0]);
    CU_ASSERT_EQUAL(kill(pid, SIGTERM), 0);
    status = unit_wait_timeout(pid, 10000);
    if (!unit_killed_by(status, SIGTERM))
        fprintf(stderr, "window: status 0x%x\n", (unsigned)status);
    CU_ASSERT_TRUE(unit_killed_by(status, SIGTERM));
    CU_ASSERT_FATAL(id >= 0);
    CU_ASSERT(msgctl(id, IPC_STAT, &ds) != 0 && (errno == EINVAL || errno == EIDRM));
    msgctl(id, IPC_RMID, NULL);        /* if the test failed */
}

/* Program "sigpipe REPORT_FD OUT_FD": a private directory and a queue, both
 * made in the window and registered, their names sent to the test; then a
 * line to OUT_FD as its standard output, a pipe whose reader is gone (as
 * `prog | head -1` leaves it).  SIGPIPE must clean up and kill it. */
struct sigpipe_report {
    int id;
    char dir[PATH_MAX];
};

static int program_sigpipe(int argc, char **argv)
{
    int report = argc > 2 ? fd_argument(argv[1]) : -1;
    int out = argc > 2 ? fd_argument(argv[2]) : -1;
    struct sigpipe_report r;
    sigset_t saved;

    if (report < 0 || out < 0)
        return 60;
    parse_bare(argc, argv);
    memset(&r, 0, sizeof r);
    ipc_private_dir_create_or_die(r.dir, sizeof r.dir, "sigpipe");
    cleanup_block_signals(&saved);
    r.id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (r.id >= 0)
        cleanup_check(cleanup_add_sysv_msg(r.id), "the queue");
    cleanup_unblock_signals(&saved);
    if (r.id < 0)
        die("msgget");
    if (write_full(report, &r, sizeof r) != (ssize_t)sizeof r)
        return 62;
    close(report);
    if (dup2(out, STDOUT_FILENO) < 0)
        return 63;
    printf("the first line\n");       /* line-buffered: written now */
    fflush(stdout);
    return 64;                         /* SIGPIPE did not kill us */
}

static void test_sigpipe_cleans_up_and_kills(void)
{
    char report_fd[16], out_fd[16];
    const char *args[] = { report_fd, out_fd, NULL };
    struct sigpipe_report r;
    struct msqid_ds ds;
    struct stat st;
    int report[2], out[2], status;
    pid_t pid;

    memset(&r, 0, sizeof r);
    r.id = -1;
    CU_ASSERT_FATAL(pipe(report) == 0 && pipe(out) == 0);
    close(out[0]);                     /* nobody will ever read */
    snprintf(report_fd, sizeof report_fd, "%d", report[1]);
    snprintf(out_fd, sizeof out_fd, "%d", out[1]);
    pid = unit_spawn("sigpipe", args);
    close(report[1]);
    close(out[1]);
    CU_ASSERT_EQUAL(read_full(report[0], &r, sizeof r), (ssize_t)sizeof r);
    close(report[0]);
    status = unit_wait_timeout(pid, 10000);
    if (!unit_killed_by(status, SIGPIPE))
        fprintf(stderr, "sigpipe: status 0x%x\n", (unsigned)status);
    CU_ASSERT_TRUE(unit_killed_by(status, SIGPIPE));
    CU_ASSERT_FATAL(r.id >= 0 && r.dir[0] == '/');
    CU_ASSERT(msgctl(r.id, IPC_STAT, &ds) != 0 && (errno == EINVAL || errno == EIDRM));
    CU_ASSERT(lstat(r.dir, &st) != 0 && errno == ENOENT);
    msgctl(r.id, IPC_RMID, NULL);      /* if the test failed */
    rmdir(r.dir);
}

/* A private segment: 0600, attached once, already marked removed (so a
 * crash cannot leave it), zero-filled, gone after the last detach. */
static void test_private_shm(void)
{
    struct shmid_ds ds;
    int id = -1;
    unsigned char *p = cleanup_private_shm_or_die(8192, "a test segment", &id);
    bool zero = true;

    CU_ASSERT_FATAL(id >= 0);
    CU_ASSERT_FATAL(shmctl(id, IPC_STAT, &ds) == 0);
    CU_ASSERT_EQUAL(ds.shm_perm.mode & 0777, 0600);
    CU_ASSERT_EQUAL(ds.shm_nattch, 1);
    CU_ASSERT(ds.shm_segsz >= 8192);
    for (size_t i = 0; i < 8192; i++)
        zero = zero && p[i] == 0;
    CU_ASSERT_TRUE(zero);
    /* Gone at our detach, with nobody calling IPC_RMID: it was marked. */
    CU_ASSERT_EQUAL(shmdt(p), 0);
    CU_ASSERT(shmctl(id, IPC_STAT, &ds) != 0 && (errno == EINVAL || errno == EIDRM));
    shmctl(id, IPC_RMID, NULL);        /* if the test failed */
}

static const struct unit_program programs[] = {
    { "dispositions", program_dispositions },
    { "window", program_window },
    { "sigpipe", program_sigpipe },
    { NULL, NULL },
};

static CU_TestInfo tests[] = {
    { "cli_parse installs the handlers first; a program's own stay", test_cli_parse_installs_the_handlers },
    { "SIGTERM sent in the create+register window removes the object", test_sigterm_during_the_window_removes_the_object },
    { "SIGPIPE (stdout a closed pipe) cleans up, then kills by SIGPIPE", test_sigpipe_cleans_up_and_kills },
    /* first: their children need a registry not yet installed */
    { "SIGTERM removes every kind of object, then kills by SIGTERM", test_sigterm_removes_everything },
    { "SIGINT removes every kind of object, then kills by SIGINT", test_sigint_removes_everything },
    { "SIGHUP removes every kind of object, then kills by SIGHUP", test_sighup_removes_everything },
    { "a program's own SIGTERM handler is respected", test_own_sigterm_handler_is_respected },
    { "install takes default signals, leaves handled/ignored ones", test_install_takes_only_default_signals },
    { "exit(0) and die() remove everything", test_exit_and_die_remove_everything },
    { "cleanup_run removes every kind", test_cleanup_run_removes_every_kind },
    { "cleanup_run goes newest first (dirs last)", test_cleanup_run_goes_newest_first },
    { "children: SIGTERM and reaped, newest first", test_children_signalled_and_reaped_newest_first },
    { "a child ignoring SIGTERM gets SIGKILL after 100 ms", test_child_ignoring_sigterm_is_killed },
    { "a forked child never removes the parent's entries", test_child_leaves_parents_entries_alone },
    { "cleanup_remove: now, once, errors", test_cleanup_remove },
    { "cleanup_forget leaves the object", test_cleanup_forget },
    { "a full table is ENOSPC; freed slots are reused", test_full_table_is_enospc },
    { "a name of 256 characters is ENAMETOOLONG", test_name_too_long },
    { "cleanup_check", test_cleanup_check },
    { "a private segment is 0600, zero-filled, already removed, gone at the last detach", test_private_shm },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN_WITH_PROGRAMS("cleanup", tests, programs)
