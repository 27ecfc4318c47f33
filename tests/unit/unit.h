/* unit.h - the little every CUnit test file of lib/ shares.
 *
 * A test file is one executable: it lists its tests in a CU_TestInfo array
 * and ends with UNIT_MAIN("suite name", tests).  scripts/run-tests.sh runs
 * every build/tests/unit/test_* and adds up CUnit's run summaries.
 */
#ifndef IPCLAB_UNIT_H
#define IPCLAB_UNIT_H

#include <CUnit/CUnit.h>
#include <sys/types.h>

/* Runs the tests verbosely; returns 0 if all passed, 1 otherwise. */
int unit_run(const char *suite, CU_TestInfo tests[]);

#define UNIT_MAIN(suite, tests) \
    int main(void) { return unit_run((suite), (tests)); }

/* Forks a child that runs fn(arg) and exits with its return value, without
 * running the parent's exit handlers twice.  Returns the child's pid. */
pid_t unit_fork(int (*fn)(void *arg), void *arg);

/* Waits for pid and returns its wait status (fails the test on error). */
int unit_wait(pid_t pid);

/* Makes CUnit's output readable when interleaved with a child's. */
void unit_flush(void);

#endif
