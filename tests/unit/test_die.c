/* test_die.c - error messages that name the call and errno (lib/die.c). */
#include "unit.h"

#include "die.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_errno_name_gives_the_symbol(void)
{
    CU_ASSERT_STRING_EQUAL(errno_name(EACCES), "EACCES");
    CU_ASSERT_STRING_EQUAL(errno_name(ENOENT), "ENOENT");
    CU_ASSERT_STRING_EQUAL(errno_name(EINTR), "EINTR");
    CU_ASSERT_STRING_EQUAL(errno_name(EPIPE), "EPIPE");
    CU_ASSERT_STRING_EQUAL(errno_name(ENOSPC), "ENOSPC");
}

static void test_errno_name_of_an_unknown_number(void)
{
    char first[32];

    snprintf(first, sizeof first, "%s", errno_name(99999));
    CU_ASSERT_STRING_EQUAL(first, "E#99999");
    CU_ASSERT_STRING_EQUAL(errno_name(-3), "E#-3");
    /* A known name after an unknown one is still right. */
    CU_ASSERT_STRING_EQUAL(errno_name(EEXIST), "EEXIST");
}

static void test_warn_errnum_format(void)
{
    struct unit_redirect r;
    char err[1024];

    program_name = "tprog";
    errno = EBUSY;
    unit_redirect_begin(&r, STDERR_FILENO);
    warn_errnum(EACCES, "shmget %s %d", "key", 7);
    warn_errnum(0, "plain %s", "message");
    CU_ASSERT_EQUAL(errno, EBUSY);           /* a warning leaves errno alone */
    unit_redirect_end(&r, err, sizeof err);
    CU_ASSERT_STRING_EQUAL(err, "tprog: shmget key 7: EACCES (Permission denied)\n"
                                "tprog: plain message\n");
    program_name = "ipclab";
}

static void test_warn_errnum_cuts_a_long_message_but_ends_the_line(void)
{
    struct unit_redirect r;
    char long_text[2000], err[4096];
    const char *nl;

    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    program_name = "t";
    unit_redirect_begin(&r, STDERR_FILENO);
    warn_errnum(ENOENT, "%s", long_text);
    unit_redirect_end(&r, err, sizeof err);
    program_name = "ipclab";
    CU_ASSERT_EQUAL(strncmp(err, "t: xxx", 6), 0);
    nl = strchr(err, '\n');
    CU_ASSERT_PTR_NOT_NULL(nl);
    CU_ASSERT(nl != NULL && nl[1] == '\0');   /* exactly one line */
    CU_ASSERT(strlen(err) < 700);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "x: ENOENT (No such file or directory)\n"));
}

/* Children: each sets errno to something else first, to prove the right
 * number is reported; an exit handler proves exit() (not _exit) is used. */
static void say_exit_handlers_ran(void)
{
    static const char text[] = "exit handlers ran\n";
    ssize_t unused = write(STDOUT_FILENO, text, sizeof text - 1);
    (void)unused;
}

static int call_die(void *arg)
{
    (void)arg;
    program_name = "shm_counter";
    atexit(say_exit_handlers_ran);
    errno = EACCES;
    die("shmget(size %d)", 64);
}

static int call_die_errnum(void *arg)
{
    (void)arg;
    program_name = "p";
    atexit(say_exit_handlers_ran);
    errno = ENOENT;
    die_errnum(EAGAIN, "pthread_mutex_trylock");
}

static int call_fatal(void *arg)
{
    (void)arg;
    program_name = "p";
    atexit(say_exit_handlers_ran);
    errno = EIO;
    fatal("bad frame: %s", "truncated");
}

static void test_die_names_call_and_errno_and_exits_1(void)
{
    struct unit_output o;

    unit_capture(call_die, NULL, &o);
    CU_ASSERT(unit_exited(o.status, 1));
    CU_ASSERT_STRING_EQUAL(o.err, "shm_counter: shmget(size 64): EACCES (Permission denied)\n");
    CU_ASSERT_STRING_EQUAL(o.out, "exit handlers ran\n");
}

static void test_die_errnum_uses_the_given_number(void)
{
    struct unit_output o;

    unit_capture(call_die_errnum, NULL, &o);
    CU_ASSERT(unit_exited(o.status, 1));
    CU_ASSERT_STRING_EQUAL(o.err, "p: pthread_mutex_trylock: EAGAIN (Resource temporarily unavailable)\n");
    CU_ASSERT_STRING_EQUAL(o.out, "exit handlers ran\n");
}

static void test_fatal_has_no_errno_part(void)
{
    struct unit_output o;

    unit_capture(call_fatal, NULL, &o);
    CU_ASSERT(unit_exited(o.status, 1));
    CU_ASSERT_STRING_EQUAL(o.err, "p: bad frame: truncated\n");
    CU_ASSERT_STRING_EQUAL(o.out, "exit handlers ran\n");
}

static void test_signal_name(void)
{
    char expected[32];

    CU_ASSERT_STRING_EQUAL(signal_name(SIGTERM), "SIGTERM");
    CU_ASSERT_STRING_EQUAL(signal_name(SIGKILL), "SIGKILL");
    CU_ASSERT_STRING_EQUAL(signal_name(SIGPIPE), "SIGPIPE");
    CU_ASSERT_STRING_EQUAL(signal_name(SIGRTMIN), "SIGRTMIN");
    CU_ASSERT_STRING_EQUAL(signal_name(SIGRTMIN + 3), "SIGRTMIN+3");
    snprintf(expected, sizeof expected, "signal %d", SIGRTMAX + 5);
    CU_ASSERT_STRING_EQUAL(signal_name(SIGRTMAX + 5), expected);
    CU_ASSERT_STRING_EQUAL(signal_name(0), "signal 0");
    CU_ASSERT_STRING_EQUAL(signal_name(-1), "signal -1");
    snprintf(expected, sizeof expected, "SIGRTMIN+%d", SIGRTMAX - SIGRTMIN);
    CU_ASSERT_STRING_EQUAL(signal_name(SIGRTMAX), expected);
    CU_ASSERT_STRING_EQUAL(signal_name(SIGCHLD), "SIGCHLD");
    CU_ASSERT_STRING_EQUAL(signal_name(SIGUSR2), "SIGUSR2");
    /* Every classic signal has a SIG name of its own. */
    for (int sig = 1; sig < 32; sig++) {
        const char *name = signal_name(sig);
        CU_ASSERT(strncmp(name, "SIG", 3) == 0 && strlen(name) > 3 && strchr(name, ' ') == NULL);
    }
}

static CU_TestInfo tests[] = {
    { "signal_name: SIGTERM, SIGRTMIN+3, signal N", test_signal_name },
    { "errno_name gives the symbol", test_errno_name_gives_the_symbol },
    { "errno_name of an unknown number is E#n", test_errno_name_of_an_unknown_number },
    { "warn_errnum: program: what: ENAME (text)", test_warn_errnum_format },
    { "warn_errnum cuts a long message, still one line", test_warn_errnum_cuts_a_long_message_but_ends_the_line },
    { "die names the call and errno, runs exit handlers, exits 1", test_die_names_call_and_errno_and_exits_1 },
    { "die_errnum reports the number it is given", test_die_errnum_uses_the_given_number },
    { "fatal prints no errno part and exits 1", test_fatal_has_no_errno_part },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("die", tests)
