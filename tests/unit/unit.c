/* unit.c - see unit.h. */
#include "unit.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int unit_run(const char *suite, CU_TestInfo tests[])
{
    CU_SuiteInfo suites[] = {
        { suite, NULL, NULL, NULL, NULL, tests },
        CU_SUITE_INFO_NULL,
    };
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "CU_initialize_registry: %s\n", CU_get_error_msg());
        return 1;
    }
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "CU_register_suites: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}

void unit_flush(void)
{
    fflush(stdout);
    fflush(stderr);
}

pid_t unit_fork(int (*fn)(void *arg), void *arg)
{
    pid_t pid;

    unit_flush();
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        _exit(fn(arg));    /* _exit: CUnit's state belongs to the parent */
    return pid;
}

int unit_wait(pid_t pid)
{
    int status = 0;
    pid_t got;

    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    CU_ASSERT_EQUAL_FATAL(got, pid);
    return status;
}
