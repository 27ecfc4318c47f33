/* store_race.c - N writers put distinct keys into one store, with or
 * without its lock.
 *
 * Lesson: a put is "find a free slot" then "fill it".  Two writers that
 * both find the same free slot before either fills it write into the same
 * place, and one entry vanishes; the entry count, a load and a store too,
 * drifts from the slots.  The store's mutex held across both steps makes
 * every put count.  --lock is the only thing that changes.
 *
 * Run:  store_race --lock none  --pin --window 1   # entries lost, every run
 *       store_race --lock mutex --pin --window 1   # none lost, ever
 *
 * You should see one line describing the run, what the store's own check
 * says, then the verdict:
 *       result: expected=200 counted=101 lost=99 ms=0.812
 *
 * Why --pin and --window: as in chapter 05 (lib/race.h), all writers on one
 * CPU and a yield between finding the slot and claiming it make the next
 * writer run at exactly the wrong moment, every time.
 */
#include "store.h"

#include "ipclab.h"

#include <stdio.h>
#include <string.h>

static long procs = 2, keys = 100, window = 0;
static int lock = 1;
static bool pin = false;
static const char *const lock_names[] = { "none", "mutex", NULL };

static struct store store;

static int key_name(char *buf, size_t size, long worker, long i)
{
    return snprintf(buf, size, "w%ld-k%ld", worker, i);
}

/* region: worker */
static int put_my_keys(int index, void *arg)
{
    struct race_window w;
    char key[32], value[32];

    (void)arg;
    race_window_init(&w, window);
    store.window = &w;               /* this process's copy of the handle */
    for (long i = 0; i < keys; i++) {
        int klen = key_name(key, sizeof key, index, i);
        int vlen = snprintf(value, sizeof value, "value %ld of %d", i, index);
        if (store_put(&store, key, (size_t)klen, value, (size_t)vlen) != STORE_OK) {
            fprintf(stderr, "store_race: worker %d: the store was full at key %ld\n", index, i);
            return 1;
        }
    }
    return 0;
}
/* end region: worker */

/* Every key that should be there, with the value its writer gave it. */
static long count_present(void)
{
    char key[32], want[32];
    unsigned char got[STORE_VALUE_MAX];
    long present = 0;
    size_t len;

    for (long wkr = 0; wkr < procs; wkr++)
        for (long i = 0; i < keys; i++) {
            int klen = key_name(key, sizeof key, wkr, i);
            int vlen = snprintf(want, sizeof want, "value %ld of %ld", i, wkr);
            if (store_get(&store, key, (size_t)klen, got, &len) == STORE_OK &&
                len == (size_t)vlen && memcmp(got, want, len) == 0)
                present++;
        }
    return present;
}

static const struct cli_option options[] = {
    CLI_OPTION_LONG("procs", &procs, 1, 16, "N", "writer processes"),
    CLI_OPTION_LONG("keys", &keys, 1, 1000, "M", "distinct keys each writer puts"),
    CLI_OPTION_CHOICE("lock", &lock, lock_names, "KIND", "the store's mutex, or none"),
    CLI_OPTION_LONG("window", &window, 0, 1000, "N",
                    "yield between finding a slot and claiming it every N-th put, 0: never"),
    CLI_OPTION_FLAG("pin", &pin, "run every writer on one CPU"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "N processes each put M distinct keys into one shared store,\n"
               "with or without its lock, and report how many entries were lost.",
    .options = options,
    .details = "Without the lock, --pin --window 1 loses entries in every run;\n"
               "with it, none.  procs x keys is at most 4096 (the store's limit).",
};

int main(int argc, char **argv)
{
    const char *problem;
    uint64_t elapsed;
    long present;
    int cpu = -1, failed;

    cli_parse(&cli, argc, argv);
    if (procs * keys > STORE_ENTRIES_MAX)
        usage_error("--procs x --keys is %ld, more than the %d entries a store holds",
                    procs * keys, STORE_ENTRIES_MAX);
    if (pin)
        cpu = pin_to_one_cpu_or_die();
    store_create_private(&store, (uint32_t)(procs * keys));
    printf("%ld processes x %ld keys, lock %s, window %ld, ", procs, keys,
           lock_names[lock], window);
    if (pin)
        printf("all on CPU %d\n", cpu);
    else
        printf("not pinned\n");

    store.no_lock = lock == 0;
    failed = workers_run((int)procs, put_my_keys, NULL, &elapsed);
    store.no_lock = false;           /* the checks below run alone */
    present = count_present();
    problem = store_check(&store);
    printf("check: %s%s\n", problem ? "inconsistent: " : "consistent", problem ? problem : "");
    race_print_result(procs * keys, present, elapsed);
    store_detach(&store);
    /* With the lock, a lost entry or a failed check is a bug: exit 1. */
    if (lock != 0 && (present != procs * keys || problem != NULL))
        return 1;
    return failed == 0 || lock == 0 ? 0 : 1;
}
