/* fifo_rendezvous.c - opening a FIFO blocks until the other side opens it.
 *
 * Lesson: open(O_RDONLY) on a FIFO waits for a writer, and open(O_WRONLY)
 * waits for a reader: the two processes meet at the open, before a byte is
 * sent.  With O_NONBLOCK a reader's open returns at once, while a writer's
 * fails with ENXIO if no reader is there: a way to probe without waiting.
 * A blocking open can wait forever, so here a timer bounds it: its signal
 * interrupts open() with EINTR.
 *
 * Run:  fifo_rendezvous                       # the reader opens first and waits
 *       fifo_rendezvous --first writer        # ENXIO probe, then the writer waits
 *       fifo_rendezvous --delay-ms 300
 *       fifo_rendezvous --no-partner --timeout-ms 200   # nobody comes: EINTR
 *
 * You should see, in time order, the first side's open waiting until the
 * other side calls open, both returning together, then the message.  A
 * "called" line is stamped just before its call, a "returned" line just
 * after, so a write always shows before the read that got its bytes:
 *       [   0.902 ms] reader  open(O_RDONLY) called: waits for a writer
 *       [ 101.195 ms] writer  open(O_WRONLY) called
 *       [ 101.275 ms] writer  write("hello through the FIFO") called
 *       [ 101.334 ms] reader  open returned after 100.432 ms
 *       [ 101.355 ms] reader  read returned "hello through the FIFO"
 *       result: first=reader waited_ms=100.432 after_partner=1 timeout=0
 */
#include "ipclab.h"
#include "fifo/fifo.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const role_names[] = { "reader", "writer", NULL };
enum { READER, WRITER };
static int first = READER;
static long delay_ms = 100, timeout_ms = 2000;
static bool no_partner = false;

static const struct cli_option options[] = {
    CLI_OPTION_CHOICE("first", &first, role_names, "ROLE", "the side that opens first"),
    CLI_OPTION_LONG("delay-ms", &delay_ms, 0, 60000, "MS",
                    "the other side opens this much later"),
    CLI_OPTION_LONG("timeout-ms", &timeout_ms, 1, 600000, "MS",
                    "a timer interrupts an open (or read) still waiting"),
    CLI_OPTION_FLAG("no-partner", &no_partner, "nobody opens the other side"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Two processes open one FIFO, one after the other; the timeline shows\n"
               "the first open waiting for the second.",
    .options = options,
};

/* --- a timeline both processes write to --------------------------------- */

#define MAX_EVENTS 8
struct event {
    uint64_t t;              /* ns since start */
    int role;
    char text[96];
};
struct timeline {
    int count;
    uint64_t open_called, open_returned;
    struct event events[MAX_EVENTS];
};

static uint64_t start;

static void note(struct timeline *tl, int role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(struct timeline *tl, int role, const char *fmt, ...)
{
    va_list ap;
    struct event *e;

    if (tl->count == MAX_EVENTS)
        return;
    e = &tl->events[tl->count++];
    e->t = monotonic_ns() - start;
    e->role = role;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
}

/* --- the timer that bounds a blocking call ------------------------------ */

static volatile sig_atomic_t timer_fired;

static void on_alarm(int sig)
{
    (void)sig;
    timer_fired = 1;
}

/* A one-shot timer whose SIGALRM interrupts whatever call is blocking
 * (no SA_RESTART: the call fails with EINTR instead of resuming). */
static void arm_timer(long ms)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) != 0)
        die("sigaction");
    signal_after_ms_or_die(SIGALRM, ms);
}

/* region: open */
/* Opens the FIFO for role, blocking until the other side opens too, or the
 * timer fires.  Returns the descriptor, or -1 after the timeout. */
static int open_side(const char *path, int role, struct timeline *tl)
{
    int fd;

    tl->open_called = monotonic_ns();
    note(tl, role, "open(%s) called%s", role == READER ? "O_RDONLY" : "O_WRONLY",
         role != first ? "" : role == READER ? ": waits for a writer" : ": waits for a reader");
    do
        fd = open(path, role == READER ? O_RDONLY : O_WRONLY);
    while (fd < 0 && errno == EINTR && !timer_fired);
    tl->open_returned = monotonic_ns();
    if (fd < 0 && errno == EINTR) {
        note(tl, role, "open interrupted (EINTR) by the timer after %.3f ms: nobody came",
             ns_to_ms(tl->open_returned - tl->open_called));
        return -1;
    }
    if (fd < 0)
        die("open %s", path);
    note(tl, role, "open returned after %.3f ms",
         ns_to_ms(tl->open_returned - tl->open_called));
    return fd;
}
/* end region: open */

/* The writer sends one line, the reader reads it (both bounded by the timer). */
static void exchange(int fd, int role, struct timeline *tl)
{
    static const char message[] = "hello through the FIFO";
    char buf[64];

    /* A call that sends is stamped before it starts, a call that receives
     * after it returns: so a message's write always shows before its read,
     * although the writer may run again only after the reader has it. */
    if (role == WRITER) {
        note(tl, role, "write(\"%s\") called", message);
        write_full_or_die(fd, message, sizeof message);
        return;
    }
    ssize_t n = read_full(fd, buf, sizeof message);
    if (n < 0 && errno == EINTR && timer_fired)
        note(tl, role, "read interrupted by the timer");
    else if (n != (ssize_t)sizeof message)
        note(tl, role, "read returned %zd bytes, expected %zu", n, sizeof message);
    else
        note(tl, role, "read returned \"%s\"", buf);
}

static _Noreturn void run_second(const char *path, int role, int go_fd, int report_fd)
{
    struct timeline tl = { 0 };
    struct timespec pause = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
    char go;
    int fd;

    /* The delay counts from the moment the first side is about to open. */
    if (read_full(go_fd, &go, 1) != 1)
        exit(1);
    note(&tl, role, "sleeps %ld ms before its open", delay_ms);
    nanosleep(&pause, NULL);
    arm_timer(timeout_ms);       /* timers are not inherited: its own */
    fd = open_side(path, role, &tl);
    if (fd >= 0) {
        exchange(fd, role, &tl);
        close(fd);
    }
    write_full_or_die(report_fd, &tl, sizeof tl);
    exit(fd >= 0 ? 0 : 1);
}

static int by_time(const void *a, const void *b)
{
    const struct event *x = a, *y = b;

    return (x->t > y->t) - (x->t < y->t);
}

int main(int argc, char **argv)
{
    char dir[PATH_MAX], path[PATH_MAX];
    struct timeline mine = { 0 }, theirs = { 0 };
    struct event all[2 * MAX_EVENTS];
    int report[2], go[2] = { -1, -1 }, fd = -1, handle = -1, n = 0, status, timed_out;
    int second;
    pid_t pid = -1;

    cli_parse(&cli, argc, argv);
    second = first == READER ? WRITER : READER;
    start = monotonic_ns();
    ipc_private_dir_create_or_die(dir, sizeof dir, "rendezvous");
    fifo_make(path, sizeof path, dir, "fifo");
    printf("FIFO %s (mode 0600), in a private directory\n", path);

    if (!no_partner) {
        if (pipe(report) != 0 || pipe(go) != 0)
            die("pipe");
        pid = fork_child_or_die(&handle);   /* registered for cleanup */
        if (pid == 0) {
            close(report[0]);
            close(go[1]);
            run_second(path, second, go[0], report[1]);
        }
        close(report[1]);
        close(go[0]);
    }

    /* region: probe */
    if (first == WRITER) {
        /* A writer can ask without waiting: ENXIO means no reader yet. */
        fd = open(path, O_WRONLY | O_NONBLOCK);
        if (fd < 0 && errno != ENXIO)
            die("open %s", path);
        if (fd < 0) {
            note(&mine, WRITER, "open(O_WRONLY | O_NONBLOCK) returned ENXIO: no reader yet");
        } else {
            note(&mine, WRITER, "open(O_WRONLY | O_NONBLOCK) returned: a reader is there already");
            if (fcntl(fd, F_SETFL, 0) != 0)          /* blocking from here on */
                die("fcntl");
            mine.open_called = mine.open_returned = monotonic_ns();
        }
    }
    /* end region: probe */
    arm_timer(timeout_ms);
    if (go[1] >= 0) {
        write_full_or_die(go[1], "g", 1);   /* the partner's delay starts now */
        close(go[1]);
    }
    if (fd < 0)
        fd = open_side(path, first, &mine);
    timed_out = fd < 0;
    if (fd >= 0) {
        exchange(fd, first, &mine);
        close(fd);
    }

    if (pid > 0) {
        if (read_full(report[0], &theirs, sizeof theirs) != (ssize_t)sizeof theirs)
            fatal("the partner died before it reported");
        if (waitpid(pid, &status, 0) != pid)
            die("waitpid");
        cleanup_forget(handle);
    }

    for (int i = 0; i < mine.count; i++)
        all[n++] = mine.events[i];
    for (int i = 0; i < theirs.count; i++)
        all[n++] = theirs.events[i];
    qsort(all, (size_t)n, sizeof all[0], by_time);
    printf("timeline, in ms since the start: a \"called\" line is stamped just before\n"
           "the call, a \"returned\" line just after it; two opens that return together\n"
           "may show in either order\n");
    for (int i = 0; i < n; i++)
        printf("[%9.3f ms] %-7s %s\n", ns_to_ms(all[i].t), role_names[all[i].role],
               all[i].text);

    printf("result: first=%s waited_ms=%.3f after_partner=%d timeout=%d\n", role_names[first],
           ns_to_ms(mine.open_returned - mine.open_called),
           pid > 0 && !timed_out && mine.open_returned >= theirs.open_called, timed_out);
    /* Timing out is the point of --no-partner, and a failure otherwise. */
    return timed_out && !no_partner ? 1 : 0;
}
