/* signal_worker.c - a worker that stops cleanly when SIGTERM or SIGINT comes.
 *
 * Lesson: a signal handler may run between any two instructions, so it must
 * not call printf, malloc or exit.  The worker's handler (installed with
 * sigaction) only stores the signal number in a volatile sig_atomic_t; the
 * loop checks it between jobs, and a job that a signal interrupts still
 * finishes.  A stop request never leaves work half done.
 *
 * Run:  signal_worker                        # a timer sends SIGTERM after 200 ms
 *       signal_worker --timer-ms 0 & sleep 0.3; kill -INT $!; wait
 *       signal_worker --timer-ms 0 --max-ms 100   # nobody signals: stops by itself
 *
 * You should see the worker start, the signal arrive during a job, that job
 * finish, and a clean stop (exit status 0):
 *       signal_worker: started (pid 4711); SIGTERM or SIGINT stops me
 *       signal_worker: a timer will send SIGTERM in 200 ms
 *       signal_worker: SIGTERM arrived during job 10; finishing that job first
 *       signal_worker: stopped cleanly after 10 jobs
 *       result: stop=SIGTERM jobs=10 signal_job=10 ms=200.412
 */
#include "ipclab.h"
#include "worker/worker.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long job_ms = 20, timer_ms = 200, max_ms = 5000;

static const struct cli_option options[] = {
    CLI_OPTION_LONG("job-ms", &job_ms, 1, 1000, "MS", "length of one job"),
    CLI_OPTION_LONG("timer-ms", &timer_ms, 0, 600000, "MS",
                    "a timer sends me SIGTERM after MS ms, as kill would; 0: no timer"),
    CLI_OPTION_LONG("max-ms", &max_ms, 1, 600000, "MS",
                    "stop by myself if no signal came within MS ms"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Runs jobs until SIGTERM or SIGINT arrives, then finishes the current\n"
               "job and stops cleanly (exit status 0).",
    .options = options,
    .details = "With --timer-ms 0 the worker waits for a signal from outside:\n"
               "  signal_worker --timer-ms 0 & sleep 0.3; kill -TERM $!",
};

int main(int argc, char **argv)
{
    struct worker_report report;

    cli_parse(&cli, argc, argv);

    worker_install_handlers();          /* before we say we are running */
    printf("%s: started (pid %ld); SIGTERM or SIGINT stops me\n", program_name,
           (long)getpid());
    if (timer_ms > 0) {
        printf("%s: a timer will send SIGTERM in %ld ms\n", program_name, timer_ms);
        /* A timer-sent SIGTERM is exactly what `kill -TERM` would be. */
        signal_after_ms_or_die(SIGTERM, timer_ms);
    }

    worker_run(program_name, job_ms, max_ms, &report);

    if (report.stop_signal != 0)
        printf("%s: stopped cleanly after %ld jobs\n", program_name, report.jobs);
    else
        printf("%s: no stop signal within %ld ms; stopped by myself after %ld jobs\n",
               program_name, max_ms, report.jobs);
    printf("result: stop=%s jobs=%ld signal_job=%ld ms=%.3f\n",
           report.stop_signal != 0 ? signal_name(report.stop_signal) : "none",
           report.jobs, report.signal_job, ns_to_ms(report.elapsed_ns));
    return 0;
}
