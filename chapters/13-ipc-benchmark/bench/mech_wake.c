/* mech_wake.c - two wake-ups that carry no data: eventfd and a real-time
 * signal sent with sigqueue.  The 8-byte message's tag is all that
 * arrives (an eventfd's counter, a signal's int).
 */
#define _GNU_SOURCE     /* eventfd */
#include "bench.h"

#include "ipclab.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

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

/* eventfd's bare loop is write/read (mech_fd.c): fd[0] wakes the echo side. */
static void efd_bare(struct mctx *c, enum side s, long k)
{
    if (s == DRIVER)
        bare_write_read(c->fd[0], c->fd[1], s, k);
    else
        bare_write_read(c->fd[1], c->fd[0], s, k);
}

/* The bare loop: sigqueue and sigwaitinfo (SIGRTMIN is blocked, sig_open). */
static void sig_bare(struct mctx *c, enum side s, long k)
{
    union sigval v = { .sival_int = 1 };
    siginfo_t info;
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    for (long i = 0; i < k; i++) {
        if (s == DRIVER && sigqueue(c->peer, SIGRTMIN, v) != 0)
            die("sigqueue");
        if (sigwaitinfo(&set, &info) < 0)
            die("sigwaitinfo");
        if (s == ECHO && sigqueue(c->peer, SIGRTMIN, v) != 0)
            die("sigqueue");
    }
}

const struct mech mech_eventfd = { "eventfd", "two eventfds (no data)", 0, false, false,
    efd_create, nothing, efd_send, efd_recv, efd_close, NULL, efd_bare };
const struct mech mech_rt_signal = { "rt-signal", "sigqueue + sigwaitinfo (no data)", 0, false,
    false, NULL, sig_open, sig_send, sig_recv, nothing, NULL, sig_bare };
