/* msg_timed.h - System V msgsnd() and msgrcv() with a time limit.
 *
 * msgrcv() on an empty queue and msgsnd() on a full one wait as long as it
 * takes: forever, if the other side has died.  System V offers no timed form
 * (there is semtimedop, but no msgtimedrcv).  What it does promise: a signal
 * handler interrupts both calls, and they are never restarted, even under
 * SA_RESTART (signal(7)).  These wrappers keep a periodic SIGALRM ticking
 * while they wait and give up with ETIMEDOUT once the deadline has passed.
 *
 * They own SIGALRM and ITIMER_REAL while they run; a program using them
 * must not use either for anything else.
 */
#ifndef MSG_TIMED_H
#define MSG_TIMED_H

#include <stddef.h>
#include <sys/types.h>

/* As msgrcv(), but fails with ETIMEDOUT after timeout_ms milliseconds. */
ssize_t msgrcv_timed(int msqid, void *msgp, size_t msgsz, long msgtyp,
                     int msgflg, long timeout_ms);

/* As msgsnd(), but fails with ETIMEDOUT after timeout_ms milliseconds. */
int msgsnd_timed(int msqid, const void *msgp, size_t msgsz, int msgflg,
                 long timeout_ms);

/* The largest message the kernel accepts now: /proc/sys/kernel/msgmax,
 * read at each call (root may change it at any time), or 8192 (Linux's
 * default) if the file cannot be read. */
size_t msg_max_bytes(void);

#endif
