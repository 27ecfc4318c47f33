/* lock.c - the locks of chapter 5: what shm_counter and lock_cost hold
 * around an increment of the shared counter (see lock.h). */
#define _GNU_SOURCE   /* semtimedop(): a Linux extension, for a bounded wait */
#include "ipclab.h"
#include "lock.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>

const char *const lock_names[] = {
    "none", "sysv-sem", "posix-sem", "mutex", "atomic", NULL
};
_Static_assert(sizeof lock_names / sizeof lock_names[0] == LOCK_KINDS + 1,
               "one name a lock kind, then NULL");

/* semctl's fourth argument: the caller must declare it (SUSv4, XSI). */
union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

/* region: locks */
void lock_init(struct lock *lock, int kind, struct lock_shared *in_shm)
{
    *lock = (struct lock){ .kind = kind, .in_shm = in_shm, .semid = -1 };
    if (kind == LOCK_SYSV_SEM) {
        sigset_t saved;
        cleanup_block_signals(&saved);      /* create + register: one step */
        lock->semid = semget(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL | 0600);
        if (lock->semid >= 0)
            cleanup_check(cleanup_add_sysv_sem(lock->semid), "semaphore");
        cleanup_unblock_signals(&saved);
        if (lock->semid < 0)
            die("semget");
        if (semctl(lock->semid, 0, SETVAL, (union semun){ .val = 1 }) != 0)
            die("semctl SETVAL");
    } else if (kind == LOCK_POSIX_SEM) {
        if (sem_init(&in_shm->posix_sem, 1, 1) != 0)   /* 1: shared by processes */
            die("sem_init");
    } else if (kind == LOCK_MUTEX) {
        pthread_mutexattr_t attr;
        int err = pthread_mutexattr_init(&attr);
        if (err == 0)
            err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
        if (err == 0)
            err = pthread_mutex_init(&in_shm->mutex, &attr);
        if (err != 0)
            die_errnum(err, "pthread_mutex_init");
        pthread_mutexattr_destroy(&attr);
    }
}

/* SEM_UNDO: if a worker dies holding the semaphore, the kernel gives it back.
 * The wait is bounded all the same: without the undo, a dead holder would
 * leave the others asleep forever (try it: remove SEM_UNDO, run --crash). */
static void sysv_sem_add(const struct lock *lock, int delta)
{
    struct sembuf op = { .sem_num = lock->semnum, .sem_op = (short)delta, .sem_flg = SEM_UNDO };
    struct timespec limit = { LOCK_WAIT_LIMIT_S, 0 };

    while (semtimedop(lock->semid, &op, 1, &limit) != 0) {
        if (errno == EAGAIN) {
            printf("a worker waited %d s for the semaphore: its holder died "
                   "and nobody gave it back\n", LOCK_WAIT_LIMIT_S);
            exit(LOCK_GAVE_UP_STATUS);
        }
        if (errno != EINTR)
            die("semtimedop");
    }
}

void lock_acquire(const struct lock *lock)
{
    int err = 0;

    switch (lock->kind) {
    case LOCK_SYSV_SEM:
        sysv_sem_add(lock, -1);
        break;
    case LOCK_POSIX_SEM:
        while (sem_wait(&lock->in_shm->posix_sem) != 0)
            if (errno != EINTR)
                die("sem_wait");
        break;
    case LOCK_MUTEX:
        err = pthread_mutex_lock(&lock->in_shm->mutex);
        break;
    }
    if (err != 0)
        die_errnum(err, "pthread_mutex_lock");
}

void lock_release(const struct lock *lock)
{
    int err = 0;

    switch (lock->kind) {
    case LOCK_SYSV_SEM:
        sysv_sem_add(lock, +1);
        break;
    case LOCK_POSIX_SEM:
        if (sem_post(&lock->in_shm->posix_sem) != 0)
            die("sem_post");
        break;
    case LOCK_MUTEX:
        err = pthread_mutex_unlock(&lock->in_shm->mutex);
        break;
    }
    if (err != 0)
        die_errnum(err, "pthread_mutex_unlock");
}
/* end region: locks */

void lock_init_sysv_set(struct lock *lock, int semid, unsigned short semnum)
{
    *lock = (struct lock){ .kind = LOCK_SYSV_SEM, .semid = semid, .semnum = semnum };
}
