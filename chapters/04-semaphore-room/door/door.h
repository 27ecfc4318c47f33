/* door.h - the room's door: a System V or POSIX named semaphore, or none (see room.c).
 *
 * The door's value is the number of free places.  Its wait takes one, or
 * sleeps until one is free, and gives up after timeout_ms; leaving gives
 * the place back.  Without a lock the "door" only looks at the board's
 * count, which is the race this chapter is about.
 */
#ifndef ROOM_DOOR_H
#define ROOM_DOOR_H

#include "ipclab.h"

#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>

enum lock_kind { LOCK_NONE, LOCK_SYSV_SEM, LOCK_POSIX_SEM };
extern const char *const lock_names[];      /* by lock_kind, NULL last: for --lock */

struct door {
    int lock;                   /* enum lock_kind */
    bool undo;                  /* sysv-sem: SEM_UNDO on the wait and the post */
    long places;                /* --capacity: the door's first value */
    long timeout_ms;            /* the longest wait for a place */
    atomic_int *inside;         /* the board's count: what --lock none looks at */
    int semid;                  /* sysv-sem: the set, semaphore 0; -1 before */
    char sem_name[IPC_NAME_SIZE];   /* posix-sem: its name */
    sem_t *sem;                 /* posix-sem: this worker's handle (sem_open by name) */
};

/* Makes the door (nothing for LOCK_NONE), registered for removal at exit;
 * with key_path, joins PHP's set of ftok(key_path, proj) instead, made
 * with mode if there is none (door/php_set.h).  Dies on error. */
void make_door(struct door *door, const char *key_path, const char *proj, unsigned mode);

/* Waits for a free place: 0, or ETIMEDOUT after timeout_ms. */
int door_wait(struct door *door);

/* Gives the place back. */
void door_leave(struct door *door);

/* Is every place taken, as far as the door knows?  The window asks. */
bool door_shut(struct door *door);

/* What --crash did to the others, in one line, by the door they had:
 * gave_up of them stopped waiting. */
void door_describe_crash(const struct door *door, int gave_up);

#endif
