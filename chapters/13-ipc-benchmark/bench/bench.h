/* bench.h - the parts of ipc_bench, shared between its files.
 *
 * Every mechanism is two one-way channels: the driver sends on one and
 * receives on the other, the echo side the other way round.  The harness
 * (harness.c) forks the two sides as a pair, pins them, starts them at a
 * barrier, runs the phases (floor, latency, throughput) and kills a pair
 * that stops making progress.  The mechanisms (mech_*.c) only move bytes;
 * floor.c measures what no mechanism can beat; report.c prints.
 */
#ifndef IPCLAB_BENCH_H
#define IPCLAB_BENCH_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc_names.h"

enum side { ECHO = 0, DRIVER = 1 };     /* ECHO answers, DRIVER measures */
enum placement { SAME_CPU = 0, TWO_CPUS = 1 };

#define LAT_SIZE 8                      /* bytes of a latency message */
#define NSIZES 7                        /* throughput: 8 B .. 1 MiB */
#define MAX_MSG (1024 * 1024)
extern const size_t tput_sizes[NSIZES];

/* What each side of a mechanism holds.  One struct for all of them: each
 * mechanism uses the fields it needs. */
struct mctx {
    const struct mech *m;
    enum placement placement;
    int fd[4];                          /* meaning per mechanism; -1 unused */
    int listen_fd;                      /* stream servers: accept() lazily */
    int handle[4];                      /* cleanup.h handles; -1 unused */
    char dir[PATH_MAX];                 /* private directory (sockets, FIFOs) */
    char path[2][PATH_MAX];
    char name[2][IPC_NAME_SIZE];        /* POSIX names */
    char info[256];                     /* passed from ECHO to DRIVER at the barrier */
    long id;                            /* System V id */
    int port;
    void *shm;
    size_t shm_size;
    pid_t peer;                         /* the other side's pid (signals) */
    void *zctx, *zsock[2];              /* ZeroMQ */
    uint32_t sent[2], got[2], tail_seen[2];   /* shared-memory ring counters */
    uint32_t bare_seq;                  /* messages of the bare loops so far */
    unsigned char *rxbuf;               /* a receive buffer of MAX_MSG bytes */
};

struct mech {
    const char *name;                   /* "pipe", "shm-spin", ... */
    const char *what;                   /* a few words for the table */
    size_t chunk;                       /* largest message (0: any, a stream) */
    bool payload;                       /* carries data: throughput measured */
    bool threads;                       /* both sides are threads of one process */
    void (*create)(struct mctx *c);     /* parent, before fork: objects */
    void (*open)(struct mctx *c, enum side s);   /* each side, after fork */
    void (*send)(struct mctx *c, enum side s, const void *buf, size_t n);
    void (*recv)(struct mctx *c, enum side s, void *buf, size_t n);
    void (*close)(struct mctx *c, enum side s);  /* each side, before exit */
    void (*destroy)(struct mctx *c);    /* parent, after the pair ended */
    /* The reference: k round trips of the bare calls, hand-written, no
     * harness (the driver sends then receives, the echo side the other way
     * round).  8-byte messages. */
    void (*bare)(struct mctx *c, enum side s, long k);
};

extern const struct mech mech_pipe, mech_fifo, mech_sp_stream, mech_sp_seqpacket,
    mech_unix_stream, mech_unix_dgram, mech_tcp, mech_sysv_msg, mech_posix_mq,
    mech_shm_sem, mech_shm_futex, mech_shm_spin, mech_eventfd, mech_rt_signal,
    mech_zmq_inproc, mech_zmq_ipc, mech_zmq_tcp;

/* Helpers for the mechanism files (harness.c). */
void mctx_init(struct mctx *c, const struct mech *m);
void close_fd(int *fd);
void close_all_fds(struct mctx *c);
void remove_handles(struct mctx *c);    /* cleanup_remove() each handle */

/* Waiting on a shared word: spin with pause; on one CPU yield at once
 * (spinning there only burns the time slice the other side needs). */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("pause" ::: "memory");
#elif defined(__aarch64__)
    __asm__ volatile("yield" ::: "memory");
#endif
}
void spin_until_eq(_Atomic uint32_t *word, uint32_t want, enum placement p);
void spin_until_ge(_Atomic uint32_t *word, uint32_t want, enum placement p);
long futex_wait(_Atomic uint32_t *word, uint32_t val);
long futex_wake(_Atomic uint32_t *word);

/* --- results, written by the driver into memory the parent shares --- */
#define ROUNDS_MAX 24
struct lat_result {
    bool ok, stable;
    double median, p99, max;            /* ns per round trip, every sample */
    double lo, hi;                      /* the lowest and highest round median */
    double harness_mean, raw_mean;      /* ns, medians of the block means */
    double harness_ratio;               /* median over block pairs of harness / bare */
    long samples, rounds;
    long group;                         /* round trips a sample times (1, or GROUP) */
};
struct tput_result {
    bool ok;
    double mbps, msgs;                  /* median of the repetitions */
    double lo, hi;                      /* MB/s, lowest and highest repetition */
};
struct floor_result {                   /* floor.c */
    double clock_ns, syscall_ns;
    double memcpy_mbps[NSIZES];         /* best of the repetitions */
    double futex_rt[2];                 /* median ns, per placement */
};
/* A round trip shorter than GROUP_BELOW_NS is not much longer than one
 * clock reading (~20-30 ns), so such round trips are timed GROUP at a time:
 * a sample is then the mean of a group, not one round trip. */
#define GROUP_BELOW_NS 1000.0
#define GROUP 16
struct pair_result {
    double cl_best;                     /* best cache-line round median, ns */
    long cl_group;                      /* its samples: groups of this many */
    struct lat_result lat;
    struct tput_result tput[NSIZES];
    struct floor_result floor;
    int phases_done;
};

/* The plan a pair runs, the same in both sides. */
struct plan {
    long lat_ms, tput_ms;               /* budget of one measurement */
    long cl_rounds, cl_count;           /* cache-line floor rounds in a pair */
    bool stuck;                         /* test hook: ECHO never answers */
    bool floor_only;                    /* the floor pair */
    bool latency, throughput;           /* what to measure */
    bool quick;
};

/* harness.c: runs one pair; returns 0, or -1 with why (a sentence) set. */
int run_pair(const struct mech *m, enum placement p, const struct plan *plan,
             long watchdog_ms, struct pair_result *out, char *why, size_t why_size);
int pair_cpus(int cpu[2]);              /* the CPUs used; returns how many differ (1 or 2) */

/* What the parent maps shared before forking a pair: the driver's results,
 * and the words the floor phases pass back and forth, each on its own
 * cache line. */
struct shared {
    struct pair_result r;
    _Alignas(64) _Atomic uint32_t cl_line;
    _Alignas(64) _Atomic uint32_t futex_word;
    _Alignas(64) char pad[64];
};

/* The phases, run by both sides (phases.c).  The driver writes one byte to
 * progress_fd after each phase: the watchdog's sign of life. */
void driver_phases(struct mctx *c, const struct plan *plan, struct shared *sh,
                   int progress_fd);
void echo_phases(struct mctx *c, const struct plan *plan, struct shared *sh);

/* floor.c: the floor phases. */
double cl_round_driver(_Atomic uint32_t *line, long count, uint32_t *seq, enum placement p,
                       long *group);
void cl_round_echo(_Atomic uint32_t *line, long count, uint32_t *seq, enum placement p);
double futex_rt_driver(_Atomic uint32_t *word, long count, uint32_t *seq);
void futex_rt_echo(_Atomic uint32_t *word, long count, uint32_t *seq);
void floor_solo(struct floor_result *f, bool quick);

/* Everything one run measured, for report.c. */
#define NMECH 17
extern const struct mech *const all_mechs[NMECH];
struct run {
    int nmech;
    const struct mech *mech[NMECH];
    struct pair_result pr[NMECH][2];
    bool ok[NMECH][2];
    char why[NMECH][2][200];
    struct floor_result floor;
    double cl_floor[2];                 /* best cache-line round, per placement */
    long cl_group[2];                   /* its samples: groups of this many */
    bool floor_ok;
    int cpu[2], ncpu;
    double elapsed_s;
    bool default_budgets;
    struct plan plan;
    char cpu_model[128], kernel[256];
};
void report_text(const struct run *run);
void report_tsv(const struct run *run);

/* stats */
int cmp_u64(const void *a, const void *b);
int cmp_double(const void *a, const void *b);
double median_u64(uint64_t *v, long n);  /* sorts v */
double median_double(double *v, long n); /* sorts v */

/* For the bare loops: a call that moved n bytes, or die naming it.  A
 * short count (8-byte messages, one in flight: never seen) ends the run. */
void bare_fail(ssize_t r, size_t n, const char *call);
static inline void bare_check(ssize_t r, size_t n, const char *call)
{
    if (r != (ssize_t)n)
        bare_fail(r, n, call);
}

/* mech_fd.c: the bare loop of write/read (pipe, FIFO, stream sockets, eventfd). */
void bare_write_read(int wfd, int rfd, enum side s, long k);

#endif
