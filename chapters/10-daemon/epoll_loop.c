/* epoll_loop.c - qdaemon's event loop written with plain epoll and signalfd.
 *
 * Lesson: what libev does for qdaemon, by hand.  The signals, blocked in
 * every thread, are read as data from a signalfd; the control socket and
 * the POSIX queue (a file descriptor on Linux) are watched by one epoll
 * set; one epoll_wait() serves whichever is ready.  The rest (pid file,
 * queues, receiver thread, drain) is the same code as qdaemon's.
 *
 * Run:  touch key && epoll_loop --pid-file el.pid --daemon --key key A
 *       qclient --count 3 --key key A
 *       kill -TERM "$(cat el.pid)"
 *
 * You should see the same ready line and replies as with qdaemon; the log
 * says "stopping (SIGTERM)" and "stopped" when SIGTERM comes.
 */
#define _GNU_SOURCE     /* signalfd and epoll are Linux interfaces */
#include "ipclab.h"
#include "common/channels.h"
#include "common/keyopt.h"
#include "common/proto.h"
#include "common/setup.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

static struct daemon_settings settings = {
    .base = { .log_level = LOG_LEVEL_INFO, .reply_delay_ms = 0,
              .max_request_bytes = (long)sizeof(struct req_body), .max_file_bytes = 16L << 20 },
};

static const struct cli_option options[] = {
    CLI_OPTION_STRING("key", &settings.key_path, "PATH PROJ",
                      "serve the System V queue of key ftok(PATH, PROJ)"),
    CLI_OPTION_FLAG("daemon", &settings.detach,
                    "detach: fork, setsid, fork; exit once the daemon is ready"),
    CLI_OPTION_STRING("pid-file", &settings.pid_path, "PATH", "lock PATH and write the pid into it"),
    CLI_OPTION_STRING("log", &settings.log_path, "PATH", "log to PATH (default: stderr)"),
    CLI_OPTION_STRING("config", &settings.config_path, "FILE", "settings file, reread on SIGHUP"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "qdaemon with its event loop written on plain epoll and signalfd.",
    .options = options,
    .details = "--key is required.  The settings file and the signals are qdaemon's (see\n"
               "qdaemon --help).",
};

static void watch(int epfd, int fd)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        die("epoll_ctl");
}

int main(int argc, char **argv)
{
    struct daemon_state st;
    bool running = true;
    int epfd, sigfd;

    argc = key_option_take(&cli, argc, argv);
    cli_parse(&cli, argc, argv);
    settings.proj = key_option_proj(settings.key_path);
    daemon_setup(&settings, &st);     /* the signals are blocked from here */

    /* region: loop */
    sigfd = signalfd(-1, &st.signals, SFD_CLOEXEC);   /* pending ones too */
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (sigfd < 0 || epfd < 0)
        die("signalfd/epoll_create1");
    watch(epfd, sigfd);
    watch(epfd, st.listen_fd);
    watch(epfd, (int)st.mq);          /* Linux: an mqd_t is an fd */
    daemon_report_ready(&settings, &st);

    while (running) {
        struct epoll_event ready[4];
        int n = epoll_wait(epfd, ready, 4, -1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int fd = ready[i].data.fd;
            if (fd == sigfd) {
                struct signalfd_siginfo si;
                if (read_full(sigfd, &si, sizeof si) != sizeof si)
                    die("read signalfd");
                if (si.ssi_signo == SIGHUP)
                    daemon_on_hup();
                else if (si.ssi_signo == SIGUSR1)
                    daemon_on_usr1();
                else if (daemon_begin_stop(signal_name((int)si.ssi_signo)))
                    running = false;
            } else if (fd == st.listen_fd) {
                if (control_accept_all(fd) && daemon_begin_stop("control socket: stop"))
                    running = false;
            } else {
                request_mq_drain(st.mq);
            }
        }
    }
    close(epfd);
    close(sigfd);
    /* end region: loop */

    daemon_finish(&st);
    return 0;
}
