/* board.h - the room's board: who is inside, in memory the workers share (see room.c). */
#ifndef ROOM_BOARD_H
#define ROOM_BOARD_H

#include <stdatomic.h>

/* region: board */
/* The room's board, in shared memory.  Atomic, so that the count itself is
 * right whatever the door lets through: the board measures the door. */
struct board {
    atomic_int inside;          /* people in the room now */
    atomic_int max_inside;      /* the most ever in it at once */
    atomic_int gave_up;         /* workers that stopped waiting */
    atomic_int crash_claimed;   /* --crash: the first one in dies */
    atomic_int outside;         /* the window: workers on their way to the door */
    atomic_int between;         /* past the door, not in yet (others: in or done) */
};
/* end region: board */

/* An empty board for workers, all on their way to the door, in a System V
 * segment that is already removed: it lives until the last detach, so
 * nothing is left behind however the program ends.  Dies on error. */
struct board *board_make(int workers);

/* One more inside (raising max_inside if it is a record), one fewer:
 * each returns how many are inside now, itself included on the way in. */
int board_step_in(struct board *board);
int board_step_out(struct board *board);

#endif
