/* send_signal.c - kill(2) to a pid you name: the sender a PHP pcntl_signal() handler waits for.
 *
 * Lesson: a signal carries no data, only its number, and any process of
 * the same user may send one to any other by pid: kill(pid, sig).  That is
 * how the PHP articles start and stop their workers (posix_kill in PHP,
 * pcntl_signal to catch it); this program is the C sender.  Standard
 * signals do not queue: --count 3 sends three, and a receiver that was
 * busy may see one (chapter 01's signal_counts measures it).
 *
 * Run:  sleep 30 & send_signal --pid $! --signal TERM
 *       php handler.php &                 # a PHP script with pcntl_signal()
 *       send_signal --pid PID --signal USR1 --count 2
 *
 * You should see one line per signal sent:
 *       sent SIGTERM to pid 4711
 * and, for a pid that does not exist:
 *       send_signal: kill pid 4711 SIGTERM: ESRCH (No such process)
 */
#include "ipclab.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static long pid = 0, count = 1;
static const char *signal_text = "TERM";

/* The signals a worker is usually told something with. */
static const struct { const char *name; int number; } known[] = {
    { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "KILL", SIGKILL },
    { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
    { "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "WINCH", SIGWINCH },
};

static const struct cli_option options[] = {
    CLI_OPTION_LONG("pid", &pid, 2, 4194304, "N", "the process to signal (required)"),
    CLI_OPTION_STRING("signal", &signal_text, "NAME",
                      "HUP INT QUIT KILL USR1 USR2 ALRM TERM CHLD CONT STOP WINCH, with or "
                      "without SIG"),
    CLI_OPTION_LONG("count", &count, 1, 1000, "N", "how many times to send it"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Sends a signal to the process --pid names, with kill(2).",
    .options = options,
    .details = "pid 1 and the process groups (0 and negative pids) are refused:\n"
               "a mistyped number must not reach every process you own.",
};

/* "TERM", "SIGTERM" or "sigterm": its number, or 0. */
static int signal_number(const char *text)
{
    if (strncasecmp(text, "SIG", 3) == 0)
        text += 3;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcasecmp(text, known[i].name) == 0)
            return known[i].number;
    return 0;
}

int main(int argc, char **argv)
{
    int sig;

    cli_parse(&cli, argc, argv);
    if (pid == 0)
        usage_error("--pid is required: the process to signal");
    sig = signal_number(signal_text);
    if (sig == 0)
        usage_error("--signal: '%s' is not one of the signals listed", signal_text);

    for (long i = 0; i < count; i++) {
        if (kill((pid_t)pid, sig) != 0)
            die("kill pid %ld %s", pid, signal_name(sig));
        printf("sent %s to pid %ld\n", signal_name(sig), pid);
    }
    return 0;
}
