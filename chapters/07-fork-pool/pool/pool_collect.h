/* pool_collect.h - the loop behind pool_get_all() and tpool_get_all(),
 * shared by the two pools (pool_jobs.c holds it).  Internal: not part of
 * either API; only pool.c and tpool.c include it. */
#ifndef IPCLAB_POOL_COLLECT_H
#define IPCLAB_POOL_COLLECT_H

#include "pool.h"

/* Calls get(pool, ms left, &result) until it fails: ENOENT (nothing left:
 * returns 0), ETIMEDOUT when timeout_ms (-1: no limit) has passed, or
 * another error (returned).  *results (malloc'd) and *count hold what was
 * collected either way. */
int collect_results(int (*get)(void *pool, int timeout_ms, struct pool_result *result),
                    void *pool, int timeout_ms, struct pool_result **results, size_t *count);

#endif
