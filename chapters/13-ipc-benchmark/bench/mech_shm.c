/* mech_shm.c - shared memory with three ways to wait (POSIX semaphore,
 * futex, spinning), and two wake-ups that carry no data: eventfd and a
 * real-time signal sent with sigqueue.
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
#define _GNU_SOURCE     /* MAP_POPULATE, eventfd */
#include "bench.h"

#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
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
struct area {
    struct ring ring[2];                /* 0: driver -> echo, 1: echo -> driver */
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
        if (sem_init(&a->ring[d].full, 1, 0) != 0 || sem_init(&a->ring[d].free, 1, NSLOT) != 0)
            die("sem_init");
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
    memcpy(n <= INLINE ? slot->data : ((struct area *)c->shm)->big[d][k], buf, n);
    atomic_store(&slot->seq, m + 1);                    /* publish */
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
    memcpy(buf, n <= INLINE ? slot->data : ((struct area *)c->shm)->big[d][k], n);
    atomic_store(&r->tail, m + 1);
    if (way(c) == SEM) {
        if (sem_post(&r->free) != 0)
            die("sem_post");
    } else if (way(c) == FUTEX && atomic_load(&r->tx_sleeping)) {
        futex_wake(&r->tail);
    }
    c->got[d] = m + 1;
}

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
    }
    shm_close(c, ECHO);
}

static void nothing(struct mctx *c, enum side s)
{
    (void)c;
    (void)s;
}

/* --- eventfd: fd[0] wakes the echo side, fd[1] the driver --------------------- */

static void efd_create(struct mctx *c)
{
    for (int i = 0; i < 2; i++)
        if ((c->fd[i] = eventfd(0, 0)) < 0)
            die("eventfd");
}

/* The 8 bytes are the counter's increment; the message's tag (never 0:
 * adding 0 wakes nobody) is what arrives. */
static void efd_send(struct mctx *c, enum side s, const void *buf, size_t n)
{
    write_full_or_die(c->fd[s == DRIVER ? 0 : 1], buf, n);
}

static void efd_recv(struct mctx *c, enum side s, void *buf, size_t n)
{
    if (read_full_or_die(c->fd[s == ECHO ? 0 : 1], buf, n) != n)
        fatal("a short read from an eventfd");
}

static void efd_close(struct mctx *c, enum side s)
{
    (void)s;
    close_all_fds(c);
}

/* --- a real-time signal: sigqueue and sigwaitinfo ------------------------------ */

/* Blocked before the barrier says "ready", so no signal can arrive
 * unblocked (its default action would end the process). */
static void sig_open(struct mctx *c, enum side s)
{
    sigset_t set;

    (void)c;
    (void)s;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        die("sigprocmask");
}

static void sig_send(struct mctx *c, enum side s, const void *buf, size_t n)
{
    uint64_t tag;
    union sigval v;

    (void)s;
    memcpy(&tag, buf, n < sizeof tag ? n : sizeof tag);
    v.sival_int = (int)tag;             /* a signal carries one int (or pointer) */
    while (sigqueue(c->peer, SIGRTMIN, v) != 0)
        if (errno != EAGAIN)
            die("sigqueue");
}

static void sig_recv(struct mctx *c, enum side s, void *buf, size_t n)
{
    siginfo_t info;
    sigset_t set;
    uint64_t tag;

    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    while (sigwaitinfo(&set, &info) < 0)
        if (errno != EINTR)
            die("sigwaitinfo");
    if (s == ECHO)
        c->peer = info.si_pid;          /* answer whoever sent it */
    tag = (uint64_t)info.si_value.sival_int;
    memset(buf, 0, n);
    memcpy(buf, &tag, n < sizeof tag ? n : sizeof tag);
}

const struct mech mech_shm_sem = { "shm-sem", "shared memory + POSIX semaphores", 0, true, false,
    shm_create, nothing, shm_send, shm_recv, shm_close, shm_destroy };
const struct mech mech_shm_futex = { "shm-futex", "shared memory + futex", 0, true, false,
    shm_create, nothing, shm_send, shm_recv, shm_close, shm_destroy };
const struct mech mech_shm_spin = { "shm-spin", "shared memory, spinning", 0, true, false,
    shm_create, nothing, shm_send, shm_recv, shm_close, shm_destroy };
const struct mech mech_eventfd = { "eventfd", "two eventfds (no data)", 0, false, false,
    efd_create, nothing, efd_send, efd_recv, efd_close, NULL };
const struct mech mech_rt_signal = { "rt-signal", "sigqueue + sigwaitinfo (no data)", 0, false,
    false, NULL, sig_open, sig_send, sig_recv, nothing, NULL };
