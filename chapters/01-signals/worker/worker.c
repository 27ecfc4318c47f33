/* worker.c - see worker.h. */
#include "worker.h"

#include "ipclab.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* region: handler */
/* 0 until a stop signal arrives, then its number.  volatile: the loop must
 * read it from memory every time, because the handler changes it behind the
 * compiler's back; sig_atomic_t: a read or a write is never seen half done. */
static volatile sig_atomic_t stop_signal;

/* The handler does the one thing that is safe at any instant: it stores a
 * number.  No printf (stdio has locks and buffers the interrupted code may
 * be holding), no malloc, no exit(): the main loop talks once it sees the
 * flag. */
static void on_stop(int sig)
{
    stop_signal = sig;
}

void worker_install_handlers(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGTERM);   /* one handler at a time */
    sigaddset(&sa.sa_mask, SIGINT);
    sa.sa_flags = 0;                   /* no SA_RESTART: a blocked call returns EINTR */
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        die("sigaction");
}
/* end region: handler */

/* Says once when the stop request was seen: inside a job (nanosleep was
 * interrupted) or between two jobs (the loop's check saw it). */
static void note_signal(const char *label, long job, int during, struct worker_report *report)
{
    if (report->signal_job >= 0 || stop_signal == 0)
        return;
    report->signal_job = job;
    if (during)
        printf("%s: %s arrived during job %ld; finishing that job first\n",
               label, signal_name(stop_signal), job);
    else
        printf("%s: %s arrived after job %ld\n", label, signal_name(stop_signal), job);
}

/* region: loop */
/* One job: job_ms of work (a sleep stands for it).  A signal interrupts
 * nanosleep() with EINTR; the job carries on with the time that was left,
 * so a stop request never leaves a job half done. */
static void do_job(const char *label, long job, long job_ms, struct worker_report *report)
{
    struct timespec left = { job_ms / 1000, (job_ms % 1000) * 1000000L };

    while (nanosleep(&left, &left) != 0) {
        if (errno != EINTR)
            die("nanosleep");
        note_signal(label, job, 1, report);
    }
}

void worker_run(const char *label, long job_ms, long max_ms, struct worker_report *report)
{
    uint64_t start = monotonic_ns();
    uint64_t limit = (uint64_t)max_ms * 1000000u;

    memset(report, 0, sizeof *report);
    report->signal_job = -1;
    /* The flag is checked between jobs: the stop waits at most one job. */
    while (stop_signal == 0 && monotonic_ns() - start < limit) {
        do_job(label, report->jobs + 1, job_ms, report);
        report->jobs++;
    }
    note_signal(label, report->jobs, 0, report);   /* if it came between two jobs */
    report->stop_signal = stop_signal;
    report->elapsed_ns = monotonic_ns() - start;
}
/* end region: loop */
