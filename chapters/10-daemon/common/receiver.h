/* receiver.h - the thread that waits on the System V queue.
 *
 * A System V queue is not a file descriptor: no poll, no epoll, no libev
 * watcher can wait on it.  So one thread does nothing but msgrcv(), with
 * every signal blocked, while the main thread's event loop takes the
 * signals.  To stop it, the loop sets `stopping` and sends the queue a
 * wake-up message: unlike a signal, a message waits in the queue until it
 * is taken, so the wake-up cannot be lost in the gap before msgrcv().
 */
#ifndef DAEMON10_RECEIVER_H
#define DAEMON10_RECEIVER_H

#include <pthread.h>

/* Starts the thread on msqid; queue_handle is the queue's cleanup.h handle:
 * the thread removes the queue once it has drained it. */
void receiver_start_or_die(pthread_t *thread, int msqid, int queue_handle);

#endif
