/* php_set.c - the steps of PHP's sem_get(), so a C program can share its set. */
#define _GNU_SOURCE   /* semtimedop(): a Linux extension, for a bounded wait */
#include "ipclab.h"
#include "php_set.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static void semop_or_die(int semid, struct sembuf *ops, size_t n, long timeout_ms,
                         const char *what)
{
    struct timespec limit = { timeout_ms / 1000, timeout_ms % 1000 * 1000000 };

    while (semtimedop(semid, ops, n, &limit) != 0) {
        if (errno == EAGAIN)
            fatal("%s: waited %ld ms for another process's sem_get setup", what, timeout_ms);
        if (errno != EINTR)
            die("semop (%s)", what);
    }
}

int php_set_join(key_t key, unsigned mode, int places, long timeout_ms, bool *made,
                 int *users, int *free_places)
{
    sigset_t saved;
    int semid;

    cleanup_block_signals(&saved);          /* create + register: one step */
    semid = semget(key, 3, IPC_CREAT | IPC_EXCL | (int)mode);
    *made = semid >= 0;
    if (*made)
        cleanup_check(cleanup_add_sysv_sem(semid), "semaphore set");
    cleanup_unblock_signals(&saved);
    if (semid < 0 && errno == EEXIST) {
        semid = semget(key, 3, 0);          /* EINVAL: fewer than 3, not PHP's */
        if (semid < 0 && errno == EINVAL)
            fatal("the semaphore set of key 0x%08lx has fewer than 3 semaphores: "
                  "not one PHP's sem_get() made", (unsigned long)key);
    }
    if (semid < 0)
        die("semget key 0x%08lx", (unsigned long)key);

    /* region: join */
    /* Wait until nobody is setting up, take the setup lock, count us in:
     * one semop, so nobody comes between. */
    struct sembuf enter[] = {
        { PHP_SEM_SETUP, 0, 0 },
        { PHP_SEM_SETUP, +1, SEM_UNDO },
        { PHP_SEM_USAGE, +1, SEM_UNDO },
    };
    semop_or_die(semid, enter, 3, timeout_ms, "setup lock");
    *users = semctl(semid, PHP_SEM_USAGE, GETVAL);
    if (*users < 0)
        die("semctl GETVAL");
    if (*users == 1 && semctl(semid, PHP_SEM_DOOR, SETVAL, (union semun){ .val = places }) != 0)
        die("semctl SETVAL");
    struct sembuf leave = { PHP_SEM_SETUP, -1, SEM_UNDO };
    semop_or_die(semid, &leave, 1, timeout_ms, "setup lock");
    /* end region: join */
    *free_places = semctl(semid, PHP_SEM_DOOR, GETVAL);
    if (*free_places < 0)
        die("semctl GETVAL");
    return semid;
}

int php_set_door(const char *path, const char *proj, unsigned mode, int places,
                 long timeout_ms)
{
    bool made;
    int users, free_places, semid, err;
    key_t key;

    err = ipc_key_from_path(path, parse_proj_id_option("PROJ", proj), &key);
    if (err != 0)
        die_errnum(err, "ftok %s", path);
    semid = php_set_join(key, mode, places, timeout_ms, &made, &users, &free_places);
    printf("door: semaphore 0 of set %d (key 0x%08lx), %s; %d user%s, %d free place%s\n",
           semid, (unsigned long)key, made ? "made here" : "found there", users,
           users == 1 ? "" : "s", free_places, free_places == 1 ? "" : "s");
    return semid;
}
