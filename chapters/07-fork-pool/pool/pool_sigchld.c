/* pool_sigchld.c - SIGCHLD for the process pool (pool.h): the handler
 * writes one byte to each pool's wake pipe, and nothing else.  The pool's
 * loop polls that pipe with the workers' sockets and reaps by pid
 * (pool_worker.c), outside the handler.
 *
 * The handler is installed with the first pool and the one that was there
 * before is put back with the last; the handler calls it too.
 */
#include "pool_impl.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Pools alive in this process, so the handler can wake each one and a new
 * child can close every descriptor that belongs to the parent. */
static struct pool *pools[MAX_POOLS];
static volatile sig_atomic_t wake_fd[MAX_POOLS];   /* write end + 1; 0: none */
static int pools_alive;
static struct sigaction chld_before;

/* region: sigchld */
static void on_sigchld(int sig, siginfo_t *info, void *context)
{
    int saved = errno;

    for (int i = 0; i < MAX_POOLS; i++) {
        int fd = wake_fd[i] - 1;
        if (fd >= 0) {
            /* Non-blocking: a full pipe already says "look". */
            ssize_t rc = write(fd, "c", 1);
            (void)rc;
        }
    }
    if (chld_before.sa_flags & SA_SIGINFO) {
        if (chld_before.sa_sigaction != NULL)
            chld_before.sa_sigaction(sig, info, context);
    } else if (chld_before.sa_handler != SIG_DFL && chld_before.sa_handler != SIG_IGN) {
        chld_before.sa_handler(sig);
    }
    errno = saved;
}
/* end region: sigchld */

static void block_sigchld(sigset_t *old)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

int registry_add(struct pool *p)
{
    sigset_t old;
    int err = 0;

    block_sigchld(&old);
    p->slot = -1;
    for (int i = 0; i < MAX_POOLS && p->slot < 0; i++)
        if (pools[i] == NULL)
            p->slot = i;
    if (p->slot < 0) {
        err = ENOSPC;
    } else if (pools_alive == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_sigchld;
        sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGCHLD, &sa, &chld_before) != 0)
            err = errno;
    }
    if (err == 0) {
        pools[p->slot] = p;
        wake_fd[p->slot] = p->wake[1] + 1;
        pools_alive++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}

void registry_remove(struct pool *p)
{
    sigset_t old;

    block_sigchld(&old);
    wake_fd[p->slot] = 0;
    pools[p->slot] = NULL;
    if (--pools_alive == 0)
        sigaction(SIGCHLD, &chld_before, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* In a new worker: the parent's machinery is not the child's.  Close
 * every descriptor of every pool (other workers' sockets, the wake pipes;
 * a copy of another worker's socket would keep it open after that worker
 * died) and give SIGCHLD back as it was before the first pool. */
void registry_close_in_child(void)
{
    for (int i = 0; i < MAX_POOLS; i++) {
        struct pool *q = pools[i];
        if (q == NULL)
            continue;
        close(q->wake[0]);
        close(q->wake[1]);
        for (int k = 0; k < q->opt.workers; k++)
            if (q->w[k].state != W_FREE && q->w[k].fd >= 0)
                close(q->w[k].fd);
    }
    sigaction(SIGCHLD, &chld_before, NULL);
}

void drain_wake(struct pool *p)
{
    char buf[64];

    while (read(p->wake[0], buf, sizeof buf) > 0)
        ;
}
