/* shared.h - memory the room's workers share (see room.c). */
#ifndef ROOM_SHARED_H
#define ROOM_SHARED_H

#include <stddef.h>

/* A System V segment of size zero-filled bytes, attached and already
 * removed: it lives until the last detach, so nothing is left behind
 * however the program ends.  Dies on error. */
void *shared_segment(size_t size);

/* What --crash did to the others, in one line: lock is "none",
 * "posix-sem", "undo" or "no-undo" (System V, with or without SEM_UNDO). */
void room_describe_crash(int gave_up, const char *lock, long capacity);

#endif
