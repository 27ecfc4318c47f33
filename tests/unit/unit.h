/* unit.h - the little every CUnit test file of lib/ shares.
 *
 * A test file is one executable: it lists its tests in a CU_TestInfo array
 * and ends with UNIT_MAIN("suite name", tests).  scripts/run-tests.sh runs
 * every build/tests/unit/test_* and adds up CUnit's run summaries.
 *
 * Assertions belong in the parent: a forked child's CUnit state is thrown
 * away, so a child reports through its exit status or its output instead.
 */
#ifndef IPCLAB_UNIT_H
#define IPCLAB_UNIT_H

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Runs the tests verbosely; returns 0 if all passed, 1 otherwise.  It
 * first puts SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE back to their
 * defaults if
 * the run inherited them ignored (a background job, nohup).  A
 * watchdog ends the executable with status 3 and a message if it is still
 * running after UNIT_WATCHDOG_SECONDS (a broken function that hangs must
 * fail, not stall the test run); tests leave UNIT_WATCHDOG_SIGNAL alone. */
#define UNIT_WATCHDOG_SECONDS 60
#define UNIT_WATCHDOG_SIGNAL SIGUSR2
int unit_run(const char *suite, CU_TestInfo tests[]);

#define UNIT_MAIN(suite, tests) \
    int main(void) { return unit_run((suite), (tests)); }


/* Forks a child that runs fn(arg) and exits with its return value, without
 * running the parent's exit handlers twice.  Returns the child's pid. */
pid_t unit_fork(int (*fn)(void *arg), void *arg);

/* Waits for pid and returns its wait status (fails the test on error). */
int unit_wait(pid_t pid);

/* Like unit_wait(), but gives up after timeout_ms: then it fails the test,
 * kills the child with SIGKILL and returns the status of that death. */
int unit_wait_timeout(pid_t pid, int timeout_ms);

/* Makes CUnit's output readable when interleaved with a child's. */
void unit_flush(void);

/* True if a wait status says "exited with code" / "killed by sig". */
bool unit_exited(int status, int code);
bool unit_killed_by(int status, int sig);

/* What a child wrote and how it ended. */
#define UNIT_OUTPUT_MAX 16384
struct unit_output {
    int status;                  /* wait status */
    char out[UNIT_OUTPUT_MAX];   /* its stdout, NUL-terminated, maybe cut */
    char err[UNIT_OUTPUT_MAX];   /* its stderr, likewise */
};

/* Runs fn(arg) in a child whose stdout and stderr go to unlinked temporary
 * files, and collects both once it has ended.  fn may return (its value
 * becomes the exit status, after stdio is flushed), exit(), die() or be
 * killed.  A child still running after 10 s is killed and the test fails. */
void unit_capture(int (*fn)(void *arg), void *arg, struct unit_output *output);

/* Sends this process's own descriptor fd (STDOUT_FILENO, STDERR_FILENO) to
 * an unlinked temporary file until unit_redirect_end(), which restores it
 * and copies what was written into buf (NUL-terminated, cut to size). */
struct unit_redirect {
    int fd;
    int saved;
    int file;
};
void unit_redirect_begin(struct unit_redirect *redirect, int fd);
void unit_redirect_end(struct unit_redirect *redirect, char *buf, size_t size);

/* Creates a private (0700) directory under $TMPDIR, or /tmp, into buf.
 * The test removes it (and what it put inside). */
void unit_tmpdir(char *buf, size_t size);

/* Programs a test runs as a fresh process: the test executable itself,
 * exec'd again with "--unit-program NAME ARGS...", so that nothing the
 * tests did before (cleanup handlers installed, entries registered, CUnit)
 * is inherited; a fork would inherit all of it.  main gets argv[0] = NAME,
 * then ARGS, and starts with SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE
 * at their defaults, as a shell starts a program.  Its return value is the
 * exit status. */
struct unit_program {
    const char *name;
    int (*main)(int argc, char **argv);
};
#define UNIT_PROGRAM_FLAG "--unit-program"
int unit_main(int argc, char **argv, const char *suite, CU_TestInfo tests[],
              const struct unit_program programs[]);

#define UNIT_MAIN_WITH_PROGRAMS(suite, tests, programs) \
    int main(int argc, char **argv) \
    { return unit_main(argc, argv, (suite), (tests), (programs)); }

/* Starts program NAME (see above) with args (NULL-terminated, at most 12);
 * it inherits this process's descriptors.  Returns its pid. */
pid_t unit_spawn(const char *name, const char *const args[]);

/* Like unit_capture(), for program NAME with args. */
void unit_run_program(const char *name, const char *const args[],
                      struct unit_output *output);

#endif
