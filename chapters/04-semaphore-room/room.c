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
 * a lock all go in together, for any numbers, pinned (--pin) or not. *
 * Files: this one is the workers' visits, the window and the options; the
 * door (the semaphore: door/door.c) and the board (who is inside:
 * door/board.c) are in door/.
 */
#include "ipclab.h"
#include "door/board.h"
#include "door/door.h"

#include <errno.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

static struct board *board;             /* door/board.h */
static struct door door = { .semid = -1 };   /* door/door.h */

/* region: window */
/* The window, on the visits it is open: a worker that got past the door
 * waits until nobody is still on the way to it (everyone else has looked,
 * or is inside, or done) or the door is shut; once in, it waits until
 * nobody stands between the door and the room.  Without a lock, on a
 * first visit, everyone then looks at an empty room and everyone goes in
 * before anyone leaves, whatever the scheduler does.  With a semaphore the
 * same rules hold, but only --capacity get past the door: the rest wait at
 * it, the door is shut, and the window lets the ones inside go on. */
static bool nobody_on_the_way(void)
{
    return atomic_load(&board->outside) == 0 || door_shut(&door);
}

static bool nobody_at_the_door(void)
{
    return atomic_load(&board->between) == 0;
}

static void hold(int index, bool (*until)(void))
{
    uint64_t give_up_at = monotonic_ns() + (uint64_t)timeout_ms * 1000000;

    while (!until()) {
        if (monotonic_ns() > give_up_at) {   /* a worker died outside the room */
            printf("worker %d gave up after waiting %ld ms at the window\n",
                   index, timeout_ms);
            atomic_fetch_add(&board->gave_up, 1);
            exit(GAVE_UP_STATUS);
        }
        sched_yield();
    }
}
/* end region: window */

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
    (void)arg;
    if (door.lock == LOCK_POSIX_SEM) {
        /* A forked child could use the parent's handle; opening by name is
         * what any other process would do, and works the same. */
        door.sem = sem_open(door.sem_name, 0);
        if (door.sem == SEM_FAILED)
            die("sem_open %s", door.sem_name);
    }
    for (long v = 0; v < visits; v++) {
        bool held = window > 0 && v % window == 0;   /* the window is open */

        printf("worker %d wants in\n", index);
        if (door_wait(&door) != 0) {
            printf("worker %d gave up after waiting %ld ms: nobody came out\n",
                   index, timeout_ms);
            atomic_fetch_add(&board->gave_up, 1);
            atomic_fetch_sub(&board->outside, 1);    /* off the roll: done */
            return GAVE_UP_STATUS;
        }
        /* Counted in both for a moment, so never in neither. */
        atomic_fetch_add(&board->between, 1);
        atomic_fetch_sub(&board->outside, 1);
        if (held)
            hold(index, nobody_on_the_way);          /* between the look and the step */
        int now = board_step_in(board);
        atomic_fetch_sub(&board->between, 1);
        printf("worker %d is in (%d inside%s)\n", index, now,
               now > capacity ? ", over capacity!" : "");
        if (crash && atomic_exchange(&board->crash_claimed, 1) == 0) {
            printf("worker %d dies in the room, holding its place\n", index);
            /* The board is ours, not the kernel's: nothing undoes it, so
             * the dying worker wipes its name off first.  Its place at the
             * semaphore is what this run is about. */
            board_step_out(board);
            raise(SIGKILL);
        }
        if (held)
            hold(index, nobody_at_the_door);         /* all let through are in */
        stay_a_moment();
        if (v + 1 < visits)
            atomic_fetch_add(&board->outside, 1);    /* on the way back to the door */
        now = board_step_out(board);
        printf("worker %d left (%d inside)\n", index, now);
        door_leave(&door);   /* only now: the next one in must not find us counted */
    }
    if (door.sem != NULL)
        sem_close(door.sem);
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
    board = board_make((int)workers);      /* an empty room, all on their way */
    door.lock = lock;
    door.undo = !no_undo;
    door.places = capacity;
    door.timeout_ms = timeout_ms;
    door.inside = &board->inside;          /* what --lock none looks at */
    make_door(&door, key_path, key_path != NULL ? argv[first] : NULL, mode);

    printf("%ld workers, %ld visit%s each, room for %ld, lock %s%s%s, window %ld, ",
           workers, visits, visits == 1 ? "" : "s", capacity, lock_names[lock],
           lock == LOCK_SYSV_SEM ? (no_undo ? " without SEM_UNDO" : " with SEM_UNDO") : "",
           lock == LOCK_POSIX_SEM ? " (named, sem_open)" : "", window);
    if (pin)
        printf("all on CPU %d\n", cpu);
    else
        printf("not pinned\n");

    failed = workers_run((int)workers, visit_room, NULL, &elapsed);
    gave_up = atomic_load(&board->gave_up);
    max_inside = atomic_load(&board->max_inside);
    if (crash)
        door_describe_crash(&door, gave_up);
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
