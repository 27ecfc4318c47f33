/* lost_wakeup.c - why "the handler sets a flag, the loop checks it, then calls msgrcv" loses a signal.
 *
 * Lesson: a loop that checks a flag and then blocks in msgrcv() has a gap
 * between the two.  A signal that lands in the gap runs its handler (the
 * flag is set) before the call starts, so nothing interrupts the call:
 * the stop waits for the next message, possibly forever.  System V queues
 * have no pselect-like call that unblocks signals and waits atomically.
 * The fix qdaemon uses: signals blocked in the thread that waits on the
 * queue, taken by another thread (sigwaitinfo here, signalfd in libev),
 * which wakes the receiver with a message.  A message, unlike a signal,
 * waits in the queue until it is taken: it cannot fall into the gap.
 *
 * To make the loss certain, the demo widens the gap and sends SIGTERM into
 * it: a timer fires 10 ms into a 100 ms pause between the check and
 * msgrcv(), so the signal always lands after the one and before the other,
 * however the machine is loaded.  A SIGUSR1 every --rescue-ms stands for
 * "the next event" that finally wakes the call.  The two variants differ
 * only in how they wait: the race checks (tests/race/checks.txt) require
 * lost=1 from every naive run and lost=0 from every thread run.
 *
 * Run:  lost_wakeup --wait naive
 *       lost_wakeup --wait thread
 *
 * You should see, for naive:
 *       SIGTERM arrived in the gap: after the flag was checked, before msgrcv() began
 *       msgrcv() returned after 1000 ms: woken by the next event (SIGUSR1), not by SIGTERM
 *       result: wait=naive lost=1 stop_seen_ms=1000 ms=1000
 * and for thread: lost=0 stop_seen_ms=100 (the end of the gap).
 */
#include "ipclab.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>

#define SIGNAL_MS 10
#define GAP_MS 100

static int wait_kind = 0;
static long rescue_ms = 1000;
static const char *const kinds[] = { "naive", "thread", NULL };
static atomic_int stop_flag;     /* lock-free: safe in a handler and between threads */
static int msqid;
static uint64_t t0;
static long lost;                /* msgrcv() woken by something else, the stop already there */

struct msg {
    long mtype;
    char text[8];
};

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("wait", &wait_kind, kinds, "HOW",
                      "naive (flag + msgrcv) or thread (receiver thread + sigwaitinfo)"),
    CLI_OPTION_LONG("rescue-ms", &rescue_ms, 200, 10000, "MS",
                    "how often the next event comes (a SIGUSR1)"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Shows a stop signal lost in the gap before msgrcv(), and the receiver\n"
               "thread that cannot lose it.",
    .options = options,
    .details = "The result line's lost= counts the times msgrcv() was woken by another\n"
               "event while the stop had already come: 1 for naive, 0 for thread, every run.",
};

static long elapsed_ms(void)
{
    return (long)((monotonic_ns() - t0) / 1000000u);
}

static void on_term(int sig)
{
    (void)sig;
    stop_flag = 1;              /* all a handler may safely do */
}

static void on_rescue(int sig)
{
    (void)sig;                  /* exists only to interrupt msgrcv() */
}

/* "The next event": a SIGUSR1 every rescue_ms, for as long as it runs, so
 * a lost stop is always found in the end, however late the gap ran. */
static void rescue_start(void)
{
    struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
    struct timespec period = { rescue_ms / 1000, (rescue_ms % 1000) * 1000000L };
    struct itimerspec when = { period, period };
    timer_t timer;

    if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0 || timer_settime(timer, 0, &when, NULL) != 0)
        die("timer_create/timer_settime");
}

/* The widened gap between the flag check and msgrcv(): SIGTERM is sent
 * into it, so it always lands after the check and before the call. */
static void gap(void)
{
    const struct timespec pause = { 0, GAP_MS * 1000000L };
    struct timespec left = pause;
    static bool sent;

    if (!sent) {
        sent = true;
        signal_after_ms_or_die(SIGTERM, SIGNAL_MS);   /* lands inside the gap */
    }
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

/* region: naive */
static long naive_loop(void)
{
    struct msg m;

    for (;;) {
        if (stop_flag)
            break;
        gap();                  /* in real code: a few instructions */
        if (stop_flag)
            printf("SIGTERM arrived in the gap: after the flag was checked, before msgrcv() began\n");
        if (msgrcv(msqid, &m, sizeof m.text, 0, 0) < 0 && errno == EINTR && stop_flag) {
            lost++;             /* the stop was there all along; something else woke us */
            printf("msgrcv() returned after %ld ms: woken by the next event (SIGUSR1), not by SIGTERM\n",
                   elapsed_ms());
        }
    }
    return elapsed_ms();
}
/* end region: naive */

/* region: thread */
static void *receiver(void *arg)
{
    struct msg m;

    (void)arg;
    for (;;) {
        if (stop_flag)
            break;
        gap();
        ssize_t got = msgrcv(msqid, &m, sizeof m.text, 0, 0);
        if (got >= 0 && strcmp(m.text, "wake") == 0)
            printf("msgrcv() returned after %ld ms with the wake-up message\n", elapsed_ms());
        else if (got < 0 && errno == EINTR && stop_flag)
            lost++;             /* cannot happen: every signal is blocked here */
    }
    return NULL;
}

static long thread_loop(void)
{
    struct msg wake = { 1, "wake" };
    sigset_t term, all;
    pthread_t rx;
    int err;

    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    /* The receiver starts with every signal blocked: none can interrupt
     * it, none can be lost in its gap.  SIGTERM stays blocked here too,
     * pending until sigwaitinfo() takes it. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    err = pthread_create(&rx, NULL, receiver, NULL);
    pthread_sigmask(SIG_SETMASK, &term, NULL);
    if (err != 0)
        die_errnum(err, "pthread_create");
    while (sigwaitinfo(&term, NULL) < 0)        /* SIGTERM stays pending till here */
        if (errno != EINTR)
            die("sigwaitinfo");
    printf("SIGTERM taken by sigwaitinfo() after %ld ms; waking the receiver\n", elapsed_ms());
    stop_flag = 1;
    if (msgsnd(msqid, &wake, sizeof wake.text, 0) != 0)
        die("msgsnd");
    pthread_join(rx, NULL);
    return elapsed_ms();
}
/* end region: thread */

int main(int argc, char **argv)
{
    struct sigaction sa;
    sigset_t saved;
    long seen;

    cli_parse(&cli, argc, argv);
    cleanup_block_signals(&saved);
    msqid = msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600);
    if (msqid >= 0)
        cleanup_check(cleanup_add_sysv_msg(msqid), "the queue");
    cleanup_unblock_signals(&saved);
    if (msqid < 0)
        die("msgget");

    /* No SA_RESTART: msgrcv() is never restarted anyway, and the rescue
     * signal must make it return. */
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_rescue;
    sigaction(SIGUSR1, &sa, NULL);

    t0 = monotonic_ns();
    rescue_start();
    seen = wait_kind == 0 ? naive_loop() : thread_loop();
    printf("result: wait=%s lost=%ld stop_seen_ms=%ld ms=%ld\n", kinds[wait_kind], lost, seen,
           elapsed_ms());
    return 0;
}
