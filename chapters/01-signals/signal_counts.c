/* signal_counts.c - standard signals coalesce, real-time signals queue.
 *
 * Lesson: the kernel keeps one "pending" bit per standard signal, so a
 * SIGUSR1 sent while another is still pending is lost: send 1000 in bursts
 * of 10, and a busy receiver takes about one per burst.  Real-time signals (SIGRTMIN..SIGRTMAX) are queued, one
 * entry per send, and sigqueue() attaches a value to each: all 1000 arrive,
 * in the order sent, each with its value.  Never count events by counting
 * standard signals.
 *
 * Run:  signal_counts                      # a busy receiver: some SIGUSR1 lost
 *       signal_counts --receiver blocked   # signals blocked while sent: exactly 1
 *       signal_counts --burst 1000             # one burst: 1 arrives, busy or not
 *
 * You should see the SIGUSR1 count far below the number sent (about one per
 * burst; exactly 1 when the receiver blocks them), and every SIGRTMIN
 * counted, values in order:
 *       SIGUSR1  (kill):     sent 1000 in 100 bursts of 10, arrived 100
 *       SIGUSR1: 900 lost: sent while one was still pending, they added nothing
 *       SIGRTMIN (sigqueue): sent 1000, arrived 1000, values 1..1000 in order, sum 500500 ...
 *       result: sent=1000 standard=100 realtime=1000 rt_in_order=1 rt_sum_ok=1 rt_queued=1
 */
#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long count = 1000, burst = 10;
#define BURST_PAUSE_NS 100000L   /* between bursts: time for the receiver to run */
static const char *const receiver_names[] = { "busy", "blocked", NULL };
enum { RECEIVER_BUSY, RECEIVER_BLOCKED };
static int receiver = RECEIVER_BUSY;

/* What the receiver sends back to the parent. */
struct tally {
    long standard;      /* SIGUSR1 handler runs */
    long realtime;      /* SIGRTMIN handler runs */
    int rt_in_order;    /* every value was the one after the previous */
    int rt_from_sigqueue;  /* every si_code was SI_QUEUE */
    long rt_sum;        /* sum of the values carried */
    int still_pending;  /* signals pending when the receiver counted */
};

static volatile unsigned long busy_work;   /* volatile: the busy loop stays */

/* region: handlers */
/* Each handler runs with both signals blocked (sa_mask), so neither
 * interrupts the other and each variable has one writer at a time. */
static volatile sig_atomic_t standard_seen, realtime_seen, rt_next = 1;
static volatile sig_atomic_t rt_out_of_order, rt_not_queued, rt_sum;
static void on_sigusr1(int sig)
{
    (void)sig;
    standard_seen++;
}

static void on_sigrtmin(int sig, siginfo_t *info, void *context)
{
    (void)sig, (void)context;
    realtime_seen++;
    if (info->si_code != SI_QUEUE)
        rt_not_queued = 1;
    if (info->si_value.sival_int != rt_next)
        rt_out_of_order = 1;
    rt_next = info->si_value.sival_int + 1;
    rt_sum += info->si_value.sival_int;
}
/* end region: handlers */

static void install_handlers(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR1);
    sigaddset(&sa.sa_mask, SIGRTMIN);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_sigusr1;
    if (sigaction(SIGUSR1, &sa, NULL) != 0)
        die("sigaction SIGUSR1");
    sa.sa_flags = SA_RESTART | SA_SIGINFO;   /* the handler gets si_value */
    sa.sa_sigaction = on_sigrtmin;
    if (sigaction(SIGRTMIN, &sa, NULL) != 0)
        die("sigaction SIGRTMIN");
}

/* region: receiver */
/* The receiver: ready -> (busy, or blocked) until the parent says done ->
 * count.  to_parent carries the ready byte and the tally; from_parent the
 * done byte (or end-of-file if the parent died). */
static _Noreturn void run_receiver(int to_parent, int from_parent)
{
    sigset_t both, pending;
    struct tally tally;
    char byte = 'r';

    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGRTMIN);
    install_handlers();
    if (receiver == RECEIVER_BLOCKED && sigprocmask(SIG_BLOCK, &both, NULL) != 0)
        die("sigprocmask");
    write_full_or_die(to_parent, &byte, 1);

    if (receiver == RECEIVER_BLOCKED) {
        /* Asleep with both signals blocked: they can only become pending. */
        read_full_or_die(from_parent, &byte, 1);
        if (sigprocmask(SIG_UNBLOCK, &both, NULL) != 0)   /* delivered here */
            die("sigprocmask");
    } else {
        /* Busy: computing, signals open, glancing at the pipe now and then. */
        if (fcntl(from_parent, F_SETFL, O_NONBLOCK) != 0)
            die("fcntl");
        for (;;) {
            for (int i = 0; i < 20000; i++)
                busy_work += (unsigned long)i;
            ssize_t got = read(from_parent, &byte, 1);
            if (got == 1 || got == 0)
                break;
            if (errno != EAGAIN && errno != EINTR)
                die("read");
        }
    }
    /* Every signal was sent before the done byte, and a pending, unblocked
     * signal is delivered before read() or sigprocmask() returns to us:
     * nothing can still be on its way.  sigpending() confirms it. */
    if (sigpending(&pending) != 0)
        die("sigpending");
    memset(&tally, 0, sizeof tally);
    tally.standard = standard_seen;
    tally.realtime = realtime_seen;
    tally.rt_in_order = !rt_out_of_order;
    tally.rt_from_sigqueue = !rt_not_queued;
    tally.rt_sum = rt_sum;
    tally.still_pending = sigismember(&pending, SIGUSR1) + sigismember(&pending, SIGRTMIN);
    write_full_or_die(to_parent, &tally, sizeof tally);
    exit(0);
}
/* end region: receiver */

static const struct cli_option options[] = {
    CLI_OPTION_LONG("count", &count, 1, 20000, "N", "signals of each kind to send"),
    CLI_OPTION_LONG("burst", &burst, 1, 20000, "N",
                    "SIGUSR1 sent back to back, then a pause of 0.1 ms"),
    CLI_OPTION_CHOICE("receiver", &receiver, receiver_names, "HOW",
                      "what the receiver does while the signals are sent"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends N SIGUSR1 (kill) and N SIGRTMIN (sigqueue, with a value) to a\n"
               "child and prints how many of each arrived.",
    .options = options,
    .details = "A busy receiver computes with the signals open: it takes a SIGUSR1\n"
               "whenever it runs, about one per burst; a blocked receiver blocks both\n"
               "signals while they are sent: every SIGUSR1 after the first finds one\n"
               "pending already, and only one arrives.  Real-time signals queue up to\n"
               "RLIMIT_SIGPENDING per user (ulimit -i); sigqueue() fails with EAGAIN\n"
               "beyond it.",
};

int main(int argc, char **argv)
{
    int up[2], down[2], status;
    struct tally tally;
    long rt_sent = 0, expected_sum;
    char byte;
    pid_t pid;
    int handle;

    cli_parse(&cli, argc, argv);
    if (pipe(up) != 0 || pipe(down) != 0)
        die("pipe");
    pid = fork_child_or_die(&handle);   /* registered for cleanup */
    if (pid == 0) {
        close(up[0]);
        close(down[1]);
        run_receiver(up[1], down[0]);
    }
    close(up[1]);
    close(down[0]);
    if (read_full(up[0], &byte, 1) != 1)
        fatal("the receiver died before it was ready");
    printf("receiver pid %ld is %s\n", (long)pid,
           receiver == RECEIVER_BUSY ? "busy: computing with the signals unblocked"
                                     : "blocking SIGUSR1 and SIGRTMIN while they are sent");

    /* region: send */
    /* In bursts: the kills of one burst come faster than the receiver can
     * take them, and the pause gives it time to run, on any number of CPUs. */
    for (long i = 0; i < count; i++) {
        if (kill(pid, SIGUSR1) != 0)
            die("kill");
        if ((i + 1) % burst == 0 && i + 1 < count) {
            struct timespec pause = { 0, BURST_PAUSE_NS };
            nanosleep(&pause, NULL);
        }
    }
    for (long i = 1; i <= count; i++) {
        union sigval value = { .sival_int = (int)i };
        if (sigqueue(pid, SIGRTMIN, value) != 0) {
            if (errno != EAGAIN)
                die("sigqueue");
            /* The queue is full: RLIMIT_SIGPENDING entries are pending. */
            struct rlimit limit;
            getrlimit(RLIMIT_SIGPENDING, &limit);
            printf("sigqueue: EAGAIN after %ld signals: the queue is full "
                   "(RLIMIT_SIGPENDING %ld)\n", rt_sent, (long)limit.rlim_cur);
            break;
        }
        rt_sent++;
    }
    /* end region: send */
    write_full_or_die(down[1], "d", 1);
    if (read_full(up[0], &tally, sizeof tally) != (ssize_t)sizeof tally)
        fatal("the receiver died before it reported");
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    cleanup_forget(handle);

    expected_sum = rt_sent * (rt_sent + 1) / 2;
    printf("SIGUSR1  (kill):     sent %ld in %ld bursts of %ld, arrived %ld\n", count,
           (count + burst - 1) / burst, burst, tally.standard);
    if (receiver == RECEIVER_BLOCKED)
        printf("SIGUSR1: blocked while sent, they collapsed into one pending signal\n");
    else if (tally.standard < count)
        printf("SIGUSR1: %ld lost: sent while one was still pending, they added nothing\n",
               count - tally.standard);
    else
        printf("SIGUSR1: none lost this time: the receiver took each before the next came\n");
    printf("SIGRTMIN (sigqueue): sent %ld, arrived %ld, values 1..%ld %s, sum %ld (expected %ld)\n",
           rt_sent, tally.realtime, rt_sent, tally.rt_in_order ? "in order" : "OUT OF ORDER",
           tally.rt_sum, expected_sum);
    if (tally.still_pending != 0)
        printf("warning: %d signals were still pending when the receiver counted\n",
               tally.still_pending);
    printf("result: sent=%ld standard=%ld realtime=%ld rt_in_order=%d rt_sum_ok=%d "
           "rt_queued=%d\n", count, tally.standard, tally.realtime, tally.rt_in_order,
           tally.rt_sum == expected_sum, tally.rt_from_sigqueue);
    return 0;
}
