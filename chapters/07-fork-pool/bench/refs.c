/* refs.c - see refs.h. */
#include "refs.h"

#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define JOB_RECORD 28    /* id, function, argument length, 8 bytes of argument */
#define RESULT_RECORD 20 /* id, output length, 8 bytes of output */
#define FRAME_HEADER 4   /* the frame's length */
#define DEPTH_MAX 64

/* What a pair of monotonic_ns() calls adds to the time between them, on
 * average: taken off each timed call, so the clock does not raise the
 * floor. */
static uint64_t clock_pair_ns(void)
{
    uint64_t sum = 0;

    for (int i = 0; i < 1000; i++) {
        uint64_t a = monotonic_ns();
        sum += monotonic_ns() - a;
    }
    return sum / 1000;
}

/* Frames a window of `depth` records, `batch` to a frame, into buf:
 * returns the bytes. */
static size_t frames(unsigned char *buf, int depth, int batch, size_t record)
{
    size_t len = 0;

    for (int done = 0; done < depth; done += batch) {
        int n = depth - done < batch ? depth - done : batch;
        size_t bytes = (size_t)n * record;
        buf[len] = buf[len + 1] = 0;             /* big-endian, < 64 KiB */
        buf[len + 2] = (unsigned char)(bytes >> 8);
        buf[len + 3] = (unsigned char)bytes;
        len += FRAME_HEADER;
        memset(buf + len, 0x5a, (size_t)n * record);
        len += (size_t)n * record;
    }
    return len;
}

uint64_t ref_socketpair_floor(long windows, int batch, int depth)
{
    static unsigned char jobs[DEPTH_MAX * (FRAME_HEADER + JOB_RECORD)];
    static unsigned char results[DEPTH_MAX * (FRAME_HEADER + RESULT_RECORD)];
    static unsigned char buf[sizeof jobs];
    size_t jobs_len, results_len;
    uint64_t timed = 0, clock_cost = clock_pair_ns();
    int sv[2];

    if (batch < 1 || depth < batch || depth > DEPTH_MAX)
        fatal("floor: batch %d, depth %d out of range", batch, depth);
    jobs_len = frames(jobs, depth, batch, JOB_RECORD);
    results_len = frames(results, depth, batch, RESULT_RECORD);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("socketpair");
    for (long w = 0; w < windows; w++) {
        uint64_t t0 = monotonic_ns();
        if (send(sv[0], jobs, jobs_len, MSG_NOSIGNAL) != (ssize_t)jobs_len)
            die("send");
        uint64_t t1 = monotonic_ns();
        /* The worker's side, not timed: it may run on another core. */
        if (read_full(sv[1], buf, jobs_len) != (ssize_t)jobs_len)
            die("read");
        write_full_or_die(sv[1], results, results_len);
        uint64_t t2 = monotonic_ns();
        if (recv(sv[0], buf, results_len, MSG_WAITALL) != (ssize_t)results_len)
            die("recv");
        uint64_t t3 = monotonic_ns();
        uint64_t spent = (t1 - t0) + (t3 - t2);
        timed += spent > 2 * clock_cost ? spent - 2 * clock_cost : 0;
    }
    close(sv[0]);
    close(sv[1]);
    return timed;
}

/* region: handoff */
/* The least a thread pool can do: a queue of numbers in, a queue of
 * numbers out, one mutex, a condition variable for each direction.  The
 * caller queues every job, then collects; each thread takes one job at a
 * time under the mutex and hands its result back the same way. */
struct handoff {
    pthread_mutex_t lock;
    pthread_cond_t work, done;
    long *in, *out;
    long in_head, in_tail, out_head, out_tail, n;
};

static void *handoff_thread(void *arg)
{
    struct handoff *h = arg;

    pthread_mutex_lock(&h->lock);
    for (;;) {
        while (h->in_head == h->in_tail && h->in_tail < h->n)
            pthread_cond_wait(&h->work, &h->lock);
        if (h->in_head == h->in_tail)
            break;                       /* every job taken */
        long job = h->in[h->in_head++];
        pthread_mutex_unlock(&h->lock);
        job = job * 1;                   /* the trivial job */
        pthread_mutex_lock(&h->lock);
        h->out[h->out_tail++] = job;
        pthread_cond_signal(&h->done);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

uint64_t ref_condvar_handoff(long n, int threads)
{
    struct handoff h = { .n = n };
    pthread_t tid[128];
    uint64_t start;

    if (threads < 1 || threads > 128)
        fatal("handoff: %d threads out of range", threads);
    h.in = malloc((size_t)n * sizeof *h.in);
    h.out = malloc((size_t)n * sizeof *h.out);
    if (h.in == NULL || h.out == NULL)
        fatal("out of memory");
    pthread_mutex_init(&h.lock, NULL);
    pthread_cond_init(&h.work, NULL);
    pthread_cond_init(&h.done, NULL);
    start = monotonic_ns();
    for (int t = 0; t < threads; t++) {
        int err = pthread_create(&tid[t], NULL, handoff_thread, &h);
        if (err != 0)
            die_errnum(err, "pthread_create");
    }
    pthread_mutex_lock(&h.lock);
    for (long i = 0; i < n; i++) {
        h.in[h.in_tail++] = i;
        pthread_cond_signal(&h.work);
    }
    pthread_cond_broadcast(&h.work);     /* the end: threads leave when empty */
    while (h.out_head < n) {
        while (h.out_head == h.out_tail)
            pthread_cond_wait(&h.done, &h.lock);
        h.out_head = h.out_tail;         /* collect what arrived */
    }
    pthread_mutex_unlock(&h.lock);
    for (int t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
    uint64_t elapsed = monotonic_ns() - start;
    pthread_cond_destroy(&h.work);
    pthread_cond_destroy(&h.done);
    pthread_mutex_destroy(&h.lock);
    free(h.in);
    free(h.out);
    return elapsed;
}
/* end region: handoff */

/* Runs argv with stdin from `in_fd` (-1: /dev/null) and stdout into a
 * pipe whose read end it returns in *out_fd; returns the child's pid.
 * The child closes `also_close` (the write end of its stdin pipe: kept
 * open, the child would never see the end of its input). */
static pid_t spawn_reading(char *const argv[], int in_fd, int also_close, int *out_fd,
                           int *handle)
{
    int out[2];
    pid_t pid;

    if (pipe(out) != 0)
        die("pipe");
    pid = fork_child_or_die(handle);
    if (pid == 0) {
        int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
            _exit(126);
        close(out[0]);
        close(out[1]);
        if (also_close >= 0)
            close(also_close);
        if (in_fd >= 0)
            close(in_fd);
        execvp(argv[0], argv);
        _exit(127);                      /* not exit(): the parent's stdio is not ours */
    }
    close(out[1]);
    *out_fd = out[0];
    return pid;
}

static int wait_child(pid_t pid, int handle)
{
    int status;

    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    cleanup_forget(handle);
    return status;
}

/* region: xargs */
uint64_t ref_xargs(long n, int workers)
{
    char parallel[24];
    char *argv[] = { "xargs", "-P", parallel, "-n", "1", "true", NULL };
    char sink[256];
    int in[2], out, handle, status;
    uint64_t start;
    pid_t pid;

    snprintf(parallel, sizeof parallel, "%d", workers);
    if (pipe(in) != 0)
        die("pipe");
    start = monotonic_ns();
    pid = spawn_reading(argv, in[0], in[1], &out, &handle);
    close(in[0]);
    for (long i = 0; i < n; i++)
        write_full_or_die(in[1], "x\n", 2);
    close(in[1]);
    while (read(out, sink, sizeof sink) > 0)
        ;
    close(out);
    status = wait_child(pid, handle);
    uint64_t elapsed = monotonic_ns() - start;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char how[64];
        wait_status_describe(status, how, sizeof how);
        fatal("xargs %s", how);
    }
    return elapsed;
}
/* end region: xargs */

/* region: python */
/* The job returns its argument, as the C pools' trivial job does.  The
 * clock starts once the workers have started and run a job each, as the
 * C pools' does. */
static const char python_script[] =
    "import sys, time, multiprocessing as mp\n"
    "def job(x):\n"
    "    return x\n"
    "n, workers, chunk = map(int, sys.argv[1:4])\n"
    "with mp.get_context('fork').Pool(workers) as pool:\n"
    "    pool.map(job, range(workers), chunksize=1)   # started, warmed up\n"
    "    start = time.monotonic()\n"
    "    for _ in pool.imap_unordered(job, range(n), chunksize=chunk):\n"
    "        pass\n"
    "    elapsed = time.monotonic() - start\n"
    "print(int(elapsed * 1e9))\n";

uint64_t ref_python(long n, int workers, int chunksize)
{
    char num[24], w[24], c[24], text[64];
    char *argv[] = { "python3", "-c", (char *)python_script, num, w, c, NULL };
    int out, handle, status;
    ssize_t got;
    pid_t pid;

    snprintf(num, sizeof num, "%ld", n);
    snprintf(w, sizeof w, "%d", workers);
    snprintf(c, sizeof c, "%d", chunksize);
    pid = spawn_reading(argv, -1, -1, &out, &handle);
    got = read_full(out, text, sizeof text - 1);
    close(out);
    status = wait_child(pid, handle);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return 0;                        /* no python3 */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got <= 0) {
        char how[64];
        wait_status_describe(status, how, sizeof how);
        fatal("python3 %s", how);
    }
    text[got] = '\0';
    return strtoull(text, NULL, 10);
}
/* end region: python */
