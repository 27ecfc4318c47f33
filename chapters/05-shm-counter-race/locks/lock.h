/* lock.h - the locks of chapter 5, one interface for shm_counter and lock_cost.
 *
 * A lock is taken before the load of the shared counter and given back
 * after the store.  Four kinds work between processes:
 *   sysv-sem   a System V semaphore, a counter in the kernel (semop, SEM_UNDO);
 *   posix-sem  an unnamed POSIX semaphore in the shared segment (sem_init, 1);
 *   mutex      a pthread mutex in the segment, PTHREAD_PROCESS_SHARED;
 *   atomic     no lock: the caller's compare-and-swap loop makes each update.
 * With none, lock_acquire() and lock_release() do nothing: the race.
 */
#ifndef CH05_LOCK_H
#define CH05_LOCK_H

#include <pthread.h>
#include <semaphore.h>

enum lock_kind { LOCK_NONE, LOCK_SYSV_SEM, LOCK_POSIX_SEM, LOCK_MUTEX, LOCK_ATOMIC, LOCK_KINDS };

/* "none", "sysv-sem", "posix-sem", "mutex", "atomic", then NULL: the
 * choices of a --lock option, in the order of enum lock_kind. */
extern const char *const lock_names[];

/* What a lock keeps in the shared segment (posix-sem and mutex); put it in
 * the memory every worker maps, before fork. */
struct lock_shared {
    sem_t posix_sem;
    pthread_mutex_t mutex;
};

struct lock {
    int kind;                     /* enum lock_kind */
    struct lock_shared *in_shm;   /* posix-sem, mutex */
    int semid;                    /* sysv-sem: the set */
    unsigned short semnum;        /* and the semaphore in it */
};

/* How long a worker waits for the System V semaphore before it concludes
 * that nobody will give it back (a dead holder without SEM_UNDO); it then
 * says so and exits with LOCK_GAVE_UP_STATUS. */
#define LOCK_WAIT_LIMIT_S 10
#define LOCK_GAVE_UP_STATUS 3

/* Makes a lock of kind, free: for sysv-sem a private set of one semaphore
 * (registered for removal at exit), for posix-sem and mutex their object
 * in *in_shm.  Call it before the workers are forked.  Dies on error. */
void lock_init(struct lock *lock, int kind, struct lock_shared *in_shm);

/* A sysv-sem lock on semaphore semnum of a set someone else made and set
 * up (PHP's sem_get set: chapter 14); nothing is made or removed. */
void lock_init_sysv_set(struct lock *lock, int semid, unsigned short semnum);

void lock_acquire(const struct lock *lock);
void lock_release(const struct lock *lock);

#endif
