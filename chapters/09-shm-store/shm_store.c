/* shm_store.c - values that outlive the process, in one shared segment.
 *
 * Lesson: a shared-memory segment is a kernel object, not part of a
 * process: values put in it stay after the program exits, until someone
 * removes the segment.  Each run attaches, does one thing under a robust
 * process-shared mutex, and detaches.  The segment starts with a header
 * (magic, layout version, size) so a run never trusts a segment that is
 * not a store, is of another version, or is cut short.
 *
 * Run:  key=$(mktemp)          # any file you own names the store
 *       shm_store --key "$key" A create
 *       shm_store --key "$key" A put greeting 'hello, world'
 *       shm_store --key "$key" A get greeting
 *       shm_store --key "$key" A stat
 *       shm_store --key "$key" A destroy
 *
 * You should see "created a store of 64 entries ...", "stored 'greeting'
 * (12 bytes)", then hello, world, the store's counts, and "removed the store".
 * A missing key, a full store or a value too long: one line, exit status 1.
 */
#include "store.h"

#include "ipclab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *posix_name, *key_path, *mode_text;
static long entries = 64, hold_ms = 0;

static const struct cli_option options[] = {
    CLI_OPTION_STRING("key", &key_path, "PATH", "System V segment of ftok(PATH, PROJ); PROJ is the first operand"),
    CLI_OPTION_STRING("posix", &posix_name, "NAME", "POSIX shared memory /NAME instead"),
    CLI_OPTION_STRING("mode", &mode_text, "MODE", "create: permission bits in octal (default 600)"),
    CLI_OPTION_LONG("entries", &entries, 1, STORE_ENTRIES_MAX, "N", "create: how many entries fit"),
    CLI_OPTION_LONG("hold-ms", &hold_ms, 0, 60000, "MS",
                    "put: hold the lock mid-write this long (to kill a writer there)"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Keep values in one shared-memory segment that outlives the process.",
    .options = options,
    .operands = "[PROJ] COMMAND [KEY [VALUE]]",
    .operands_min = 1,
    .operands_max = 4,
    .details = "Commands: create, put KEY [VALUE] (without VALUE: read from stdin),\n"
               "get KEY, del KEY, list, stat, check, destroy.  The options come first;\n"
               "with --key, PROJ (1-255 or one character, as PHP's ftok takes) follows.\n"
               "Keys: 1-64 bytes, no newline.  Values: up to 4096 bytes, any bytes.\n"
               "Exit status: 0 done, 1 the store said no (missing key, full, too long,\n"
               "not a store), 2 a bad command line.",
};

/* Limits are the store's answer, not a usage mistake: exit status 1. */
static void check_key(const char *key)
{
    size_t len = strlen(key);

    if (len == 0)
        fatal("the key is empty: a key has 1 to %d bytes", STORE_KEY_MAX);
    if (len > STORE_KEY_MAX)
        fatal("the key is %zu bytes, more than the %d a key may have", len, STORE_KEY_MAX);
    if (strchr(key, '\n') != NULL)
        fatal("the key holds a newline, which list could not show");
}

/* region: value */
static size_t value_from_stdin(unsigned char *buf)
{
    ssize_t n;

    if (isatty(STDIN_FILENO))
        usage_error("put KEY without VALUE reads the value from stdin, which is a terminal");
    n = read_full(STDIN_FILENO, buf, STORE_VALUE_MAX + 1);   /* one more: too long? */
    if (n < 0)
        die("read");
    if (n > STORE_VALUE_MAX)
        fatal("the value is more than %d bytes, the most an entry holds", STORE_VALUE_MAX);
    return (size_t)n;
}
/* end region: value */

static void describe_store(const struct store *s)
{
    if (posix_name != NULL)
        printf("POSIX shared memory %s", posix_name);
    else
        printf("System V shared memory, key 0x%08x", (unsigned)s->key);
    printf(", %llu bytes, mode %04o", (unsigned long long)s->h->size, s->mode);
}

static int run_command(struct store *s, const char *cmd, char **args, int nargs)
{
    static unsigned char value[STORE_VALUE_MAX + 1];
    size_t len;

    if (strcmp(cmd, "put") == 0) {
        len = nargs == 2 ? strlen(args[1]) : value_from_stdin(value);
        if (nargs == 2) {
            if (len > STORE_VALUE_MAX)
                fatal("the value is %zu bytes, more than the %d an entry holds", len, STORE_VALUE_MAX);
            memcpy(value, args[1], len);
        }
        s->hold_ms = hold_ms;
        if (store_put(s, args[0], strlen(args[0]), value, len) == STORE_FULL)
            fatal("the store is full (%ld entries): nothing was written; del a key first",
                  (long)s->h->capacity - 1);
        printf("stored '%s' (%zu byte%s)\n", args[0], len, len == 1 ? "" : "s");
    } else if (strcmp(cmd, "get") == 0) {
        if (store_get(s, args[0], strlen(args[0]), value, &len) != STORE_OK)
            fatal("no key '%s' in the store", args[0]);
        write_full_or_die(STDOUT_FILENO, value, len);   /* the exact bytes */
    } else if (strcmp(cmd, "del") == 0) {
        if (store_del(s, args[0], strlen(args[0])) != STORE_OK)
            fatal("no key '%s' in the store", args[0]);
        printf("deleted '%s'\n", args[0]);
    } else if (strcmp(cmd, "list") == 0) {
        char **keys;
        size_t n = store_keys(s, &keys);
        for (size_t i = 0; i < n; i++) {
            printf("%s\n", keys[i]);
            free(keys[i]);
        }
        free(keys);
    } else if (strcmp(cmd, "stat") == 0) {
        struct store_stats st;
        store_stats(s, &st);
        printf("store: ");
        describe_store(s);
        printf(", layout version %u\n", (unsigned)s->h->version);
        printf("entries: %u of %u\n", (unsigned)st.entries, (unsigned)st.max_entries);
        printf("bytes used: %llu (keys and values)\n", (unsigned long long)st.bytes_used);
        printf("free: %u entries of up to %d bytes\n",
               (unsigned)(st.max_entries - st.entries), STORE_VALUE_MAX);
    } else {                                            /* check */
        const char *problem = store_check(s);
        if (problem != NULL)
            fatal("the store is inconsistent: %s", problem);
        printf("the store is consistent: %u entries\n", (unsigned)s->h->count);
    }
    return 0;
}

static const char *const commands[] = { "create", "put", "get", "del", "list", "stat",
                                        "check", "destroy", NULL };
static const int min_args[] = { 0, 1, 1, 1, 0, 0, 0, 0 };
static const int max_args[] = { 0, 2, 1, 1, 0, 0, 0, 0 };

int main(int argc, char **argv)
{
    int first = cli_parse(&cli, argc, argv), nargs, c;
    struct store_name name = { .posix = posix_name, .path = key_path };
    struct store s;
    const char *cmd;

    if ((key_path == NULL) == (posix_name == NULL))
        usage_error("name the store with exactly one of --key PATH PROJ and --posix NAME");
    if (key_path != NULL) {
        if (first + 1 >= argc)
            usage_error("--key PATH needs PROJ and a command after it");
        name.proj = parse_proj_id_option("PROJ", argv[first++]);
    }
    if (posix_name != NULL && (posix_name[0] != '/' || strchr(posix_name + 1, '/') != NULL ||
                               posix_name[1] == '\0'))
        usage_error("--posix: '%s' is not a name like /mystore (one leading slash)", posix_name);
    cmd = argv[first++];
    nargs = argc - first;
    for (c = 0; commands[c] != NULL && strcmp(commands[c], cmd) != 0; c++)
        ;
    if (commands[c] == NULL)
        usage_error("'%s' is not a command (create, put, get, del, list, stat, check, destroy)", cmd);
    if (nargs < min_args[c] || nargs > max_args[c])
        usage_error("%s takes %s", cmd, max_args[c] == 0 ? "no operand" :
                    max_args[c] == 1 ? "one operand, KEY" : "KEY and optionally VALUE");
    if ((mode_text != NULL || entries != 64) && c != 0)
        usage_error("--mode and --entries apply to create only");
    if (hold_ms != 0 && c != 1)
        usage_error("--hold-ms applies to put only");
    if (nargs > 0)
        check_key(argv[first]);

    if (c == 0) {
        unsigned mode = mode_text != NULL ? parse_mode_option("--mode", mode_text) : 0600;
        store_create(&s, &name, mode, (uint32_t)entries);
        printf("created a store of %ld entries in ", entries);
        describe_store(&s);
        printf("\n");
    } else if (c == 7) {
        store_destroy(&s, &name);
        printf("removed the store\n");
        return 0;
    } else {
        store_attach(&s, &name);
        run_command(&s, cmd, argv + first, nargs);
    }
    store_detach(&s);
    return 0;
}
