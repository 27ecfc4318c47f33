/* ring.c - see ring.h. */
#include "ring.h"

#include "ipclab.h"

#include <errno.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>

#define CHECK_EVERY_MS 50

void ring_create(struct ring *r, uint32_t slots, uint32_t slot_size)
{
    size_t head = (sizeof(struct ring_shared) + 63) / 64 * 64;
    size_t size = head + (size_t)slots * sizeof(uint32_t) + (size_t)slots * slot_size;
    void *p = cleanup_private_shm_or_die(size, "the ring", NULL);   /* freed when both sides detach */

    r->sh = p;
    r->len = (uint32_t *)((char *)p + head);
    r->data = (unsigned char *)(r->len + slots);
    r->index = 0;
    r->sh->slots = slots;
    r->sh->slot_size = slot_size;
    if (sem_init(&r->sh->free_slots, 1, slots) != 0 ||   /* 1: shared by processes */
        sem_init(&r->sh->full_slots, 1, 0) != 0)
        die("sem_init");
}

void ring_destroy(struct ring *r)
{
    if (shmdt(r->sh) != 0)
        die("shmdt");
    r->sh = NULL;
}

/* region: wait */
/* sem_timedwait takes an absolute CLOCK_REALTIME time; the overall limit is
 * kept on the monotonic clock, so a clock change cannot stretch it. */
static int ring_wait(struct ring *r, sem_t *sem)
{
    uint64_t deadline = monotonic_ns() + (uint64_t)r->timeout_ms * 1000000u;

    for (;;) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += CHECK_EVERY_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (sem_timedwait(sem, &until) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != ETIMEDOUT)
            die("sem_timedwait");
        if (r->peer_alive != NULL && !r->peer_alive(r->peer_arg))
            return EPIPE;
        if (monotonic_ns() >= deadline)
            return ETIMEDOUT;
    }
}
/* end region: wait */

unsigned char *ring_reserve(struct ring *r)
{
    int err = ring_wait(r, &r->sh->free_slots);

    if (err != 0) {
        errno = err;
        return NULL;
    }
    return r->data + (size_t)r->index * r->sh->slot_size;
}

void ring_commit(struct ring *r, uint32_t len)
{
    r->len[r->index] = len;
    r->index = (r->index + 1) % r->sh->slots;
    if (sem_post(&r->sh->full_slots) != 0)    /* also orders the stores above */
        die("sem_post");
}

const unsigned char *ring_next(struct ring *r, uint32_t *len)
{
    int err = ring_wait(r, &r->sh->full_slots);

    if (err != 0) {
        errno = err;
        return NULL;
    }
    *len = r->len[r->index];
    return r->data + (size_t)r->index * r->sh->slot_size;
}

void ring_release(struct ring *r)
{
    r->index = (r->index + 1) % r->sh->slots;
    if (sem_post(&r->sh->free_slots) != 0)
        die("sem_post");
}
