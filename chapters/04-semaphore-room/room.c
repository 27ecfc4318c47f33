/* room.c - a room that holds K people, and the semaphore at its door.
 *
 * Lesson: "look whether there is room, then step in" is two steps, and
 * others can step in between them.  A semaphore makes them one: its wait
 * takes a place or sleeps until one is free, so a room guarded by a System V
 * or a POSIX named semaphore never holds more than --capacity people.
 * SEM_UNDO makes the kernel give back the place of a worker that dies
 * inside; without it the others wait forever, so here they wait with a
 * timeout and say so.
 *
 * Run:  room                                         # the story: one at a time
 *       room --lock none --window 1                  # over capacity, every run
 *       room --capacity 2 --workers 4 --lock posix-sem
 *       room --crash                                 # SEM_UNDO opens the room again
 *       room --crash --no-undo --timeout-ms 200      # the others give up, clearly
 *       room --key somefile A                        # the door of PHP's sem_get
 *
 * You should see who wants in, who is in and who left, then the verdict:
 *       worker 0 wants in
 *       worker 0 is in (1 inside)
 *       worker 0 left (0 inside)
 *       ...
 *       result: capacity=1 max_inside=1 over=0 gave_up=0 ms=3.456
 * With --lock none --window 1, every worker is inside at once: max_inside
 * equals --workers, above the capacity.
 *
 * --key PATH PROJ puts the door in the set of ftok(PATH, PROJ), laid out
 * and joined as PHP's sem_get() does it (door/php_set.h), so a PHP script
 * and these workers queue at the same door.
 *
 * Why --window: left alone, two workers rarely look at the same moment.
 * The window (below) makes everyone look before anyone steps in: without
 * a lock all go in together, for any numbers, pinned (--pin) or not.
 */
#define _GNU_SOURCE   /* semtimedop(): a Linux extension, for the timed wait */
#include "ipclab.h"
#include "door/php_set.h"
#include "door/shared.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>

enum lock_kind { LOCK_NONE, LOCK_SYSV_SEM, LOCK_POSIX_SEM };
static const char *const lock_names[] = { "none", "sysv-sem", "posix-sem", NULL };

static long workers = 3, capacity = 1, visits = 1, stay_us = 1000;
static long window = 0, timeout_ms = 1000;
static int lock = LOCK_SYSV_SEM;
static bool pin = false, crash = false, no_undo = false;
static const char *key_path, *mode_text;

#define GAVE_UP_STATUS 3    /* a worker that stopped waiting; see workers.h */
/* The most work a run may ask for: every visit prints three lines, and
 * through a door for K the stays take turns. */
#define MAX_VISITS 100000L              /* --workers x --visits */
#define MAX_STAY_US 60000000LL          /* --workers x --visits x --stay-us / --capacity */

/* region: room */
/* The room's board, in shared memory.  Atomic, so that the count itself is
 * right whatever the door lets through: the board measures the door. */
struct room {
    atomic_int inside;          /* people in the room now */
    atomic_int max_inside;      /* the most ever in it at once */
    atomic_int gave_up;         /* workers that stopped waiting */
    atomic_int crash_claimed;   /* --crash: the first one in dies */
    atomic_int outside;         /* the window: workers on their way to the door */
    atomic_int between;         /* past the door, not in yet (others: in or done) */
};
/* end region: room */


static struct room *room;
static int semid = -1;                      /* --lock sysv-sem */
static char sem_name[IPC_NAME_SIZE];        /* --lock posix-sem */

/* semctl's fourth argument: the caller must declare it (SUSv4, XSI). */
union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

/* region: make_door */
static void make_door(const char *proj, unsigned mode)
{
    sigset_t saved;

    if (key_path != NULL) {                 /* PHP's layout: see door/php_set.h */
        semid = php_set_door(key_path, proj, mode, (int)capacity, timeout_ms);
    } else if (lock == LOCK_SYSV_SEM) {
        cleanup_block_signals(&saved);      /* create + register: one step */
        semid = semget(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL | 0600);
        if (semid >= 0)
            cleanup_check(cleanup_add_sysv_sem(semid), "semaphore");
        cleanup_unblock_signals(&saved);
        if (semid < 0)
            die("semget");
        /* The value is the number of free places. */
        if (semctl(semid, 0, SETVAL, (union semun){ .val = (int)capacity }) != 0)
            die("semctl SETVAL");
    } else if (lock == LOCK_POSIX_SEM) {
        ipc_name_make_or_die(sem_name, sizeof sem_name, "room");
        cleanup_block_signals(&saved);
        sem_t *sem = sem_open(sem_name, O_CREAT | O_EXCL, 0600, (unsigned)capacity);
        if (sem != SEM_FAILED)
            cleanup_check(cleanup_add_posix_sem(sem_name), sem_name);   /* sem_unlink at exit */
        cleanup_unblock_signals(&saved);
        if (sem == SEM_FAILED)
            die("sem_open %s", sem_name);
        sem_close(sem);             /* each worker opens it by name */
    }
}
/* end region: make_door */

/* region: door */
/* Waits for a free place: 0, or ETIMEDOUT after --timeout-ms. */
static int door_wait(sem_t *sem)
{
    if (lock == LOCK_SYSV_SEM) {
        struct sembuf take = { .sem_num = 0, .sem_op = -1,
                               .sem_flg = no_undo ? 0 : SEM_UNDO };
        struct timespec limit = { timeout_ms / 1000, timeout_ms % 1000 * 1000000 };
        /* The limit is relative; after EINTR it simply starts again. */
        while (semtimedop(semid, &take, 1, &limit) != 0) {
            if (errno == EAGAIN)
                return ETIMEDOUT;
            if (errno != EINTR)
                die("semtimedop");
        }
    } else if (lock == LOCK_POSIX_SEM) {
        struct timespec deadline;
        /* sem_timedwait wants an absolute time on the wall clock. */
        if (clock_gettime(CLOCK_REALTIME, &deadline) != 0)
            die("clock_gettime");
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += timeout_ms % 1000 * 1000000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
        while (sem_timedwait(sem, &deadline) != 0) {
            if (errno == ETIMEDOUT)
                return ETIMEDOUT;
            if (errno != EINTR)
                die("sem_timedwait");
        }
    } else {
        /* No lock: look through the door until there is a free place. */
        uint64_t give_up_at = monotonic_ns() + (uint64_t)timeout_ms * 1000000;
        while (atomic_load(&room->inside) >= capacity) {
            if (monotonic_ns() > give_up_at)
                return ETIMEDOUT;
            sched_yield();
        }
    }
    return 0;
}

static void door_leave(sem_t *sem)
{
    if (lock == LOCK_SYSV_SEM) {
        /* The same flag as the wait, so the undo adjustments cancel out. */
        struct sembuf give = { .sem_num = 0, .sem_op = +1,
                               .sem_flg = no_undo ? 0 : SEM_UNDO };
        while (semop(semid, &give, 1) != 0)
            if (errno != EINTR)
                die("semop");
    } else if (lock == LOCK_POSIX_SEM) {
        if (sem_post(sem) != 0)
            die("sem_post");
    }
}

/* Is every place taken, as far as the door knows?  The window asks. */
static bool door_shut(sem_t *sem)
{
    int free_places;

    if (lock == LOCK_SYSV_SEM) {
        free_places = semctl(semid, 0, GETVAL);
        if (free_places < 0)
            die("semctl GETVAL");
    } else if (lock == LOCK_POSIX_SEM) {
        if (sem_getvalue(sem, &free_places) != 0)   /* may be negative: waiters */
            die("sem_getvalue");
    } else {
        free_places = (int)capacity - atomic_load(&room->inside);  /* what the look reads */
    }
    return free_places <= 0;
}
/* end region: door */

/* region: window */
/* The window, on the visits it is open: a worker that got past the door
 * waits until nobody is still on the way to it (everyone else has looked,
 * or is inside, or done) or the door is shut; once in, it waits until
 * nobody stands between the door and the room.  Without a lock, on a
 * first visit, everyone then looks at an empty room and everyone goes in
 * before anyone leaves, whatever the scheduler does.  With a semaphore the
 * same rules hold, but only --capacity get past the door: the rest wait at
 * it, the door is shut, and the window lets the ones inside go on. */
static bool nobody_on_the_way(sem_t *sem)
{
    return atomic_load(&room->outside) == 0 || door_shut(sem);
}

static bool nobody_at_the_door(sem_t *sem)
{
    (void)sem;
    return atomic_load(&room->between) == 0;
}

static void hold(int index, bool (*until)(sem_t *), sem_t *sem)
{
    uint64_t give_up_at = monotonic_ns() + (uint64_t)timeout_ms * 1000000;

    while (!until(sem)) {
        if (monotonic_ns() > give_up_at) {   /* a worker died outside the room */
            printf("worker %d gave up after waiting %ld ms at the window\n",
                   index, timeout_ms);
            atomic_fetch_add(&room->gave_up, 1);
            exit(GAVE_UP_STATUS);
        }
        sched_yield();
    }
}
/* end region: window */

static int step_in(void)
{
    int now = atomic_fetch_add(&room->inside, 1) + 1;
    int max = atomic_load(&room->max_inside);

    while (now > max && !atomic_compare_exchange_weak(&room->max_inside, &max, now))
        ;
    return now;
}

static int step_out(void)
{
    return atomic_fetch_sub(&room->inside, 1) - 1;
}

static void stay_a_moment(void)
{
    struct timespec left = { stay_us / 1000000, stay_us % 1000000 * 1000 };

    while (nanosleep(&left, &left) != 0)
        if (errno != EINTR)
            die("nanosleep");
}

/* region: visit */
static int visit_room(int index, void *arg)
{
    sem_t *sem = NULL;

    (void)arg;
    if (lock == LOCK_POSIX_SEM) {
        /* A forked child could use the parent's handle; opening by name is
         * what any other process would do, and works the same. */
        sem = sem_open(sem_name, 0);
        if (sem == SEM_FAILED)
            die("sem_open %s", sem_name);
    }
    for (long v = 0; v < visits; v++) {
        bool held = window > 0 && v % window == 0;   /* the window is open */

        printf("worker %d wants in\n", index);
        if (door_wait(sem) != 0) {
            printf("worker %d gave up after waiting %ld ms: nobody came out\n",
                   index, timeout_ms);
            atomic_fetch_add(&room->gave_up, 1);
            atomic_fetch_sub(&room->outside, 1);    /* off the roll: done */
            return GAVE_UP_STATUS;
        }
        /* Counted in both for a moment, so never in neither. */
        atomic_fetch_add(&room->between, 1);
        atomic_fetch_sub(&room->outside, 1);
        if (held)
            hold(index, nobody_on_the_way, sem);    /* between the look and the step */
        int now = step_in();
        atomic_fetch_sub(&room->between, 1);
        printf("worker %d is in (%d inside%s)\n", index, now,
               now > capacity ? ", over capacity!" : "");
        if (crash && atomic_exchange(&room->crash_claimed, 1) == 0) {
            printf("worker %d dies in the room, holding its place\n", index);
            /* The board is ours, not the kernel's: nothing undoes it, so
             * the dying worker wipes its name off first.  Its place at the
             * semaphore is what this run is about. */
            step_out();
            raise(SIGKILL);
        }
        if (held)
            hold(index, nobody_at_the_door, sem);   /* all let through are in */
        stay_a_moment();
        if (v + 1 < visits)
            atomic_fetch_add(&room->outside, 1);    /* on the way back to the door */
        now = step_out();
        printf("worker %d left (%d inside)\n", index, now);
        door_leave(sem);   /* only now: the next one in must not find us counted */
    }
    if (sem != NULL)
        sem_close(sem);
    return 0;
}
/* end region: visit */

static const struct cli_option options[] = {
    CLI_OPTION_LONG("workers", &workers, 1, 64, "N", "worker processes"),
    CLI_OPTION_LONG("capacity", &capacity, 1, 64, "K", "places in the room"),
    CLI_OPTION_LONG("visits", &visits, 1, 1000000, "N", "visits per worker"),
    CLI_OPTION_LONG("stay-us", &stay_us, 0, 1000000, "US", "time inside, microseconds"),
    CLI_OPTION_CHOICE("lock", &lock, lock_names, "KIND", "what guards the door"),
    CLI_OPTION_FLAG("no-undo", &no_undo, "sysv-sem without SEM_UNDO"),
    CLI_OPTION_FLAG("crash", &crash, "the first worker in is killed inside"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 60000, "MS",
                    "longest wait at the door before giving up"),
    CLI_OPTION_LONG("window", &window, 0, 1000000, "N",
                    "hold the door open on the first and every N-th visit, 0: never"),
    CLI_OPTION_FLAG("pin", &pin, "run every worker on one CPU"),
    CLI_OPTION_STRING("key", &key_path, "PATH",
                      "the door is the set of ftok(PATH, PROJ), as PHP's sem_get makes it"),
    CLI_OPTION_STRING("mode", &mode_text, "MODE", "--key: mode of a set it makes (default 600)"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Workers enter a room, stay a moment and leave; a semaphore at the\n"
               "door admits --capacity at a time.  Reports the most seen inside.",
    .options = options,
    .operands = "[PROJ]",
    .operands_min = 0,
    .operands_max = 1,
    .details = "With --key PATH, PROJ (1-255 or one character) follows the options.\n"
               "Without a lock, --window 1 overfills the room in every run (the\n"
               "window waits until every worker has looked before anyone steps in);\n"
               "with a semaphore, never.  --crash kills the first worker inside:\n"
               "SEM_UNDO gives its place back, otherwise the others time out and\n"
               "exit with status 3.",
};

int main(int argc, char **argv)
{
    uint64_t elapsed;
    int cpu = -1, failed, gave_up, max_inside, unexpected;
    int first = cli_parse(&cli, argc, argv);
    unsigned mode = 0600;

    if (key_path == NULL && argc - first > 0)
        usage_error("unexpected argument '%s'", argv[first]);
    if (key_path != NULL && argc - first != 1)
        usage_error("--key PATH needs PROJ after the options");
    if (key_path != NULL && lock != LOCK_SYSV_SEM)
        usage_error("--key names a System V set: --lock sysv-sem only");
    if (mode_text != NULL && key_path == NULL)
        usage_error("--mode applies to --key only (a private set is always 0600)");
    if (mode_text != NULL)
        mode = parse_mode_option("--mode", mode_text);

    if (no_undo && lock != LOCK_SYSV_SEM)
        usage_error("--no-undo applies to --lock sysv-sem only");
    if (workers * visits > MAX_VISITS)
        usage_error("--workers x --visits is %ld visits; at most %ld", workers * visits,
                    MAX_VISITS);
    if ((long long)workers * visits * stay_us / capacity > MAX_STAY_US)
        usage_error("--workers x --visits x --stay-us / --capacity is %lld s of stays "
                    "through the door; at most %lld s",
                    (long long)workers * visits * stay_us / capacity / 1000000,
                    MAX_STAY_US / 1000000);
    if (pin)
        cpu = pin_to_one_cpu_or_die();      /* the workers inherit it */
    room = shared_segment(sizeof *room);   /* zero-filled: an empty room */
    atomic_store(&room->outside, (int)workers);   /* all on their way to the door */
    make_door(key_path != NULL ? argv[first] : NULL, mode);

    printf("%ld workers, %ld visit%s each, room for %ld, lock %s%s%s, window %ld, ",
           workers, visits, visits == 1 ? "" : "s", capacity, lock_names[lock],
           lock == LOCK_SYSV_SEM ? (no_undo ? " without SEM_UNDO" : " with SEM_UNDO") : "",
           lock == LOCK_POSIX_SEM ? " (named, sem_open)" : "", window);
    if (pin)
        printf("all on CPU %d\n", cpu);
    else
        printf("not pinned\n");

    failed = workers_run((int)workers, visit_room, NULL, &elapsed);
    gave_up = atomic_load(&room->gave_up);
    max_inside = atomic_load(&room->max_inside);
    if (crash)
        room_describe_crash(gave_up, lock == LOCK_NONE ? "none" : lock == LOCK_POSIX_SEM
                            ? "posix-sem" : no_undo ? "no-undo" : "undo", capacity);
    if (gave_up > 0)
        printf("a worker that gives up exits with status %d: standard error lists %s\n",
               GAVE_UP_STATUS, gave_up == 1 ? "it" : "them");
    printf("result: capacity=%ld max_inside=%d over=%ld gave_up=%d ms=%.3f\n",
           capacity, max_inside, max_inside > capacity ? max_inside - capacity : 0,
           gave_up, ns_to_ms(elapsed));

    /* Success: every worker made every visit, except the one --crash kills. */
    unexpected = failed - gave_up - (crash ? 1 : 0);
    return gave_up == 0 && unexpected == 0 ? 0 : 1;
}
