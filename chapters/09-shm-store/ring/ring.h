/* ring.h - a bounded buffer in shared memory between two processes
 * (chapter 09): `slots` slots of `slot_size` bytes, and two counting
 * semaphores, free slots and full slots.
 *
 * The writer waits for a free slot, fills it, posts a full one; the reader
 * waits for a full slot, uses it in place, posts a free one.  Each side
 * keeps its own index (head, tail) in its own copy of struct ring: only
 * the semaphores are shared state that both change.  A slot of length 0
 * marks the end.
 *
 * Every wait is bounded: it gives up after timeout_ms without progress,
 * and checks every 50 ms whether the other side is still alive, so a peer
 * that died never leaves this one hanging.
 */
#ifndef IPCLAB_CH09_RING_H
#define IPCLAB_CH09_RING_H

#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ring_shared {
    sem_t free_slots, full_slots;
    uint32_t slots, slot_size;
};

struct ring {
    struct ring_shared *sh;
    uint32_t *len;              /* per slot: bytes in it */
    unsigned char *data;        /* slots * slot_size bytes */
    uint32_t index;             /* this side's next slot */
    long timeout_ms;
    bool (*peer_alive)(void *arg);
    void *peer_arg;
};

/* Maps a private segment (removed at once: it lives as long as the two
 * processes) and sets up the semaphores; fork after this.  Dies on error. */
void ring_create(struct ring *r, uint32_t slots, uint32_t slot_size);

/* Writer: waits for a free slot and returns where to write (slot_size
 * bytes), then ring_commit(len) hands it to the reader.  Reader: waits for
 * a full slot, returns its data and *len; ring_release() gives it back.
 * The waits return NULL with errno ETIMEDOUT (no progress for timeout_ms)
 * or EPIPE (peer_alive said no). */
/* Detaches this process's mapping (the memory goes with the last one). */
void ring_destroy(struct ring *r);

unsigned char *ring_reserve(struct ring *r);
void ring_commit(struct ring *r, uint32_t len);
const unsigned char *ring_next(struct ring *r, uint32_t *len);
void ring_release(struct ring *r);

#endif
