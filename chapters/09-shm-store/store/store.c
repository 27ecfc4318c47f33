/* store.c - the store's operations, under its robust mutex (see store.h).
 *
 * Every operation is one critical section: lock, look at the slots, change
 * them, unlock.  A put never overwrites a value in place: it fills a free
 * slot (state "being written"), then in two stores makes it the entry and
 * frees the old one.  The header's pending_new/pending_old say which put
 * is in progress, so whoever inherits the lock from a dead writer knows
 * exactly what to roll back.
 */
#include "store.h"

#include "ipclab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct store_slot *slot(struct store *s, int32_t i)
{
    return &s->slots[i];
}

static void recount(struct store *s)
{
    struct store_header *h = s->h;

    h->count = 0;
    h->bytes_used = 0;
    for (uint32_t i = 0; i < h->capacity; i++)
        if (s->slots[i].state == SLOT_USED) {
            h->count++;
            h->bytes_used += s->slots[i].key_len + s->slots[i].value_len;
        }
}

/* region: repair */
/* The previous owner died inside its critical section.  Whatever it was
 * doing, the slots tell what is finished: a slot still being written is
 * dropped (the old value, if any, was never touched); a new entry already
 * in use whose old slot is not yet freed wins over the old one.  Then the
 * count is recomputed from the slots. */
static void store_repair(struct store *s)
{
    struct store_header *h = s->h;
    int32_t n = h->pending_new, o = h->pending_old;
    uint32_t cap = h->capacity;
    const char *what = "nothing was half done";

    if (n >= 0 && (uint32_t)n < cap && slot(s, n)->state == SLOT_WRITING) {
        slot(s, n)->state = SLOT_FREE;
        what = "rolled back its half-written entry";
    } else if (n >= 0 && (uint32_t)n < cap && o >= 0 && (uint32_t)o < cap &&
               slot(s, o)->state == SLOT_USED) {
        slot(s, o)->state = SLOT_FREE;
        what = "completed its put (the new value was written)";
    }
    for (uint32_t i = 0; i < cap; i++)     /* any other stray half-written slot */
        if (s->slots[i].state == SLOT_WRITING)
            s->slots[i].state = SLOT_FREE;
    h->pending_new = h->pending_old = -1;
    recount(s);
    fprintf(stderr, "%s: the previous holder of the store's lock died mid-operation; "
            "%s; %u entries remain, the store is consistent again\n",
            program_name, what, (unsigned)h->count);
}

static void store_lock(struct store *s)
{
    int err;

    if (s->no_lock)
        return;
    err = pthread_mutex_lock(&s->h->lock);
    if (err == EOWNERDEAD) {
        store_repair(s);
        err = pthread_mutex_consistent(&s->h->lock);
    }
    if (err == ENOTRECOVERABLE)
        fatal("the store's lock is unusable (its owner died and nobody repaired it); "
              "destroy and create the store again");
    if (err != 0)
        die_errnum(err, "pthread_mutex_lock");
}
/* end region: repair */

static void store_unlock(struct store *s)
{
    int err;

    if (s->no_lock)
        return;
    err = pthread_mutex_unlock(&s->h->lock);
    if (err != 0)
        die_errnum(err, "pthread_mutex_unlock");
}

static int32_t find(struct store *s, const char *key, size_t key_len)
{
    for (uint32_t i = 0; i < s->h->capacity; i++) {
        const struct store_slot *e = &s->slots[i];
        if (e->state == SLOT_USED && e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
            return (int32_t)i;
    }
    return -1;
}

static int32_t find_free(struct store *s)
{
    for (uint32_t i = 0; i < s->h->capacity; i++)
        if (s->slots[i].state == SLOT_FREE)
            return (int32_t)i;
    return -1;
}

static void hold(struct store *s)
{
    struct timespec t = { s->hold_ms / 1000, (s->hold_ms % 1000) * 1000000L };

    printf("holding the store's lock mid-put for %ld ms\n", s->hold_ms);
    fflush(stdout);
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/* region: put */
enum store_result store_put(struct store *s, const char *key, size_t key_len,
                            const void *value, size_t value_len)
{
    struct store_header *h;
    struct store_slot *e;
    int32_t old, n;

    store_lock(s);
    h = s->h;
    old = find(s, key, key_len);
    /* One slot is always spare, so replacing a value never needs room. */
    if (old < 0 && h->count >= h->capacity - 1) {
        store_unlock(s);
        return STORE_FULL;
    }
    n = find_free(s);
    if (n < 0) {                      /* only without the lock: count was stale */
        store_unlock(s);
        return STORE_FULL;
    }
    if (s->window != NULL)            /* the race demo: let another writer run */
        race_window_pass(s->window);
    e = slot(s, n);
    h->pending_new = n;               /* what a repair would roll back */
    h->pending_old = old;
    e->state = SLOT_WRITING;
    e->key_len = (uint32_t)key_len;
    memcpy(e->key, key, key_len);
    e->value_len = (uint32_t)value_len;
    memcpy(e->value, value, value_len / 2);
    if (s->hold_ms > 0)               /* the robust-mutex demo: die here */
        hold(s);
    memcpy(e->value + value_len / 2, (const char *)value + value_len / 2,
           value_len - value_len / 2);
    e->state = SLOT_USED;             /* commit: the new entry exists */
    if (old >= 0)
        slot(s, old)->state = SLOT_FREE;
    else
        h->count++;
    h->bytes_used += key_len + value_len;
    if (old >= 0)
        h->bytes_used -= slot(s, old)->key_len + slot(s, old)->value_len;
    h->pending_new = h->pending_old = -1;
    store_unlock(s);
    return STORE_OK;
}
/* end region: put */

enum store_result store_get(struct store *s, const char *key, size_t key_len,
                            void *buf, size_t *len)
{
    int32_t i;

    store_lock(s);
    i = find(s, key, key_len);
    if (i >= 0) {
        *len = slot(s, i)->value_len;
        memcpy(buf, slot(s, i)->value, *len);
    }
    store_unlock(s);
    return i >= 0 ? STORE_OK : STORE_MISSING;
}

enum store_result store_del(struct store *s, const char *key, size_t key_len)
{
    int32_t i;

    store_lock(s);
    i = find(s, key, key_len);
    if (i >= 0) {
        struct store_slot *e = slot(s, i);
        e->state = SLOT_FREE;
        s->h->count--;
        s->h->bytes_used -= e->key_len + e->value_len;
    }
    store_unlock(s);
    return i >= 0 ? STORE_OK : STORE_MISSING;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t store_keys(struct store *s, char ***keys)
{
    size_t n = 0;
    char **out = calloc(s->h->capacity, sizeof *out);

    if (out == NULL)
        die("calloc");
    store_lock(s);
    for (uint32_t i = 0; i < s->h->capacity; i++) {
        const struct store_slot *e = &s->slots[i];
        if (e->state != SLOT_USED)
            continue;
        out[n] = malloc(e->key_len + 1);
        if (out[n] == NULL)
            die("malloc");
        memcpy(out[n], e->key, e->key_len);
        out[n++][e->key_len] = '\0';
    }
    store_unlock(s);
    qsort(out, n, sizeof *out, compare_keys);
    *keys = out;
    return n;
}

void store_stats(struct store *s, struct store_stats *st)
{
    store_lock(s);
    st->entries = s->h->count;
    st->max_entries = s->h->capacity - 1;
    st->bytes_used = s->h->bytes_used;
    store_unlock(s);
}

/* region: check */
const char *store_check(struct store *s)
{
    static char problem[200];
    uint32_t used = 0, cap;
    uint64_t bytes = 0;
    const char *result = NULL;

    store_lock(s);
    cap = s->h->capacity;
    for (uint32_t i = 0; i < cap && result == NULL; i++) {
        const struct store_slot *e = &s->slots[i];
        if (e->state == SLOT_WRITING) {
            snprintf(problem, sizeof problem, "slot %u is half written", (unsigned)i);
            result = problem;
        } else if (e->state == SLOT_USED) {
            used++;
            bytes += e->key_len + e->value_len;
            if (find(s, e->key, e->key_len) != (int32_t)i) {
                snprintf(problem, sizeof problem, "the key '%.*s' is in two slots",
                         (int)e->key_len, e->key);
                result = problem;
            }
        }
    }
    if (result == NULL && (used != s->h->count || bytes != s->h->bytes_used)) {
        snprintf(problem, sizeof problem,
                 "the header counts %u entries and %llu bytes, the slots hold %u and %llu",
                 (unsigned)s->h->count, (unsigned long long)s->h->bytes_used,
                 (unsigned)used, (unsigned long long)bytes);
        result = problem;
    }
    store_unlock(s);
    return result;
}
/* end region: check */
