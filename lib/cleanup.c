/* cleanup.c - see cleanup.h. */
#include "cleanup.h"

#include "die.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum entry_kind {
    ENTRY_FREE = 0,
    ENTRY_PATH, ENTRY_DIR,
    ENTRY_POSIX_SHM, ENTRY_POSIX_MQ, ENTRY_POSIX_SEM,
    ENTRY_SYSV_SHM, ENTRY_SYSV_SEM, ENTRY_SYSV_MSG,
    ENTRY_CHILD,
};

struct entry {
    volatile sig_atomic_t kind;   /* written last, so a handler never sees a
                                     half-filled entry */
    pid_t owner;                  /* only this process acts on the entry */
    int id;                       /* System V id, or a child's pid */
    char name[CLEANUP_NAME_MAX];
};

static struct entry entries[CLEANUP_MAX_ENTRIES];
static volatile sig_atomic_t entries_used;   /* high-water mark */
static int installed;

static const int handled_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };

/* --- removal: async-signal-safe -------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);      /* async-signal-safe */
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* SIGTERM, then SIGKILL if the child is still there 100 ms later (measured
 * on the clock: a sleep cut short by a signal must not shorten the grace). */
static void reap_child(pid_t pid)
{
    const struct timespec tick = { 0, 1000000 };   /* 1 ms */
    uint64_t deadline;

    if (kill(pid, SIGTERM) != 0)
        return;                   /* already gone */
    deadline = now_ns() + 100000000u;
    for (;;) {
        pid_t got = waitpid(pid, NULL, WNOHANG);
        if (got == pid || (got < 0 && errno != EINTR))
            return;
        if (now_ns() >= deadline)
            break;
        nanosleep(&tick, NULL);
    }
    kill(pid, SIGKILL);           /* it ignored SIGTERM for 100 ms */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* Returns 0, or the errno of a removal that failed for a reason other than
 * the object being gone already. */
static int remove_entry(struct entry *e)
{
    int rc = 0;

    switch (e->kind) {
    case ENTRY_PATH:      rc = unlink(e->name); break;
    case ENTRY_DIR:       rc = rmdir(e->name); break;
    case ENTRY_POSIX_SHM: rc = shm_unlink(e->name); break;
    case ENTRY_POSIX_MQ:  rc = mq_unlink(e->name); break;
    case ENTRY_POSIX_SEM: rc = sem_unlink(e->name); break;
    case ENTRY_SYSV_SHM:  rc = shmctl(e->id, IPC_RMID, NULL); break;
    case ENTRY_SYSV_SEM:  rc = semctl(e->id, 0, IPC_RMID); break;
    case ENTRY_SYSV_MSG:  rc = msgctl(e->id, IPC_RMID, NULL); break;
    case ENTRY_CHILD:     reap_child(e->id); break;
    default:              break;
    }
    e->kind = ENTRY_FREE;
    if (rc == 0 || errno == ENOENT || errno == EINVAL || errno == EIDRM)
        return 0;
    return errno;
}

static void run_owned(void)
{
    pid_t self = getpid();

    for (int i = entries_used - 1; i >= 0; i--)
        if (entries[i].kind != ENTRY_FREE && entries[i].owner == self)
            remove_entry(&entries[i]);
}

static void on_fatal_signal(int sig)
{
    struct sigaction dfl;
    sigset_t unblock;

    run_owned();
    /* Die of the same signal, so the parent and the shell see it. */
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    sigemptyset(&unblock);
    sigaddset(&unblock, sig);
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
    raise(sig);
}

void cleanup_run(void);

static void at_exit(void)
{
    cleanup_run();
}

/* --- registration ---------------------------------------------------- */

int cleanup_install(void)
{
    if (installed)
        return 0;
    if (atexit(at_exit) != 0)
        return ENOMEM;
    for (size_t i = 0; i < sizeof handled_signals / sizeof handled_signals[0]; i++) {
        struct sigaction old, sa;

        /* Leave a signal alone if the program already handles or ignores
         * it: its own handler decides, and exit() still cleans up. */
        if (sigaction(handled_signals[i], NULL, &old) != 0)
            return errno;
        if (old.sa_handler != SIG_DFL)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigfillset(&sa.sa_mask);       /* one cleanup at a time */
        if (sigaction(handled_signals[i], &sa, NULL) != 0)
            return errno;
    }
    installed = 1;
    return 0;
}

void cleanup_stop_signals(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof handled_signals / sizeof handled_signals[0]; i++)
        sigaddset(set, handled_signals[i]);
}

void cleanup_block_signals(sigset_t *saved)
{
    sigset_t stop;

    cleanup_stop_signals(&stop);
    pthread_sigmask(SIG_BLOCK, &stop, saved);
}

void cleanup_unblock_signals(const sigset_t *saved)
{
    pthread_sigmask(SIG_SETMASK, saved, NULL);
}

static int add_entry(enum entry_kind kind, const char *name, int id)
{
    sigset_t all, old;
    int err = cleanup_install();
    int slot = -1;

    if (err != 0) {
        errno = err;
        return -1;
    }
    if (name != NULL && strlen(name) >= CLEANUP_NAME_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < CLEANUP_MAX_ENTRIES; i++) {
        if (entries[i].kind == ENTRY_FREE) {
            slot = i;
            break;
        }
    }
    if (slot >= 0) {
        struct entry *e = &entries[slot];
        e->owner = getpid();
        e->id = id;
        e->name[0] = '\0';
        if (name != NULL)
            memcpy(e->name, name, strlen(name) + 1);
        e->kind = kind;
        if (slot >= entries_used)
            entries_used = slot + 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (slot < 0)
        errno = ENOSPC;
    return slot;
}

int cleanup_add_path(const char *path)      { return add_entry(ENTRY_PATH, path, -1); }
int cleanup_add_dir(const char *path)       { return add_entry(ENTRY_DIR, path, -1); }
int cleanup_add_posix_shm(const char *name) { return add_entry(ENTRY_POSIX_SHM, name, -1); }
int cleanup_add_posix_mq(const char *name)  { return add_entry(ENTRY_POSIX_MQ, name, -1); }
int cleanup_add_posix_sem(const char *name) { return add_entry(ENTRY_POSIX_SEM, name, -1); }
int cleanup_add_sysv_shm(int shmid)         { return add_entry(ENTRY_SYSV_SHM, NULL, shmid); }
int cleanup_add_sysv_sem(int semid)         { return add_entry(ENTRY_SYSV_SEM, NULL, semid); }
int cleanup_add_sysv_msg(int msqid)         { return add_entry(ENTRY_SYSV_MSG, NULL, msqid); }
int cleanup_add_child(pid_t pid)            { return add_entry(ENTRY_CHILD, NULL, (int)pid); }

int cleanup_check(int handle, const char *what)
{
    if (handle < 0)
        die("cleanup: registering %s", what);
    return handle;
}

void *cleanup_private_shm_or_die(size_t size, const char *what, int *id)
{
    sigset_t saved;
    int shmid, handle = -1, err;
    void *p;

    cleanup_block_signals(&saved);           /* create + register: one step */
    shmid = shmget(IPC_PRIVATE, size, IPC_CREAT | IPC_EXCL | 0600);
    err = errno;
    if (shmid >= 0)
        handle = cleanup_check(cleanup_add_sysv_shm(shmid), what);
    cleanup_unblock_signals(&saved);
    if (shmid < 0)
        die_errnum(err, "shmget (%s, %zu bytes)", what, size);
    p = shmat(shmid, NULL, 0);
    if (p == (void *)-1)
        die("shmat (%s)", what);
    err = cleanup_remove(handle);            /* IPC_RMID: it lives until the last detach */
    if (err != 0)
        die_errnum(err, "shmctl IPC_RMID (%s)", what);
    if (id != NULL)
        *id = shmid;
    return p;
}

static struct entry *owned_entry(int handle)
{
    if (handle < 0 || handle >= CLEANUP_MAX_ENTRIES)
        return NULL;
    if (entries[handle].kind == ENTRY_FREE || entries[handle].owner != getpid())
        return NULL;
    return &entries[handle];
}

int cleanup_remove(int handle)
{
    struct entry *e = owned_entry(handle);
    sigset_t all, old;
    int err;

    if (e == NULL)
        return EINVAL;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    err = remove_entry(e);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}

void cleanup_forget(int handle)
{
    struct entry *e = owned_entry(handle);

    if (e != NULL)
        e->kind = ENTRY_FREE;
}

void cleanup_run(void)
{
    sigset_t all, old;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    run_owned();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}
