/* door.c - the room's door: make it, wait at it, leave through it (see door.h). */
#define _GNU_SOURCE   /* semtimedop(): a Linux extension, for the timed wait */
#include "ipclab.h"
#include "door.h"
#include "php_set.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>

const char *const lock_names[] = { "none", "sysv-sem", "posix-sem", NULL };

/* semctl's fourth argument: the caller must declare it (SUSv4, XSI). */
union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

/* region: make_door */
void make_door(struct door *door, const char *key_path, const char *proj, unsigned mode)
{
    sigset_t saved;

    if (key_path != NULL) {                 /* PHP's layout: see door/php_set.h */
        door->semid = php_set_door(key_path, proj, mode, (int)door->places,
                                   door->timeout_ms);
    } else if (door->lock == LOCK_SYSV_SEM) {
        cleanup_block_signals(&saved);      /* create + register: one step */
        door->semid = semget(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL | 0600);
        if (door->semid >= 0)
            cleanup_check(cleanup_add_sysv_sem(door->semid), "semaphore");
        cleanup_unblock_signals(&saved);
        if (door->semid < 0)
            die("semget");
        /* The value is the number of free places. */
        if (semctl(door->semid, 0, SETVAL, (union semun){ .val = (int)door->places }) != 0)
            die("semctl SETVAL");
    } else if (door->lock == LOCK_POSIX_SEM) {
        ipc_name_make_or_die(door->sem_name, sizeof door->sem_name, "room");
        cleanup_block_signals(&saved);
        sem_t *sem = sem_open(door->sem_name, O_CREAT | O_EXCL, 0600, (unsigned)door->places);
        if (sem != SEM_FAILED)   /* sem_unlink at exit */
            cleanup_check(cleanup_add_posix_sem(door->sem_name), door->sem_name);
        cleanup_unblock_signals(&saved);
        if (sem == SEM_FAILED)
            die("sem_open %s", door->sem_name);
        sem_close(sem);             /* each worker opens it by name */
    }
}
/* end region: make_door */

/* region: door */
/* Waits for a free place: 0, or ETIMEDOUT after --timeout-ms. */
int door_wait(struct door *door)
{
    long ms = door->timeout_ms;

    if (door->lock == LOCK_SYSV_SEM) {
        struct sembuf take = { .sem_num = 0, .sem_op = -1,
                               .sem_flg = door->undo ? SEM_UNDO : 0 };
        struct timespec limit = { ms / 1000, ms % 1000 * 1000000 };
        /* The limit is relative; after EINTR it simply starts again. */
        while (semtimedop(door->semid, &take, 1, &limit) != 0) {
            if (errno == EAGAIN)
                return ETIMEDOUT;
            if (errno != EINTR)
                die("semtimedop");
        }
    } else if (door->lock == LOCK_POSIX_SEM) {
        struct timespec deadline;
        /* sem_timedwait wants an absolute time on the wall clock. */
        if (clock_gettime(CLOCK_REALTIME, &deadline) != 0)
            die("clock_gettime");
        deadline.tv_sec += ms / 1000;
        deadline.tv_nsec += ms % 1000 * 1000000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
        while (sem_timedwait(door->sem, &deadline) != 0) {
            if (errno == ETIMEDOUT)
                return ETIMEDOUT;
            if (errno != EINTR)
                die("sem_timedwait");
        }
    } else {
        /* No lock: look through the door until there is a free place. */
        uint64_t give_up_at = monotonic_ns() + (uint64_t)ms * 1000000;
        while (atomic_load(door->inside) >= door->places) {
            if (monotonic_ns() > give_up_at)
                return ETIMEDOUT;
            sched_yield();
        }
    }
    return 0;
}

void door_leave(struct door *door)
{
    if (door->lock == LOCK_SYSV_SEM) {
        /* The same flag as the wait, so the undo adjustments cancel out. */
        struct sembuf give = { .sem_num = 0, .sem_op = +1,
                               .sem_flg = door->undo ? SEM_UNDO : 0 };
        while (semop(door->semid, &give, 1) != 0)
            if (errno != EINTR)
                die("semop");
    } else if (door->lock == LOCK_POSIX_SEM) {
        if (sem_post(door->sem) != 0)
            die("sem_post");
    }
}

/* Is every place taken, as far as the door knows?  The window asks. */
bool door_shut(struct door *door)
{
    int free_places;

    if (door->lock == LOCK_SYSV_SEM) {
        free_places = semctl(door->semid, 0, GETVAL);
        if (free_places < 0)
            die("semctl GETVAL");
    } else if (door->lock == LOCK_POSIX_SEM) {
        if (sem_getvalue(door->sem, &free_places) != 0)   /* may be negative: waiters */
            die("sem_getvalue");
    } else {   /* what the look reads */
        free_places = (int)door->places - atomic_load(door->inside);
    }
    return free_places <= 0;
}
/* end region: door */

void door_describe_crash(const struct door *door, int gave_up)
{
    if (gave_up > 0)
        printf("%d worker%s gave up: the dead worker's place was never given back (%s)\n",
               gave_up, gave_up == 1 ? "" : "s",
               door->lock == LOCK_POSIX_SEM ? "POSIX semaphores have no undo" : "no SEM_UNDO");
    else if (door->lock == LOCK_SYSV_SEM && door->undo)
        printf("the others got in: SEM_UNDO gave the dead worker's place back\n");
    else if (door->lock == LOCK_NONE)
        printf("the others got in: without a lock there was no place to give back\n");
    else
        printf("the others got in through the %ld place%s left: the dead worker's is lost\n",
               door->places - 1, door->places == 2 ? "" : "s");
}
