/* board.c - the room's board in a System V segment of its own (see board.h). */
#include "ipclab.h"
#include "board.h"

struct board *board_make(int workers)
{
    /* shmget(IPC_PRIVATE), shmat, then IPC_RMID at once: it lives until
     * the last detach. */
    struct board *board = cleanup_private_shm_or_die(sizeof *board, "the board", NULL);

    /* Zero-filled: an empty room. */
    atomic_store(&board->outside, workers);
    return board;
}

int board_step_in(struct board *board)
{
    int now = atomic_fetch_add(&board->inside, 1) + 1;
    int max = atomic_load(&board->max_inside);

    while (now > max && !atomic_compare_exchange_weak(&board->max_inside, &max, now))
        ;
    return now;
}

int board_step_out(struct board *board)
{
    return atomic_fetch_sub(&board->inside, 1) - 1;
}
