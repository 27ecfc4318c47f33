/* ipc_bench.c - how fast is each mechanism: every way ipclab passes a
 * message, measured side by side in one run, against the machine's floor.
 *
 * Lesson: a round trip costs what its system calls, copies and wake-ups
 * cost; a wake-up that puts a process to sleep costs microseconds, a spin
 * tens of nanoseconds and a whole CPU.  Numbers mean something only beside
 * the floor measured in the same run (a cache line passed between two
 * processes, memcpy, a system call, a futex wake-up), with their spread.
 *
 * Run:  ipc_bench                   # the full run, 30-40 s on 2 CPUs
 *       ipc_bench --quick           # a few seconds, rougher figures
 *       ipc_bench --mech pipe --format tsv
 *
 * You should see the machine, the floor, then one latency line per
 * mechanism and placement (median, p99 and max of 8-byte round trips in
 * ns, and "x floor"), a throughput table for 8 B to 1 MiB, and the three
 * targets, each "met" or "not met" with the reason.
 */
#include "bench.h"

#include "ipclab.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

char bench_dir[PATH_MAX];

const struct mech *const all_mechs[NMECH] = {
    &mech_pipe, &mech_fifo, &mech_sp_stream, &mech_sp_seqpacket, &mech_unix_stream,
    &mech_unix_dgram, &mech_tcp, &mech_sysv_msg, &mech_posix_mq, &mech_shm_sem,
    &mech_shm_futex, &mech_shm_spin, &mech_eventfd, &mech_rt_signal, &mech_zmq_inproc,
    &mech_zmq_ipc, &mech_zmq_tcp,
};

static const char *const mech_choices[] = {
    "all", "pipe", "fifo", "socketpair-stream", "socketpair-seqpacket", "unix-stream",
    "unix-dgram", "tcp", "sysv-msg", "posix-mq", "shm-sem", "shm-futex", "shm-spin",
    "eventfd", "rt-signal", "zmq-inproc", "zmq-ipc", "zmq-tcp", NULL
};
static const char *const formats[] = { "text", "tsv", NULL };
static const char *const measures[] = { "all", "latency", "throughput", NULL };

#define LAT_MS 400
#define TPUT_MS 200
static long lat_ms = LAT_MS, tput_ms = TPUT_MS, watchdog_ms = 10000;
static int mech_choice = 0, format = 0, measure = 0;
static bool quick = false, stuck = false;

static const struct cli_option options[] = {
    CLI_OPTION_FLAG("quick", &quick, "short budgets (--lat-ms 20 --tput-ms 12): a few seconds"),
    CLI_OPTION_LONG("lat-ms", &lat_ms, 10, 2000, "MS", "time for each latency measurement"),
    CLI_OPTION_LONG("tput-ms", &tput_ms, 10, 2000, "MS", "time for each throughput size"),
    CLI_OPTION_CHOICE("mech", &mech_choice, mech_choices, "NAME", "the mechanism to measure"),
    CLI_OPTION_CHOICE("measure", &measure, measures, "WHAT", "what to measure besides the floor, which is always measured"),
    CLI_OPTION_CHOICE("format", &format, formats, "FORMAT",
                      "text for people, tsv (tab-separated) for plots and scripts"),
    CLI_OPTION_LONG("watchdog-ms", &watchdog_ms, 200, 60000, "MS",
                    "a pair that shows no progress this long is killed and reported failed"),
    CLI_OPTION_FLAG("stuck", &stuck, "test hook: the echo side never answers (needs --mech)"),
    CLI_OPTION_END
};

static const struct cli cli = {
    .summary = "Latency and throughput of every IPC mechanism, against the floor of this machine.",
    .options = options,
    .details = "Latency: 8-byte round trips between two processes, on one CPU and on two.  "
               "Throughput: one way, on two CPUs, messages of 8 B to 1 MiB.  The watchdog "
               "must be at least 2 x the longer budget + 500 ms.",
};

static void machine(struct run *run)
{
    struct utsname u;
    char line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");

    snprintf(run->cpu_model, sizeof run->cpu_model, "unknown CPU");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
            colon += 1 + strspn(colon + 1, " \t");
            colon[strcspn(colon, "\n")] = '\0';
            snprintf(run->cpu_model, sizeof run->cpu_model, "%s", colon);
            break;
        }
    }
    if (f != NULL)
        fclose(f);
    if (uname(&u) != 0)
        die("uname");
    snprintf(run->kernel, sizeof run->kernel, "%s %s %s", u.sysname, u.release, u.machine);
    run->ncpu = pair_cpus(run->cpu);
}

static void keep_floor(struct run *run, enum placement p, const struct pair_result *r)
{
    if (r->cl_best > 0 && (run->cl_floor[p] == 0 || r->cl_best < run->cl_floor[p])) {
        run->cl_floor[p] = r->cl_best;
        run->cl_group[p] = r->cl_group;
    }
}

int main(int argc, char **argv)
{
    static struct run run;
    struct plan plan;
    struct pair_result fr;
    uint64_t start;
    int failed = 0;

    cli_parse(&cli, argc, argv);
    if (stuck && mech_choice == 0)
        usage_error("--stuck needs --mech NAME (one mechanism to make hang)");
    if (quick) {
        lat_ms = lat_ms == LAT_MS ? 20 : lat_ms;
        tput_ms = tput_ms == TPUT_MS ? 12 : tput_ms;
    }
    if (watchdog_ms < 2 * (lat_ms > tput_ms ? lat_ms : tput_ms) + 500)
        usage_error("--watchdog-ms %ld is too short for --lat-ms %ld and --tput-ms %ld", watchdog_ms,
                    lat_ms, tput_ms);
    start = monotonic_ns();
    machine(&run);
    ipc_private_dir_create_or_die(bench_dir, sizeof bench_dir, "bench");
    plan = (struct plan){ .lat_ms = lat_ms, .tput_ms = tput_ms, .quick = quick,
                          .latency = measure != 2, .throughput = measure != 1 };
    run.default_budgets = lat_ms == LAT_MS && tput_ms == TPUT_MS && mech_choice == 0 && measure == 0;

    /* The floor first: a pair with no mechanism. */
    plan.floor_only = true;
    plan.cl_rounds = quick ? 3 : 7;
    plan.cl_count = 1000;
    run.floor_ok = true;
    for (int p = SAME_CPU; p <= TWO_CPUS; p++) {
        char why[200];
        if (p == TWO_CPUS && run.ncpu < 2)
            break;
        if (run_pair(&mech_pipe, (enum placement)p, &plan, watchdog_ms, &fr, why, sizeof why) != 0) {
            run.floor_ok = false;
            fprintf(stderr, "%s: the floor failed: %s\n", program_name, why);
            continue;
        }
        keep_floor(&run, (enum placement)p, &fr);
        run.floor.futex_rt[p] = fr.floor.futex_rt[p];
        if (p == TWO_CPUS || run.ncpu < 2) {
            memcpy(run.floor.memcpy_mbps, fr.floor.memcpy_mbps, sizeof fr.floor.memcpy_mbps);
            run.floor.clock_ns = fr.floor.clock_ns;
            run.floor.syscall_ns = fr.floor.syscall_ns;
        }
    }
    if (run.ncpu < 2 && run.floor.clock_ns == 0) {       /* one CPU: the solo floor here */
        floor_solo(&run.floor, quick);
    }

    /* Every mechanism, on one CPU and on two; a few floor rounds in each
     * pair, so the floor is the best the machine did anywhere in the run. */
    plan.floor_only = false;
    plan.cl_rounds = 2;
    plan.stuck = stuck;
    for (int i = 0; i < NMECH; i++) {
        if (mech_choice != 0 && strcmp(all_mechs[i]->name, mech_choices[mech_choice]) != 0)
            continue;
        int k = run.nmech++;
        run.mech[k] = all_mechs[i];
        for (int p = plan.latency ? SAME_CPU : TWO_CPUS; p <= TWO_CPUS; p++) {
            run.ok[k][p] = run_pair(all_mechs[i], (enum placement)p, &plan, watchdog_ms,
                                    &run.pr[k][p], run.why[k][p], sizeof run.why[k][p]) == 0;
            if (run.ok[k][p])
                keep_floor(&run, (enum placement)p, &run.pr[k][p]);
            else if (!(p == TWO_CPUS && run.ncpu < 2))
                failed = 1;
        }
    }
    run.plan = plan;
    run.elapsed_s = (double)(monotonic_ns() - start) / 1e9;
    if (format == 0)
        report_text(&run);
    else
        report_tsv(&run);
    return failed || !run.floor_ok ? 1 : 0;
}
