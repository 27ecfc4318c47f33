/* poll_wakeup.c - wake a poll() loop with a signal, without losing the signal.
 *
 * Lesson: a loop that checks a flag set by a handler and then calls poll()
 * has a gap: a signal that lands between the check and the call sets the
 * flag too late, and poll() sleeps through it until its timeout.  The
 * self-pipe trick closes the gap (the handler writes a byte to a pipe that
 * poll() watches, so the wake-up waits in the pipe), and so does signalfd
 * (Linux: the signal stays blocked and pending, and a descriptor becomes
 * readable).  --method is the only difference between the three.
 *
 * Run:  poll_wakeup --method flag        # the signal lands in the gap: missed
 *       poll_wakeup --method self-pipe   # the same timing: woken at once
 *       poll_wakeup --method signalfd    # the same timing: woken at once
 *       poll_wakeup --method flag --land poll   # lands during poll(): EINTR wakes it
 *
 * You should see a child send SIGUSR1 and the loop wake by signal, except
 * for --method flag with the signal in the gap, which sleeps to the timeout:
 *       poll_wakeup: woken by SIGUSR1 0.041 ms after it was sent (self-pipe)
 *       result: method=self-pipe land=gap woke_by=signal missed=0 ms=0.052
 *       result: method=flag land=gap woke_by=timeout missed=1 ms=500.261
 */
#define _GNU_SOURCE   /* signalfd(2): a Linux extension */
#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const method_names[] = { "flag", "self-pipe", "signalfd", NULL };
enum { METHOD_FLAG, METHOD_SELF_PIPE, METHOD_SIGNALFD };
static int method = METHOD_SELF_PIPE;
static const char *const land_names[] = { "gap", "poll", NULL };
enum { LAND_GAP, LAND_POLL };
static int land = LAND_GAP;
static long timeout_ms = 500, delay_ms = 50;

static const int watched[] = { SIGUSR1, SIGTERM, SIGINT };
#define NWATCHED (sizeof watched / sizeof watched[0])

/* region: handlers */
static volatile sig_atomic_t flag_signal;  /* --method flag: the last signal */
static int self_pipe[2] = { -1, -1 };      /* --method self-pipe */

static void on_signal_flag(int sig)
{
    flag_signal = sig;
}

/* write() is async-signal-safe.  The pipe is non-blocking: if it is full, a
 * wake-up is already waiting, and losing this byte loses nothing.  errno is
 * saved because the interrupted code may be about to read it. */
static void on_signal_pipe(int sig)
{
    int saved = errno;
    unsigned char byte = (unsigned char)sig;

    (void)write(self_pipe[1], &byte, 1);
    errno = saved;
}
/* end region: handlers */

static void install_all(void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < NWATCHED; i++)
        if (sigaction(watched[i], &sa, NULL) != 0)
            die("sigaction");
}

/* Sets up the chosen method; returns the descriptor poll() must watch, or -1
 * (--method flag watches nothing: poll() only sleeps). */
static int setup_method(void)
{
    sigset_t set;
    int fd;

    switch (method) {
    case METHOD_SELF_PIPE:
        if (pipe(self_pipe) != 0)
            die("pipe");
        for (int i = 0; i < 2; i++)
            if (fcntl(self_pipe[i], F_SETFL, O_NONBLOCK) != 0 ||
                fcntl(self_pipe[i], F_SETFD, FD_CLOEXEC) != 0)
                die("fcntl");
        install_all(on_signal_pipe);
        return self_pipe[0];
    case METHOD_SIGNALFD:
        /* Blocked signals stay pending; signalfd reads them off the queue. */
        sigemptyset(&set);
        for (size_t i = 0; i < NWATCHED; i++)
            sigaddset(&set, watched[i]);
        if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
            die("sigprocmask");
        fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd < 0)
            die("signalfd");
        return fd;
    default:
        install_all(on_signal_flag);
        return -1;
    }
}

/* Takes what the wake-up descriptor holds; returns the last signal, 0 if none. */
static int drain(int fd)
{
    int sig = 0;

    if (method == METHOD_SELF_PIPE) {
        unsigned char bytes[64];
        ssize_t n;
        while ((n = read(fd, bytes, sizeof bytes)) > 0)
            sig = bytes[n - 1];
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            die("read self-pipe");
    } else if (method == METHOD_SIGNALFD) {
        struct signalfd_siginfo info;
        ssize_t n;
        while ((n = read(fd, &info, sizeof info)) == (ssize_t)sizeof info)
            sig = (int)info.ssi_signo;
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            die("read signalfd");
    }
    return sig;
}

/* The signaller: waits for the go byte, (for --land poll) sleeps delay_ms,
 * sends SIGUSR1 to the parent, then tells it when it sent. */
static _Noreturn void run_signaller(pid_t parent, int go_fd, int sent_fd)
{
    struct sigaction dfl;
    sigset_t none;
    char byte;

    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (size_t i = 0; i < NWATCHED; i++)
        sigaction(watched[i], &dfl, NULL);   /* the parent's handlers are not ours */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (read_full(go_fd, &byte, 1) != 1)
        exit(1);                             /* the parent went away */
    if (land == LAND_POLL) {
        struct timespec pause = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
        nanosleep(&pause, NULL);
    }
    uint64_t sent_at = monotonic_ns();
    if (kill(parent, SIGUSR1) != 0)
        die("kill");
    /* kill() returns after the signal is pending in the parent. */
    write_full_or_die(sent_fd, &sent_at, sizeof sent_at);
    exit(0);
}

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("method", &method, method_names, "HOW",
                      "how the handler reaches the loop"),
    CLI_OPTION_CHOICE("land", &land, land_names, "WHERE",
                      "where in the loop the signal lands"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 600000, "MS", "poll() timeout"),
    CLI_OPTION_LONG("delay-ms", &delay_ms, 0, 600000, "MS",
                    "--land poll: the signal comes this long after the loop starts"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "A child sends SIGUSR1 to a poll() loop, which must wake up: with a\n"
               "plain flag, a self-pipe, or signalfd.",
    .options = options,
    .details = "--land gap: between the loop's look at the flag and its poll() call;\n"
               "--land poll: while poll() waits.  SIGTERM or SIGINT wake the loop the\n"
               "same way and stop it cleanly.",
};

int main(int argc, char **argv)
{
    int go[2], sent[2], wake_fd, handle, stop, sig = 0;
    uint64_t start, sent_at = 0, woke_at;
    const char *woke_by = "timeout";
    pid_t pid;

    cli_parse(&cli, argc, argv);
    if (land == LAND_POLL && delay_ms >= timeout_ms)
        usage_error("--delay-ms must be shorter than --timeout-ms");
    wake_fd = setup_method();
    if (pipe(go) != 0 || pipe(sent) != 0)
        die("pipe");
    pid = fork_child_or_die(&handle);   /* registered for cleanup */
    if (pid == 0) {
        close(go[1]);
        close(sent[0]);
        run_signaller(getppid(), go[0], sent[1]);
    }
    close(go[0]);
    close(sent[1]);
    printf("%s: method %s; SIGUSR1 lands %s; timeout %ld ms\n", program_name,
           method_names[method],
           land == LAND_GAP ? "between the check and poll()" : "while poll() waits",
           timeout_ms);

    start = monotonic_ns();
    if (land == LAND_POLL)
        write_full_or_die(go[1], "g", 1);   /* the signal comes in delay_ms */
    /* region: loop */
    for (;;) {
        /* 1. Look at what the handler left: the flag method's only chance. */
        if (method == METHOD_FLAG && flag_signal != 0) {
            sig = flag_signal;
            flag_signal = 0;
            woke_by = "signal";
            break;
        }
        /* The gap.  --land gap has the child send the signal now, and
         * waits until it has: it lands, every time, where a plain flag
         * misses it. */
        if (land == LAND_GAP && sent_at == 0) {
            write_full_or_die(go[1], "g", 1);
            if (read_full(sent[0], &sent_at, sizeof sent_at) != (ssize_t)sizeof sent_at)
                fatal("the signaller died before it sent the signal");
        }

        /* 2. Sleep until the wake-up descriptor is readable or the timeout. */
        struct pollfd pfd = { .fd = wake_fd, .events = POLLIN };
        uint64_t spent_ms = (monotonic_ns() - start) / 1000000u;
        int left = spent_ms >= (uint64_t)timeout_ms ? 0 : (int)(timeout_ms - (long)spent_ms);
        int n = poll(&pfd, wake_fd >= 0 ? 1 : 0, left);
        if (n < 0 && errno != EINTR)
            die("poll");
        if (n < 0)
            continue;            /* EINTR: a handler ran; look again */
        if (n == 0)
            break;               /* timeout */
        sig = drain(wake_fd);
        if (sig != 0) {
            woke_by = "signal";
            break;
        }
    }
    /* end region: loop */
    woke_at = monotonic_ns();

    stop = sig == SIGTERM || sig == SIGINT;
    if (method == METHOD_FLAG && sig == 0 && flag_signal != 0)
        printf("%s: the handler had set the flag, but poll() slept through it "
               "until the timeout\n", program_name);
    if (stop) {
        printf("%s: woken by %s; stopping cleanly\n", program_name, signal_name(sig));
    } else {
        if (sent_at == 0 &&
            read_full(sent[0], &sent_at, sizeof sent_at) != (ssize_t)sizeof sent_at)
            fatal("the signaller died before it sent the signal");
        if (sig != 0)
            printf("%s: woken by %s %.3f ms after it was sent (%s)\n", program_name,
                   signal_name(sig), ns_to_ms(woke_at - sent_at), method_names[method]);
        else
            printf("%s: woken by the timeout %.3f ms after the signal was sent\n",
                   program_name, ns_to_ms(woke_at - sent_at));
    }
    cleanup_remove(handle);      /* the signaller: ended already, or stopped now */

    printf("result: method=%s land=%s woke_by=%s missed=%d ms=%.3f\n", method_names[method],
           land_names[land], stop ? signal_name(sig) : woke_by,
           !stop && sig == 0, ns_to_ms(woke_at - start));
    return 0;
}
