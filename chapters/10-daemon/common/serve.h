/* serve.h - what the daemon does with one request, whichever queue it came on.
 *
 * Thread-safe: the System V receiver thread and the event loop both call
 * it.  The counters are C11 atomics, read by SIGUSR1 and `status`.
 */
#ifndef DAEMON10_SERVE_H
#define DAEMON10_SERVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct counters {
    atomic_ulong requests;   /* every message taken, good or bad */
    atomic_ulong answered;   /* replies with status ok */
    atomic_ulong errors;     /* error replies: bad size, bad operation, failed */
    atomic_ulong refused;    /* taken while stopping: refused clearly */
    atomic_ulong dropped;    /* no usable return address: logged only */
    atomic_ulong counter;    /* the value OP_COUNTER adds to */
};

extern struct counters counters;
extern atomic_bool stopping;    /* set once by SIGTERM, SIGINT or `stop` */

/* The System V queue replies go to, the first settings, and the token
 * that marks the daemon's own wake-up message. */
void serve_init(int msqid, const struct serve_config *config, uint32_t wake_token);

/* Replaces the settings (SIGHUP).  Each request is served with one copy,
 * taken when it starts: all old settings or all new, never a mix. */
void serve_config_set(const struct serve_config *config);
void serve_config_get(struct serve_config *config);

/* Handles one request of size bytes (the body, after the type) that came
 * in on channel ("sysv", "posix") and sends its reply.  Returns false for
 * the daemon's own wake-up message, which is neither served nor counted. */
bool serve_request(const void *body, size_t size, const char *channel);

/* Sends the wake-up message: the receiver thread, blocked in msgrcv(),
 * returns and sees the stopping flag.  Returns 0 or an errno value. */
int serve_wake(void);

/* Removes the replies waiting for recent clients that no longer exist. */
void purge_orphans(void);

/* "requests=N answered=N errors=N refused=N dropped=N uptime=S" */
void counters_format(char *buf, size_t size);

#endif
