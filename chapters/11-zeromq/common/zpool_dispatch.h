/* zpool_dispatch.h - the distributed pool's dispatcher loop (zmq_pool). */
#ifndef IPCLAB_ZPOOL_DISPATCH_H
#define IPCLAB_ZPOOL_DISPATCH_H

#include <stdbool.h>

#define ZD_JOBS_MAX 100000
#define ZD_WORKERS_MAX 64
#define ZD_INFLIGHT_MAX 64


struct zd_options {
    long jobs, job_ms, time_limit_ms, lost_ms, resends, min_workers, wait_ms;
    long inflight;               /* jobs out at one worker at most */
    bool mix, quiet;
};

/* Hands out the jobs over a bound ROUTER socket until each has one result,
 * tells every worker STOP, prints the summary.  Returns 0 if no job was
 * lost, 1 otherwise (or on a stop signal). */
int zd_run(void *router, const struct zd_options *options);

#endif
