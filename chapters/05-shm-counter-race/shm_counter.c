/* shm_counter.c - lost updates in shared memory, and the locks that stop them.
 *
 * Lesson: "counter = counter + 1" is a load and a store.  When N processes
 * share the counter and one stores between another's load and store, an
 * update is lost.  A lock held across the pair (a System V semaphore, a POSIX
 * semaphore, a process-shared mutex) or an atomic compare-and-swap makes
 * every update count.  --lock is the only thing that changes between them.
 *
 * Run:  shm_counter --lock none  --pin --window 100   # thousands lost, every run
 *       shm_counter --lock mutex --pin --window 100   # none lost, ever
 *       shm_counter --lock sysv-sem --crash --procs 3     # SEM_UNDO: the others go on
 *       shm_counter --lock none --iters 1000000       # the natural race: sometimes
 *       shm_counter --lock sysv-sem --key somefile A  # the counter PHP's shmop sees
 *
 * You should see one line describing the run, the time the increments took
 * inside the workers (without fork and exit), then the verdict:
 *       work: ms=0.612 ns_per_increment=30.6 (inside the workers)
 *       result: expected=20000 counted=10100 lost=9900 ms=1.234
 * With --crash, worker 0 is killed holding the System V semaphore half-way;
 * SEM_UNDO gives the semaphore back, the others finish, and expected counts
 * only the increments worker 0 made before it died.
 *
 * --key PATH PROJ puts the counter (a long, the first 8 bytes) in the
 * System V segment of ftok(PATH, PROJ): one a PHP script made with
 * shmop_open() is joined, added to and left; one made here is removed at
 * exit.  With --lock sysv-sem the lock is then PHP's own: semaphore 0 of
 * the 3-semaphore set sem_get() makes under the same key, joined the way
 * sem_get() joins it (chapter 04's door/php_set.c), so PHP's children and
 * these workers can count at the same time and lose nothing.
 *
 * Why --pin and --window: left alone, the scheduler often runs the workers
 * one after the other, and the race shows in some runs but not others.
 * Pinned to one CPU, with a yield between load and store every --window
 * increments, the next worker always runs while the first holds a stale
 * value: without a lock the loss is certain, with one it is impossible.
 */
#include "ipclab.h"
#include "locks/lock.h"
#include "../04-semaphore-room/door/php_set.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

enum shm_kind { SHM_SYSV, SHM_POSIX };
static const char *const shm_names[] = { "sysv", "posix", NULL };

static long procs = 2, iters = 10000, window = 0;
static int lock_kind = LOCK_NONE, shm = SHM_SYSV;
static bool pin = false, crash = false;
static const char *key_path;
static key_t key = IPC_PRIVATE;

/* The most work a run may ask for (increments in all, and yields in all);
 * a System V semaphore is a system call per operation, so it gets fewer. */
#define MAX_INCREMENTS 100000000L
#define MAX_INCREMENTS_SYSV 10000000L
#define MAX_YIELDS 1000000L

/* How long --key waits for a PHP peer that is setting up its sem_get set. */
#define PHP_SETUP_WAIT_MS 10000

/* Everything the workers share lives in one segment. */
struct shared {
    volatile long counter;       /* volatile: one load and one store per pass */
    atomic_long atomic_counter;  /* --lock atomic counts here instead */
    struct lock_shared lock;     /* --lock posix-sem and mutex keep theirs here */
    long crashed_after;          /* --crash: increments worker 0 made first */
    uint64_t began[64], ended[64];   /* each worker's loop, on the monotonic clock */
};

_Static_assert(sizeof(struct shared) <= 4096, "a PHP peer makes a segment of 4096 bytes");

static struct shared *shared;
static struct lock lock;         /* locks/lock.c: what guards the increment */

/* --key: the segment is there already (a PHP peer's shmop_open).  Ours to
 * use, not to remove.  Returns its id, or -1 with errno set. */
static int join_segment(void)
{
    struct shmid_ds ds;
    int id = shmget(key, 0, 0);

    if (id >= 0 && shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_segsz < sizeof(struct shared))
        fatal("the segment of key 0x%08lx is %zu bytes; shm_counter needs %zu (4096 will do)",
              (unsigned long)key, (size_t)ds.shm_segsz, sizeof(struct shared));
    if (id >= 0)
        printf("joined the segment of key 0x%08lx (id %d): it stays when we exit\n",
               (unsigned long)key, id);
    return id;
}

/* region: map */
/* Both kinds of shared memory are removed as soon as they are mapped: the
 * memory lives on until the last process unmaps it, and nothing can be left
 * behind, however the program ends. */
static struct shared *map_shared(void)
{
    void *p;
    int handle = -1, err;
    sigset_t saved;

    if (shm == SHM_SYSV) {
        cleanup_block_signals(&saved);      /* create + register: one step */
        int id = shmget(key, sizeof(struct shared), IPC_CREAT | IPC_EXCL | 0600);
        if (id >= 0)
            handle = cleanup_check(cleanup_add_sysv_shm(id), "shm segment");
        cleanup_unblock_signals(&saved);
        if (id < 0 && errno == EEXIST && key != IPC_PRIVATE)
            id = join_segment();
        if (id < 0)
            die("shmget");
        p = shmat(id, NULL, 0);
        if (p == (void *)-1)
            die("shmat");
    } else {
        char name[IPC_NAME_SIZE];
        ipc_name_make_or_die(name, sizeof name, "counter");
        cleanup_block_signals(&saved);
        int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd >= 0)
            handle = cleanup_check(cleanup_add_posix_shm(name), name);
        cleanup_unblock_signals(&saved);
        if (fd < 0)
            die("shm_open %s", name);
        if (ftruncate(fd, sizeof(struct shared)) != 0)
            die("ftruncate");
        p = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            die("mmap");
        close(fd);
    }
    if (key != IPC_PRIVATE)            /* --key: the key must find it while we run */
        return p;
    err = cleanup_remove(handle);      /* shmctl(IPC_RMID) or shm_unlink() */
    if (err != 0)
        die_errnum(err, "removing the shared memory");
    return p;                          /* new memory is zero-filled */
}
/* end region: map */

/* region: php_lock */
/* --key with --lock sysv-sem: the lock is PHP's.  sem_get($key, 1) makes a
 * set of 3 under the key; semaphore 0 is the lock.  Join it as sem_get()
 * does (count us in semaphore 1 under the setup lock, semaphore 2), or the
 * next sem_get() that thinks it is alone sets the lock back to free. */
static void join_php_lock(void)
{
    bool made;
    int users, free_places;
    int semid = php_set_join(key, 0600, 1, PHP_SETUP_WAIT_MS, &made, &users, &free_places);

    lock_init_sysv_set(&lock, semid, PHP_SEM_DOOR);
    printf("lock: semaphore 0 of the sem_get set of key 0x%08lx (id %d), %s; %d user%s\n",
           (unsigned long)key, semid, made ? "made here: removed at exit" : "PHP's: it stays",
           users, users == 1 ? "" : "s");
}
/* end region: php_lock */

/* region: worker */
static int add_one_many_times(int index, void *arg)
{
    struct race_window window_state;

    (void)arg;
    race_window_init(&window_state, window);
    shared->began[index] = monotonic_ns();  /* the work only: no fork, no exit */
    for (long i = 0; i < iters; i++) {
        if (lock_kind == LOCK_ATOMIC) {
            /* No lock: the store succeeds only if nobody stored since our
             * load; otherwise v is refreshed and we try again. */
            long v = atomic_load(&shared->atomic_counter);
            race_window_pass(&window_state);
            while (!atomic_compare_exchange_weak(&shared->atomic_counter, &v, v + 1))
                ;
            continue;
        }
        lock_acquire(&lock);               /* LOCK_NONE: does nothing */
        if (crash && index == 0 && i == iters / 2) {
            shared->crashed_after = i;     /* the increments it made */
            raise(SIGKILL);                /* dies holding the semaphore */
        }
        long v = shared->counter;          /* load */
        race_window_pass(&window_state);   /* maybe let another worker run */
        shared->counter = v + 1;           /* store */
        lock_release(&lock);
    }
    shared->ended[index] = monotonic_ns();
    return 0;
}
/* end region: worker */

static const struct cli_option options[] = {
    CLI_OPTION_LONG("procs", &procs, 1, 64, "N", "worker processes"),
    CLI_OPTION_LONG("iters", &iters, 1, 100000000, "N", "increments per worker"),
    CLI_OPTION_CHOICE("lock", &lock_kind, lock_names, "KIND", "what guards the increment"),
    CLI_OPTION_CHOICE("shm", &shm, shm_names, "KIND", "shmget/shmat or shm_open/mmap"),
    CLI_OPTION_LONG("window", &window, 0, 1000000, "N",
                    "yield between load and store every N-th increment, 0: never"),
    CLI_OPTION_FLAG("pin", &pin, "run every worker on one CPU"),
    CLI_OPTION_FLAG("crash", &crash, "worker 0 is killed holding the semaphore, half-way"),
    CLI_OPTION_STRING("key", &key_path, "PATH", "the counter is in the segment of ftok(PATH,PROJ)"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "N processes add 1 to a shared counter, with or without a lock,\n"
               "and report how many updates were lost.",
    .options = options,
    .operands = "[PROJ]",
    .operands_min = 0,
    .operands_max = 1,
    .details = "--key PATH: PROJ (1-255 or one character) follows the options; the\n"
               "counter starts from what the segment holds (--lock none, or sysv-sem:\n"
               "semaphore 0 of PHP's sem_get set of the same key).\n"
               "Without a lock, --pin --window 100 loses updates in every run;\n"
               "with any lock, it never loses one.  --crash (--lock sysv-sem only):\n"
               "SEM_UNDO gives the dead worker's semaphore back and the others go on.",
};

/* The time from the first worker's first increment to the last worker's
 * last, and per increment: what the lock costs, without the forks and exits
 * that the result line's ms includes. */
static void print_work(void)
{
    uint64_t first = UINT64_MAX, last = 0;
    long made = 0;

    for (long w = 0; w < procs; w++) {
        if (shared->ended[w] == 0)
            continue;                      /* --crash: the dead worker */
        if (shared->began[w] < first)
            first = shared->began[w];
        if (shared->ended[w] > last)
            last = shared->ended[w];
        made += iters;
    }
    if (made > 0)
        printf("work: ms=%.3f ns_per_increment=%.1f (inside the workers)\n",
               ns_to_ms(last - first), (double)(last - first) / (double)made);
}

int main(int argc, char **argv)
{
    uint64_t elapsed;
    long counted, expected, start;
    int cpu = -1, failed, err;
    int first = cli_parse(&cli, argc, argv);

    if (key_path == NULL && argc - first > 0)
        usage_error("unexpected argument '%s'", argv[first]);
    if (key_path != NULL && argc - first != 1)
        usage_error("--key PATH needs PROJ after the options");
    if (key_path != NULL && (shm != SHM_SYSV || (lock_kind != LOCK_NONE && lock_kind != LOCK_SYSV_SEM)))
        usage_error("--key: --shm sysv, and --lock none or sysv-sem (a PHP peer has no other)");
    if (key_path != NULL &&
        (err = ipc_key_from_path(key_path, parse_proj_id_option("PROJ", argv[first]), &key)) != 0)
        die_errnum(err, "ftok %s", key_path);
    if (crash && (lock_kind != LOCK_SYSV_SEM || procs < 2))
        usage_error("--crash needs --lock sysv-sem and at least 2 --procs");
    if (procs * iters > (lock_kind == LOCK_SYSV_SEM ? MAX_INCREMENTS_SYSV : MAX_INCREMENTS))
        usage_error("--procs x --iters is %ld increments; at most %ld with --lock %s",
                    procs * iters,
                    lock_kind == LOCK_SYSV_SEM ? MAX_INCREMENTS_SYSV : MAX_INCREMENTS,
                    lock_names[lock_kind]);
    if (window > 0 && procs * iters / window > MAX_YIELDS)
        usage_error("--procs x --iters / --window is %ld yields; at most %ld",
                    procs * iters / window, MAX_YIELDS);
    if (pin)
        cpu = pin_to_one_cpu_or_die();      /* the workers inherit it */
    shared = map_shared();
    start = shared->counter;           /* 0, unless a peer's segment holds more */
    shared->crashed_after = 0;         /* a joined segment holds an earlier run's */
    memset(shared->began, 0, sizeof shared->began);
    memset(shared->ended, 0, sizeof shared->ended);
    if (key != IPC_PRIVATE && lock_kind == LOCK_SYSV_SEM)
        join_php_lock();
    else
        lock_init(&lock, lock_kind, &shared->lock);

    printf("%ld processes x %ld increments, lock %s, %s shared memory, window %ld, ",
           procs, iters, lock_names[lock_kind], shm_names[shm], window);
    if (pin)
        printf("all on CPU %d\n", cpu);
    else
        printf("not pinned\n");

    failed = workers_run((int)procs, add_one_many_times, NULL, &elapsed);
    counted = lock_kind == LOCK_ATOMIC ? atomic_load(&shared->atomic_counter)
                                  : shared->counter - start;
    expected = procs * iters;
    if (key != IPC_PRIVATE)
        printf("the counter in the segment went from %ld to %ld\n", start, shared->counter);
    if (key != IPC_PRIVATE && counted > expected)   /* so lost below is negative */
        printf("that is %ld more than our workers added: another process (a PHP peer?)\n"
               "added to it at the same time; only the sum of every side's increments\n"
               "says whether updates were lost\n", counted - expected);
    if (crash) {
        /* The dead worker's missing increments were never made, not lost. */
        expected -= iters - shared->crashed_after;
        printf("worker 0 was killed after %ld increments, holding the semaphore;\n"
               "%s\n", shared->crashed_after, failed == 1
               ? "SEM_UNDO gave it back and the others finished their increments"
               : "the others did not finish");
    }
    print_work();
    race_print_result(expected, counted, elapsed);
    return failed == (crash ? 1 : 0) ? 0 : 1;
}
