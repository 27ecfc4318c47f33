/* child.c - see child.h. */
#include "child.h"

#include "ipclab.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

pid_t fork_child_or_die(int *handle)
{
    sigset_t stop, old;
    pid_t pid;

    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    sigaddset(&stop, SIGQUIT);
    if (sigprocmask(SIG_BLOCK, &stop, &old) != 0)
        die("sigprocmask");
    fflush(stdout);              /* or the child would print it a second time */
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid > 0)
        *handle = cleanup_check(cleanup_add_child(pid), "child");
    /* The child starts with no pending signal; the parent now receives any
     * that came during the gap, with the child registered. */
    if (sigprocmask(SIG_SETMASK, &old, NULL) != 0)
        die("sigprocmask");
    return pid;
}
