/* segment.c - the store's segment: create, attach with checks, destroy.
 *
 * The one place in ipclab where a program leaves an object behind on
 * purpose: a store must outlive the process that put a value in it.  The
 * creator still registers it with cleanup.h while it sets the store up, so
 * a signal during creation removes a half-made segment; only a finished
 * store is kept (cleanup_forget).
 */
#include "store.h"

#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t slots_offset(void)
{
    return (sizeof(struct store_header) + 63) / 64 * 64;
}

size_t store_size(uint32_t entries)
{
    return slots_offset() + ((size_t)entries + 1) * sizeof(struct store_slot);
}

static const char *describe(const struct store_name *name, char *buf, size_t size)
{
    if (name->posix != NULL)
        snprintf(buf, size, "POSIX shared memory %s", name->posix);
    else
        snprintf(buf, size, "the segment of key (%s, %d)", name->path, name->proj);
    return buf;
}

static key_t key_of(const struct store_name *name)
{
    key_t key = IPC_PRIVATE;
    int err = ipc_key_from_path(name->path, name->proj, &key);

    if (err != 0)
        die_errnum(err, "ftok %s", name->path);
    return key;
}

/* region: mutex */
static void init_lock(pthread_mutex_t *lock)
{
    pthread_mutexattr_t attr;
    int err = pthread_mutexattr_init(&attr);

    if (err == 0)   /* other processes lock it, through their own mappings */
        err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (err == 0)   /* its owner dying hands the next locker EOWNERDEAD */
        err = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (err == 0)
        err = pthread_mutex_init(lock, &attr);
    if (err != 0)
        die_errnum(err, "pthread_mutex_init");
    pthread_mutexattr_destroy(&attr);
}
/* end region: mutex */

static void init_store(struct store *s, size_t size, uint32_t entries)
{
    struct store_header *h = s->h;

    /* New memory is zero-filled: every slot is free already. */
    h->version = STORE_VERSION;
    h->slot_size = sizeof(struct store_slot);
    h->size = size;
    h->capacity = entries + 1;
    h->count = 0;
    h->bytes_used = 0;
    h->slots_offset = (uint32_t)slots_offset();
    h->pending_new = h->pending_old = -1;
    init_lock(&h->lock);
    s->slots = (struct store_slot *)((char *)h + h->slots_offset);
    s->map_size = size;
    /* The magic last: a store half set up is not yet a store. */
    memcpy(h->magic, STORE_MAGIC, sizeof h->magic);
}

void store_create(struct store *s, const struct store_name *name, unsigned mode, uint32_t entries)
{
    size_t size = store_size(entries);
    char what[300];
    sigset_t saved;
    int handle, err;
    void *p;

    memset(s, 0, sizeof *s);
    s->shmid = -1;
    s->mode = mode;
    describe(name, what, sizeof what);
    cleanup_block_signals(&saved);
    if (name->posix != NULL) {
        int fd = shm_open(name->posix, O_RDWR | O_CREAT | O_EXCL, mode);
        err = errno;
        handle = fd < 0 ? -1 : cleanup_check(cleanup_add_posix_shm(name->posix), what);
        cleanup_unblock_signals(&saved);
        if (fd < 0 && err == EEXIST)
            fatal("%s already exists (shm_store destroy removes a store)", what);
        if (fd < 0)
            die_errnum(err, "shm_open %s", name->posix);
        if (fchmod(fd, mode) != 0)          /* shm_open's mode passes the umask */
            die("fchmod %s", name->posix);
        if (ftruncate(fd, (off_t)size) != 0)
            die("ftruncate %s", name->posix);
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            die("mmap %s", name->posix);
        close(fd);
    } else {
        s->key = key_of(name);
        s->shmid = shmget(s->key, size, IPC_CREAT | IPC_EXCL | (int)mode);
        err = errno;
        handle = s->shmid < 0 ? -1 : cleanup_check(cleanup_add_sysv_shm(s->shmid), what);
        cleanup_unblock_signals(&saved);
        if (s->shmid < 0 && err == EEXIST)
            fatal("%s (0x%08x) already exists (shm_store destroy removes a store)",
                  what, (unsigned)s->key);
        if (s->shmid < 0)
            die_errnum(err, "shmget 0x%08x", (unsigned)s->key);
        p = shmat(s->shmid, NULL, 0);
        if (p == (void *)-1)
            die("shmat");
    }
    s->h = p;
    init_store(s, size, entries);
    cleanup_forget(handle);             /* finished: it stays on purpose */
}

void store_create_private(struct store *s, uint32_t entries)
{
    size_t size = store_size(entries);
    sigset_t saved;
    int handle, err;

    memset(s, 0, sizeof *s);
    s->mode = 0600;
    cleanup_block_signals(&saved);
    s->shmid = shmget(IPC_PRIVATE, size, IPC_CREAT | IPC_EXCL | 0600);
    err = errno;
    handle = s->shmid < 0 ? -1 : cleanup_check(cleanup_add_sysv_shm(s->shmid), "the store");
    cleanup_unblock_signals(&saved);
    if (s->shmid < 0)
        die_errnum(err, "shmget");
    s->h = shmat(s->shmid, NULL, 0);
    if (s->h == (void *)-1)
        die("shmat");
    err = cleanup_remove(handle);       /* gone when the last process detaches */
    if (err != 0)
        die_errnum(err, "removing the store");
    s->shmid = -1;
    init_store(s, size, entries);
}

/* region: validate */
/* Everything a foreign, old or truncated segment could get wrong is checked
 * before one slot is read. */
static void validate(struct store *s, size_t actual, const char *what)
{
    const struct store_header *h = s->h;
    uint64_t need;

    if (actual < sizeof *h)
        fatal("%s is %zu bytes, too short to hold a store header (%zu): not a store",
              what, actual, sizeof *h);
    if (memcmp(h->magic, STORE_MAGIC, sizeof h->magic) != 0)
        fatal("%s is not a store (no \"%s\" at its start)", what, STORE_MAGIC);
    if (h->version != STORE_VERSION)
        fatal("%s has store layout version %u; this program reads version %u",
              what, (unsigned)h->version, STORE_VERSION);
    need = (uint64_t)h->slots_offset + (uint64_t)h->capacity * h->slot_size;
    if (h->slot_size != sizeof(struct store_slot) || h->slots_offset < sizeof *h ||
        h->capacity < 2 || h->capacity > STORE_ENTRIES_MAX + 1 || h->size != need)
        fatal("%s has a damaged header (size %llu, %u slots of %u bytes)", what,
              (unsigned long long)h->size, (unsigned)h->capacity, (unsigned)h->slot_size);
    if (actual < h->size)
        fatal("%s is cut short: its header says %llu bytes, the segment has %zu",
              what, (unsigned long long)h->size, actual);
    s->slots = (struct store_slot *)((char *)s->h + h->slots_offset);
}
/* end region: validate */

void store_attach(struct store *s, const struct store_name *name)
{
    char what[300];
    size_t actual;
    void *p;

    memset(s, 0, sizeof *s);
    s->shmid = -1;
    describe(name, what, sizeof what);
    if (name->posix != NULL) {
        struct stat st;
        int fd = shm_open(name->posix, O_RDWR, 0);
        if (fd < 0 && errno == ENOENT)
            fatal("no store: %s does not exist (shm_store create makes one)", what);
        if (fd < 0)
            die("shm_open %s", name->posix);
        if (fstat(fd, &st) != 0)
            die("fstat %s", name->posix);
        actual = (size_t)st.st_size;
        s->mode = st.st_mode & 0777;
        if (actual == 0)
            fatal("%s is empty: not a store", what);
        p = mmap(NULL, actual, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            die("mmap %s", name->posix);
        close(fd);
    } else {
        struct shmid_ds ds;
        s->key = key_of(name);
        s->shmid = shmget(s->key, 0, 0);
        if (s->shmid < 0 && errno == ENOENT)
            fatal("no store: %s (0x%08x) does not exist (shm_store create makes one)",
                  what, (unsigned)s->key);
        if (s->shmid < 0)
            die("shmget 0x%08x", (unsigned)s->key);
        if (shmctl(s->shmid, IPC_STAT, &ds) != 0)
            die("shmctl IPC_STAT");
        actual = ds.shm_segsz;
        s->mode = ds.shm_perm.mode & 0777;
        p = shmat(s->shmid, NULL, 0);
        if (p == (void *)-1)
            die("shmat");
    }
    s->h = p;
    s->map_size = actual;
    validate(s, actual, what);
}

void store_detach(struct store *s)
{
    if (s->h == NULL)
        return;
    if (s->shmid >= 0 ? shmdt(s->h) != 0 : munmap(s->h, s->map_size) != 0)
        die("detaching the store");
    s->h = NULL;
}

/* Only a store is removed: attaching first refuses anything else. */
void store_destroy(struct store *s, const struct store_name *name)
{
    int shmid;

    store_attach(s, name);
    shmid = s->shmid;
    store_detach(s);
    if (name->posix != NULL ? shm_unlink(name->posix) != 0
                            : shmctl(shmid, IPC_RMID, NULL) != 0)
        die("removing the store");
}
