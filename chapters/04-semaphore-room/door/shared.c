/* shared.c - the room's board in a System V segment of its own, and the crash report. */
#include "ipclab.h"
#include "shared.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

/* A System V segment, removed at once: it lives until the last detach, so
 * nothing is left behind however the program ends. */
void *shared_segment(size_t size)
{
    sigset_t saved;
    int id, handle = -1, err;
    void *p;

    cleanup_block_signals(&saved);          /* create + register: one step */
    id = shmget(IPC_PRIVATE, size, IPC_CREAT | IPC_EXCL | 0600);
    if (id >= 0)
        handle = cleanup_check(cleanup_add_sysv_shm(id), "shm segment");
    cleanup_unblock_signals(&saved);
    if (id < 0)
        die("shmget");
    p = shmat(id, NULL, 0);
    if (p == (void *)-1)
        die("shmat");
    err = cleanup_remove(handle);           /* shmctl(IPC_RMID) */
    if (err != 0)
        die_errnum(err, "shmctl IPC_RMID");
    return p;                               /* zero-filled: an empty room */
}


void room_describe_crash(int gave_up, const char *lock, long capacity)
{
    if (gave_up > 0)
        printf("%d worker%s gave up: the dead worker's place was never given back (%s)\n",
               gave_up, gave_up == 1 ? "" : "s",
               strcmp(lock, "posix-sem") == 0 ? "POSIX semaphores have no undo" : "no SEM_UNDO");
    else if (strcmp(lock, "undo") == 0)
        printf("the others got in: SEM_UNDO gave the dead worker's place back\n");
    else if (strcmp(lock, "none") == 0)
        printf("the others got in: without a lock there was no place to give back\n");
    else
        printf("the others got in through the %ld place%s left: the dead worker's is lost\n",
               capacity - 1, capacity == 2 ? "" : "s");
}
