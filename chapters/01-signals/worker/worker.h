/* worker.h - the worker loop that signal_worker runs alone and supervisor
 * runs in each child: jobs until SIGTERM or SIGINT, then a clean stop.
 */
#ifndef CH01_WORKER_H
#define CH01_WORKER_H

#include <stdint.h>

struct worker_report {
    long jobs;            /* jobs completed */
    int stop_signal;      /* the signal that asked us to stop, 0 if none came */
    long signal_job;      /* the job running (or just done) when it was seen;
                             -1 if no stop signal came */
    uint64_t elapsed_ns;
};

/* Installs the SIGTERM and SIGINT handlers (sigaction; the handler only
 * stores the signal number in a volatile sig_atomic_t).  Does not touch the
 * signal mask: a caller that blocked them unblocks them afterwards. */
void worker_install_handlers(void);

/* Runs jobs of job_ms milliseconds each until a stop signal arrives or
 * max_ms have passed.  A signal in the middle of a job lets the job finish;
 * it is never abandoned half done.  label starts each line it prints. */
void worker_run(const char *label, long job_ms, long max_ms, struct worker_report *report);

#endif
