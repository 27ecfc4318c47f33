/* store.h - a key-value store in one shared-memory segment that outlives
 * the processes using it (chapter 09).
 *
 * Layout, little-endian as the machine writes it (a PHP reader,
 * php/store_get.php, decodes the same offsets):
 *
 *   header  offset  0  magic "IPCLABKV" (8 bytes)
 *                   8  u32 layout version (STORE_VERSION)
 *                  12  u32 slot size in bytes
 *                  16  u64 size of the whole segment
 *                  24  u32 capacity (slots; one more than the entries allowed)
 *                  28  u32 count (slots in use)
 *                  32  u64 bytes used (keys + values)
 *                  40  u32 offset of slot 0
 *                  44  i32 pending_new, 48 i32 pending_old: the put in
 *                      progress, -1 when none (what a repair rolls back)
 *                  56  pthread_mutex_t: process-shared, robust
 *   slot            0  u32 state (0 free, 1 being written, 2 in use)
 *                   4  u32 key length, 8 u32 value length
 *                  16  key (STORE_KEY_MAX bytes), 80 value (STORE_VALUE_MAX)
 *
 * One slot more than the entries allowed is kept free: a put always writes
 * a free slot and only then retires the old one, so a writer killed halfway
 * leaves the old value intact.
 */
#ifndef IPCLAB_CH09_STORE_H
#define IPCLAB_CH09_STORE_H

#include "race.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STORE_MAGIC "IPCLABKV"
#define STORE_VERSION 1u
#define STORE_KEY_MAX 64
#define STORE_VALUE_MAX 4096
#define STORE_ENTRIES_MAX 4096

enum { SLOT_FREE = 0, SLOT_WRITING = 1, SLOT_USED = 2 };

struct store_slot {
    uint32_t state, key_len, value_len, reserved;
    char key[STORE_KEY_MAX];
    unsigned char value[STORE_VALUE_MAX];
};

struct store_header {
    char magic[8];
    uint32_t version, slot_size;
    uint64_t size;
    uint32_t capacity, count;
    uint64_t bytes_used;
    uint32_t slots_offset;
    int32_t pending_new, pending_old;
    uint32_t reserved;
    pthread_mutex_t lock;
};

/* Which segment: System V through ftok(path, proj), or a POSIX name. */
struct store_name {
    const char *path;       /* --key PATH PROJ */
    int proj;
    const char *posix;      /* --posix NAME */
};

struct store {
    struct store_header *h;
    struct store_slot *slots;
    size_t map_size;
    int shmid;                  /* System V, or -1 */
    key_t key;
    unsigned mode;              /* the segment's permission bits */
    bool locked_by_us;
    /* What the lessons and tests switch: */
    bool no_lock;               /* --lock none: the race demo's broken variant */
    struct race_window *window; /* yield between finding a slot and claiming it */
    long hold_ms;               /* sleep mid-put, holding the lock */
};

enum store_result { STORE_OK, STORE_MISSING, STORE_FULL };

/* Bytes a store of `entries` entries takes. */
size_t store_size(uint32_t entries);

/* Create a store that outlives this process (exit 1 if the segment exists),
 * attach to an existing one (exit 1, one clear line, if it is absent, not a
 * store, of another layout version, or cut short), or remove one. */
void store_create(struct store *s, const struct store_name *name, unsigned mode, uint32_t entries);
void store_attach(struct store *s, const struct store_name *name);
void store_destroy(struct store *s, const struct store_name *name);
void store_detach(struct store *s);

/* A store nobody else can find, removed as soon as it is mapped: it lives
 * as long as this process and its children (the race demo). */
void store_create_private(struct store *s, uint32_t entries);

/* Every operation takes the lock itself.  A lock whose owner died is
 * repaired (see store_repair in store.c) with a line on stderr. */
enum store_result store_put(struct store *s, const char *key, size_t key_len,
                            const void *value, size_t value_len);
/* Copies the value into buf (STORE_VALUE_MAX bytes) and its length into *len. */
enum store_result store_get(struct store *s, const char *key, size_t key_len,
                            void *buf, size_t *len);
enum store_result store_del(struct store *s, const char *key, size_t key_len);

/* The keys, sorted, into a malloc'd array of malloc'd strings (the caller
 * frees them); returns how many. */
size_t store_keys(struct store *s, char ***keys);

struct store_stats {
    uint32_t entries, max_entries;
    uint64_t bytes_used;
};
void store_stats(struct store *s, struct store_stats *st);

/* The store's own consistency check: count and bytes used agree with the
 * slots, no key is in two slots, no slot is half written.  Returns NULL or
 * a description of the first problem (a static buffer). */
const char *store_check(struct store *s);

#endif
