/* php_set.h - join a System V semaphore set laid out as PHP's sem_get() lays it out.
 *
 * PHP's sysvsem extension (Debian's php8.2, checked with ipcs -s -i) makes
 * a set of 3 semaphores under the key:
 *   0  the semaphore itself: its value is the free places (max_acquire);
 *      sem_acquire() is -1, sem_release() +1, both with SEM_UNDO;
 *   1  how many processes have the set open: each sem_get() adds 1 with
 *      SEM_UNDO, so the kernel takes it back when the process exits;
 *   2  a lock around the setup: wait for 0 and add 1 (one semop), count
 *      ourselves in 1, then set 0 to max_acquire if we are the only user,
 *      then subtract 1 again.
 * A C program that follows the same steps shares the room with PHP: the
 * first user sets the places, the others take the set as they find it.
 * One that skips them is counted by nobody, and the next sem_get() that
 * thinks it is alone sets semaphore 0 back to max_acquire: a second
 * person in a room for one.
 */
#ifndef ROOM_PHP_SET_H
#define ROOM_PHP_SET_H

#include <stdbool.h>
#include <sys/types.h>

#define PHP_SEM_DOOR 0       /* the semaphore */
#define PHP_SEM_USAGE 1      /* processes that have the set open */
#define PHP_SEM_SETUP 2      /* held while one of them sets it up */

/* Opens the set of key (making it, mode, if there is none; a set we make
 * is registered for removal at exit), counts this process as a user and,
 * if it is the only one, sets the door to places.  *made says whether we
 * made it, *users how many use it now, *free_places the door's value.
 * Waits at most timeout_ms for another process's setup.  Returns the set's
 * id; dies on error, naming the call. */
int php_set_join(key_t key, unsigned mode, int places, long timeout_ms, bool *made,
                 int *users, int *free_places);

/* For a program's --key PATH PROJ: ftok (PROJ: 1-255 or one character),
 * then php_set_join(), then one line saying what it found:
 *   door: semaphore 0 of set 3 (key 0x41002731), found there; 2 users, 0 free places
 * Returns the set's id; dies on error. */
int php_set_door(const char *path, const char *proj, unsigned mode, int places,
                 long timeout_ms);

#endif
