/* mech_shm.c - shared memory with three ways to wait (POSIX semaphore,
 * futex, spinning).  The wake-ups that carry no data are in mech_wake.c.
 *
 * The shared memory holds one ring per direction, NSLOT slots each.  A
 * slot is one cache line: a sequence number, a length and up to 56 bytes
 * inline (bigger messages go to the slot's own 1 MiB area).  The sender
 * fills the slot, then publishes it by storing the sequence number; the
 * receiver waits for that number, copies the message out, and counts it in
 * `tail`.  The sender reads `tail` only when its last look says the ring is
 * full, so in a ping-pong the only cache line that travels each way is the
 * slot itself: the same traffic as the cache-line floor.
 */
#define _GNU_SOURCE     /* MAP_POPULATE */
#include "bench.h"

#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NSLOT 16
#define INLINE 56

struct slot {
    _Atomic uint32_t seq;               /* message number + 1 once it is there */
    uint32_t len;
    unsigned char data[INLINE];
};
struct ring {
    _Alignas(64) struct slot slot[NSLOT];
    _Alignas(64) _Atomic uint32_t tail;                 /* messages consumed */
    _Alignas(64) _Atomic uint32_t rx_sleeping, tx_sleeping;   /* futex way */
    _Alignas(64) sem_t full, free;                      /* semaphore way */
};
/* The bare loops' own line per direction (bench.h): no ring, one message. */
struct bare_line {
    _Alignas(64) _Atomic uint32_t seq;  /* message number + 1 */
    _Atomic uint32_t sleeping;          /* futex way: the receiver sleeps */
    unsigned char data[LAT_SIZE];
};
struct area {
    struct ring ring[2];                /* 0: driver -> echo, 1: echo -> driver */
    struct bare_line bare[2];
    _Alignas(64) sem_t bare_sem[2];
    _Alignas(64) unsigned char big[2][NSLOT][MAX_MSG];
};

enum wake { SEM, FUTEX, SPIN };
static enum wake way(const struct mctx *c)
{
    return c->m == &mech_shm_sem ? SEM : c->m == &mech_shm_futex ? FUTEX : SPIN;
}

static void shm_create(struct mctx *c)
{
    sigset_t saved;
    struct area *a;
    int fd;

    ipc_name_make_or_die(c->name[0], sizeof c->name[0], "bench-shm");
    cleanup_block_signals(&saved);
    fd = shm_open(c->name[0], O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0)
        c->handle[0] = cleanup_check(cleanup_add_posix_shm(c->name[0]), "the shared memory");
    cleanup_unblock_signals(&saved);
    if (fd < 0)
        die("shm_open %s", c->name[0]);
    c->shm_size = sizeof(struct area);
    if (ftruncate(fd, (off_t)c->shm_size) != 0)
        die("ftruncate");
    /* MAP_POPULATE: the pages are made now, not by the first messages */
    c->shm = mmap(NULL, c->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (c->shm == MAP_FAILED)
        die("mmap");
    close(fd);
    /* Mapped, and the children inherit the mapping: the name can go now,
     * so not even SIGKILL can leave it behind. */
    cleanup_remove(c->handle[0]);
    c->handle[0] = -1;
    a = c->shm;
    for (int d = 0; d < 2; d++)
        if (sem_init(&a->ring[d].full, 1, 0) != 0 || sem_init(&a->ring[d].free, 1, NSLOT) != 0 ||
            sem_init(&a->bare_sem[d], 1, 0) != 0)
            die("sem_init");
}

/* A latency message is 8 bytes: copied with a constant size the compiler
 * turns into one move (a call to memcpy costs more than the move itself,
 * on a round trip of well under 100 ns). */
static void copy(void *dst, const void *src, size_t n)
{
    if (n == LAT_SIZE)
        memcpy(dst, src, LAT_SIZE);
    else
        memcpy(dst, src, n);
}

static void sem_wait_or_die(sem_t *s)
{
    while (sem_wait(s) != 0)
        if (errno != EINTR)
            die("sem_wait");
}

/* region: shm-send */
static void shm_send(struct mctx *c, enum side s, const void *buf, size_t n)
{
    int d = s == DRIVER ? 0 : 1;
    struct ring *r = &((struct area *)c->shm)->ring[d];
    uint32_t m = c->sent[d], k = m % NSLOT;
    struct slot *slot = &r->slot[k];

    if (way(c) == SEM) {
        sem_wait_or_die(&r->free);
    } else if (m - c->tail_seen[d] >= NSLOT) {          /* full, as far as we know */
        uint32_t need = m - NSLOT + 1, t;
        if (way(c) == SPIN)
            spin_until_ge(&r->tail, need, c->placement);
        else
            while ((int32_t)((t = atomic_load(&r->tail)) - need) < 0) {
                atomic_store(&r->tx_sleeping, 1);
                if ((int32_t)((t = atomic_load(&r->tail)) - need) < 0)
                    futex_wait(&r->tail, t);
                atomic_store(&r->tx_sleeping, 0);
            }
        c->tail_seen[d] = atomic_load(&r->tail);
    }
    slot->len = (uint32_t)n;
    copy(n <= INLINE ? slot->data : ((struct area *)c->shm)->big[d][k], buf, n);
    /* Publish.  Only the futex way needs a full barrier here (its sleeping
     * handshake, below); for the others a release store is enough, and
     * costs no fence on x86. */
    atomic_store_explicit(&slot->seq, m + 1, way(c) == FUTEX ? memory_order_seq_cst
                                                             : memory_order_release);
    if (way(c) == SEM) {
        if (sem_post(&r->full) != 0)
            die("sem_post");
    } else if (way(c) == FUTEX && atomic_load(&r->rx_sleeping)) {
        futex_wake(&slot->seq);
    }
    c->sent[d] = m + 1;
}
/* end region: shm-send */

static void shm_recv(struct mctx *c, enum side s, void *buf, size_t n)
{
    int d = s == ECHO ? 0 : 1;
    struct ring *r = &((struct area *)c->shm)->ring[d];
    uint32_t m = c->got[d], k = m % NSLOT, v;
    struct slot *slot = &r->slot[k];

    if (way(c) == SEM)
        sem_wait_or_die(&r->full);
    else if (way(c) == SPIN)
        spin_until_eq(&slot->seq, m + 1, c->placement);
    else
        while (atomic_load(&slot->seq) != m + 1) {
            /* Say we sleep, then look again: the sender stores seq, then
             * reads rx_sleeping; one of us sees the other's store. */
            atomic_store(&r->rx_sleeping, 1);
            if ((v = atomic_load(&slot->seq)) != m + 1)
                futex_wait(&slot->seq, v);
            atomic_store(&r->rx_sleeping, 0);
        }
    if (slot->len != n)
        fatal("a message of %u bytes, expected %zu", slot->len, n);
    copy(buf, n <= INLINE ? slot->data : ((struct area *)c->shm)->big[d][k], n);
    atomic_store_explicit(&r->tail, m + 1, way(c) == FUTEX ? memory_order_seq_cst
                                                           : memory_order_release);
    if (way(c) == SEM) {
        if (sem_post(&r->free) != 0)
            die("sem_post");
    } else if (way(c) == FUTEX && atomic_load(&r->tx_sleeping)) {
        futex_wake(&r->tail);
    }
    c->got[d] = m + 1;
}

/* region: shm-bare */
/* The bare loops: the 8 bytes and the sequence number in one line, and the
 * wake-up's calls (sem_post/sem_wait; a futex wake only when the receiver
 * said it sleeps; a spin).  The driver puts then takes, the echo side
 * takes then puts. */
static void sem_bare(struct mctx *c, enum side s, long k)
{
    struct area *a = c->shm;
    int o = s == DRIVER ? 0 : 1;
    unsigned char b[LAT_SIZE] = { 1 };

    for (long i = 0; i < k; i++) {
        if (s == DRIVER) {
            memcpy(a->bare[o].data, b, sizeof b);
            if (sem_post(&a->bare_sem[o]) != 0)
                die("sem_post");
        }
        sem_wait_or_die(&a->bare_sem[1 - o]);
        memcpy(b, a->bare[1 - o].data, sizeof b);
        if (s == ECHO) {
            memcpy(a->bare[o].data, b, sizeof b);
            if (sem_post(&a->bare_sem[o]) != 0)
                die("sem_post");
        }
    }
}

static void futex_put(struct bare_line *l, const unsigned char *b, uint32_t m)
{
    memcpy(l->data, b, LAT_SIZE);
    atomic_store(&l->seq, m + 1);
    if (atomic_load(&l->sleeping))
        futex_wake(&l->seq);
}

static void futex_take(struct bare_line *l, unsigned char *b, uint32_t m)
{
    uint32_t v;

    while (atomic_load(&l->seq) != m + 1) {     /* the same handshake as the ring's */
        atomic_store(&l->sleeping, 1);
        if ((v = atomic_load(&l->seq)) != m + 1)
            futex_wait(&l->seq, v);
        atomic_store(&l->sleeping, 0);
    }
    memcpy(b, l->data, LAT_SIZE);
}

static void futex_bare(struct mctx *c, enum side s, long k)
{
    struct bare_line *out = &((struct area *)c->shm)->bare[s == DRIVER ? 0 : 1];
    struct bare_line *in = &((struct area *)c->shm)->bare[s == DRIVER ? 1 : 0];
    unsigned char b[LAT_SIZE] = { 1 };
    uint32_t m = c->bare_seq;

    for (long i = 0; i < k; i++, m++) {
        if (s == DRIVER)
            futex_put(out, b, m);
        futex_take(in, b, m);
        if (s == ECHO)
            futex_put(out, b, m);
    }
    c->bare_seq = m;
}

static void spin_bare(struct mctx *c, enum side s, long k)
{
    struct bare_line *out = &((struct area *)c->shm)->bare[s == DRIVER ? 0 : 1];
    struct bare_line *in = &((struct area *)c->shm)->bare[s == DRIVER ? 1 : 0];
    unsigned char b[LAT_SIZE] = { 1 };
    uint32_t m = c->bare_seq;

    for (long i = 0; i < k; i++, m++) {
        if (s == DRIVER) {
            memcpy(out->data, b, sizeof b);
            atomic_store_explicit(&out->seq, m + 1, memory_order_release);
        }
        spin_until_eq(&in->seq, m + 1, c->placement);
        memcpy(b, in->data, sizeof b);
        if (s == ECHO) {
            memcpy(out->data, b, sizeof b);
            atomic_store_explicit(&out->seq, m + 1, memory_order_release);
        }
    }
    c->bare_seq = m;
}
/* end region: shm-bare */

static void shm_close(struct mctx *c, enum side s)
{
    (void)s;
    if (c->shm != NULL && munmap(c->shm, c->shm_size) != 0)
        die("munmap");
    c->shm = NULL;
}

static void shm_destroy(struct mctx *c)
{
    struct area *a = c->shm;

    for (int d = 0; a != NULL && d < 2; d++) {
        sem_destroy(&a->ring[d].full);
        sem_destroy(&a->ring[d].free);
        sem_destroy(&a->bare_sem[d]);
    }
    shm_close(c, ECHO);
}

static void nothing(struct mctx *c, enum side s)
{
    (void)c;
    (void)s;
}

const struct mech mech_shm_sem = { "shm-sem", "shared memory + POSIX semaphores", 0, true, false,
    shm_create, nothing, shm_send, shm_recv, shm_close, shm_destroy, sem_bare };
const struct mech mech_shm_futex = { "shm-futex", "shared memory + futex", 0, true, false,
    shm_create, nothing, shm_send, shm_recv, shm_close, shm_destroy, futex_bare };
const struct mech mech_shm_spin = { "shm-spin", "shared memory, spinning", 0, true, false,
    shm_create, nothing, shm_send, shm_recv, shm_close, shm_destroy, spin_bare };
