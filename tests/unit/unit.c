/* unit.c - see unit.h. */
#include "unit.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STR_(x) #x
#define STR(x) STR_(x)

static void on_watchdog(int sig)
{
    static const char text[] = "\nunit: still running after "
                               STR(UNIT_WATCHDOG_SECONDS) " s: a test hung\n";
    ssize_t ignored = write(STDERR_FILENO, text, sizeof text - 1);

    (void)sig;
    (void)ignored;      /* nothing better to do about a failed message */
    _exit(3);
}

/* A test of a broken function may hang rather than fail (a read loop that
 * never sees end-of-file); the watchdog turns that into a failure.  A POSIX
 * timer, so that the tests keep alarm() and ITIMER_REAL for themselves and
 * forked children do not inherit it. */
static void start_watchdog(void)
{
    struct sigaction sa;
    struct sigevent ev;
    struct itimerspec when = { { 0, 0 }, { UNIT_WATCHDOG_SECONDS, 0 } };
    timer_t timer;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_watchdog;
    sigemptyset(&sa.sa_mask);
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = UNIT_WATCHDOG_SIGNAL;
    if (sigaction(UNIT_WATCHDOG_SIGNAL, &sa, NULL) != 0 ||
        timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0 ||
        timer_settime(timer, 0, &when, NULL) != 0)
        perror("unit: watchdog");
}

/* A test run started in the background, or under nohup, inherits some
 * signals ignored; the tests expect what a program normally starts with. */
static void default_signals(void)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };

    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        if (sigaction(sigs[i], NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
            signal(sigs[i], SIG_DFL);
    }
}

int unit_run(const char *suite, CU_TestInfo tests[])
{
    CU_SuiteInfo suites[] = {
        { suite, NULL, NULL, NULL, NULL, tests },
        CU_SUITE_INFO_NULL,
    };
    unsigned failed;

    default_signals();
    start_watchdog();

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

int unit_main(int argc, char **argv, const char *suite, CU_TestInfo tests[],
              const struct unit_program programs[])
{
    if (argc >= 3 && strcmp(argv[1], UNIT_PROGRAM_FLAG) == 0) {
        for (const struct unit_program *p = programs; p != NULL && p->name != NULL; p++) {
            if (strcmp(p->name, argv[2]) == 0) {
                default_signals();
                return p->main(argc - 2, argv + 2);
            }
        }
        fprintf(stderr, "unit: no program named '%s'\n", argv[2]);
        return 125;
    }
    return unit_run(suite, tests);
}

/* In a forked child: becomes program name.  Never returns. */
static _Noreturn void exec_program(const char *name, const char *const args[])
{
    char *argv[16];
    int n = 0;

    argv[n++] = "unit-test";
    argv[n++] = UNIT_PROGRAM_FLAG;
    argv[n++] = (char *)name;
    for (int i = 0; args != NULL && args[i] != NULL && n < 15; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    execv("/proc/self/exe", argv);
    perror("unit: execv /proc/self/exe");
    _exit(127);               /* exec failed: nothing of the test's may run */
}

pid_t unit_spawn(const char *name, const char *const args[])
{
    pid_t pid;

    unit_flush();
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        exec_program(name, args);
    return pid;
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

int unit_wait_timeout(pid_t pid, int timeout_ms)
{
    const struct timespec tick = { 0, 1000000 };   /* 1 ms */
    int status = 0;

    for (int waited = 0; waited < timeout_ms; waited++) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return status;
        if (got < 0 && errno != EINTR) {
            CU_FAIL_FATAL("waitpid failed");
        }
        nanosleep(&tick, NULL);
    }
    fprintf(stderr, "unit: child %ld still running after %d ms; killing it\n",
            (long)pid, timeout_ms);
    CU_FAIL("child timed out");
    kill(pid, SIGKILL);
    return unit_wait(pid);
}

bool unit_exited(int status, int code)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

bool unit_killed_by(int status, int sig)
{
    return WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

/* An unlinked temporary file (tmpfile() makes it 0600), as a descriptor. */
static int temp_fd(void)
{
    FILE *f = tmpfile();
    int fd;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fd = dup(fileno(f));
    fclose(f);
    CU_ASSERT_FATAL(fd >= 0);
    return fd;
}

/* Copies the whole file behind fd into buf, NUL-terminated, and closes fd. */
static void slurp(int fd, char *buf, size_t size)
{
    size_t done = 0;

    CU_ASSERT(lseek(fd, 0, SEEK_SET) == 0);
    while (done + 1 < size) {
        ssize_t got = read(fd, buf + done, size - 1 - done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        done += (size_t)got;
    }
    buf[done] = '\0';
    close(fd);
}

void unit_capture(int (*fn)(void *arg), void *arg, struct unit_output *output)
{
    int out = temp_fd(), err = temp_fd();
    pid_t pid;

    unit_flush();
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int rc;

        if (dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
            _exit(126);
        close(out);
        close(err);
        rc = fn(arg);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);          /* _exit: CUnit's state belongs to the parent */
    }
    output->status = unit_wait_timeout(pid, 10000);
    slurp(out, output->out, sizeof output->out);
    slurp(err, output->err, sizeof output->err);
}

void unit_run_program(const char *name, const char *const args[],
                      struct unit_output *output)
{
    int out = temp_fd(), err = temp_fd();
    pid_t pid;

    unit_flush();
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        if (dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
            _exit(126);
        close(out);
        close(err);
        exec_program(name, args);
    }
    output->status = unit_wait_timeout(pid, 10000);
    slurp(out, output->out, sizeof output->out);
    slurp(err, output->err, sizeof output->err);
}

void unit_redirect_begin(struct unit_redirect *redirect, int fd)
{
    unit_flush();
    redirect->fd = fd;
    redirect->file = temp_fd();
    redirect->saved = dup(fd);
    CU_ASSERT_FATAL(redirect->saved >= 0);
    CU_ASSERT_FATAL(dup2(redirect->file, fd) == fd);
}

void unit_redirect_end(struct unit_redirect *redirect, char *buf, size_t size)
{
    unit_flush();
    CU_ASSERT_FATAL(dup2(redirect->saved, redirect->fd) == redirect->fd);
    close(redirect->saved);
    slurp(redirect->file, buf, size);
}

void unit_tmpdir(char *buf, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    int n;

    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    n = snprintf(buf, size, "%s/ipclab-unit-XXXXXX", tmp);
    CU_ASSERT_FATAL(n > 0 && (size_t)n < size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(buf));
}
