/* board.c - the room's board in a System V segment of its own (see board.h). */
#include "ipclab.h"
#include "board.h"

#include <signal.h>
#include <sys/ipc.h>
#include <sys/shm.h>

struct board *board_make(int workers)
{
    sigset_t saved;
    int id, handle = -1, err;
    struct board *board;

    cleanup_block_signals(&saved);          /* create + register: one step */
    id = shmget(IPC_PRIVATE, sizeof *board, IPC_CREAT | IPC_EXCL | 0600);
    if (id >= 0)
        handle = cleanup_check(cleanup_add_sysv_shm(id), "shm segment");
    cleanup_unblock_signals(&saved);
    if (id < 0)
        die("shmget");
    board = shmat(id, NULL, 0);
    if (board == (void *)-1)
        die("shmat");
    /* Removed at once: it lives until the last detach. */
    err = cleanup_remove(handle);           /* shmctl(IPC_RMID) */
    if (err != 0)
        die_errnum(err, "shmctl IPC_RMID");
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
