/* report.c - the results, for people (text) and for scripts (tsv), with
 * the targets checked: each is "met" or "not met", with the figures that
 * decide it and, when not met, why.
 */
#include "bench.h"

#include <stdio.h>
#include <string.h>

static const char *const place_text[2] = { "same CPU", "two CPUs" };
static const char *const place_tsv[2] = { "same-cpu", "two-cpus" };

#define HARNESS_MAX 1.10
#define SPIN_MAX 1.50
#define TIME_MAX 60.0

static void size_name(size_t n, char *buf, size_t size)
{
    if (n >= 1024 * 1024)
        snprintf(buf, size, "%zu MiB", n / (1024 * 1024));
    else if (n >= 1024)
        snprintf(buf, size, "%zu KiB", n / 1024);
    else
        snprintf(buf, size, "%zu B", n);
}

static double lat_ratio(const struct run *run, int k, int p)
{
    double fl = run->pr[k][p].cl_best;     /* the pair's own floor */
    return fl > 0 ? run->pr[k][p].lat.median / fl : 0;
}

static double harness_ratio(const struct lat_result *l)
{
    return l->harness_ratio;
}

static double tput_ratio(const struct run *run, int k, int s)
{
    const struct tput_result *t = &run->pr[k][TWO_CPUS].tput[s];
    return t->mbps > 0 ? run->floor.memcpy_mbps[s] / t->mbps : 0;
}

/* The three targets, in one place for both formats. */
struct verdicts {
    int harness_checked, harness_met;
    char harness_worst[64];
    double harness_worst_ratio, harness_worst_raw;
    long harness_worst_group;
    int spin_k;                         /* -1: shm-spin was not measured */
    double spin_ratio[2], spin_bare_ratio;
};

static void judge(const struct run *run, struct verdicts *v)
{
    memset(v, 0, sizeof *v);
    v->spin_k = -1;
    for (int k = 0; k < run->nmech; k++)
        for (int p = 0; p < 2; p++) {
            if (!run->ok[k][p] || !run->pr[k][p].lat.ok)
                continue;
            double h = harness_ratio(&run->pr[k][p].lat);
            v->harness_checked++;
            v->harness_met += h <= HARNESS_MAX;
            if (h > v->harness_worst_ratio) {
                v->harness_worst_ratio = h;
                v->harness_worst_raw = run->pr[k][p].lat.raw_mean;
                v->harness_worst_group = run->pr[k][p].lat.group;
                snprintf(v->harness_worst, sizeof v->harness_worst, "%s, %s",
                         run->mech[k]->name, place_text[p]);
            }
            if (run->mech[k] == &mech_shm_spin) {
                v->spin_k = k;
                v->spin_ratio[p] = lat_ratio(run, k, p);
                if (p == TWO_CPUS && run->pr[k][p].cl_best > 0)     /* for the why */
                    v->spin_bare_ratio = run->pr[k][p].lat.raw_mean / run->pr[k][p].cl_best;
            }
        }
}

static void text_targets(const struct run *run, const struct verdicts *v)
{
    printf("\ntargets:\n");
    if (v->harness_checked == 0)
        printf("  harness overhead at most %.2fx the bare loop of the same calls: not judged "
               "(nothing measured)\n", HARNESS_MAX);
    else
        printf("  harness overhead at most %.2fx the bare loop of the same calls: %s"
               "\n    (%d of %d measurements; the worst %.3fx, %s)\n",
               HARNESS_MAX, v->harness_met == v->harness_checked ? "met" : "not met",
               v->harness_met, v->harness_checked, v->harness_worst_ratio, v->harness_worst);
    if (v->harness_met != v->harness_checked) {
        double g = (double)v->harness_worst_group, clock_ns = run->floor.clock_ns / g;
        double extra = v->harness_worst_raw * (v->harness_worst_ratio - 1);
        printf("    why: the bare loop of %s takes %.0f ns a round trip,\n"
               "    the harness %.0f ns more; its clock readings account for %.1f ns of that\n"
               "    (one per %s)\n",
               v->harness_worst, v->harness_worst_raw, extra, clock_ns,
               g > 1 ? "group of 16 round trips" : "round trip");
        if (v->harness_worst_raw < GROUP_BELOW_NS)
            printf("    the rest is the harness's own path: the calls through the mechanism's\n"
                   "    functions, the message tags, the ring's 16 slots and bookkeeping, on a\n"
                   "    round trip of a few cache-line transfers\n");
        else
            printf("    the rest is this machine's noise (stalls that hit one block and not\n"
                   "    the other), not the harness; a quieter run decides\n");
    }
    if (v->spin_k < 0 || v->spin_ratio[TWO_CPUS] == 0) {
        /* not measured: another --mech, --measure throughput, or one CPU */
        printf("  shm-spin within %.1fx of the cache-line floor: not judged\n"
               "    (not measured on two CPUs)\n",
               SPIN_MAX);
    } else {
        bool met = v->spin_ratio[TWO_CPUS] <= SPIN_MAX;
        printf("  shm-spin within %.1fx of the cache-line floor (two CPUs): %s\n"
               "    (%.2fx; same CPU %.2fx)\n",
               SPIN_MAX, met ? "met" : "not met", v->spin_ratio[TWO_CPUS], v->spin_ratio[SAME_CPU]);
        if (!met)
            printf("    why: the floor moves one cache line; a message moves its slot each way,\n"
                   "    and the ring's bookkeeping and the harness's calls come on top (the\n"
                   "    bare loop of the same spin, with no ring: %.2fx the floor)\n",
                   v->spin_bare_ratio);
    }
    if (run->default_budgets)
        printf("  the default run under %.0f s: %s (%.1f s)\n", TIME_MAX,
               run->elapsed_s < TIME_MAX ? "met" : "not met", run->elapsed_s);
    else
        printf("  the default run under %.0f s: not judged (budgets or mechanisms changed;\n"
               "    this run took %.1f s)\n", TIME_MAX, run->elapsed_s);
}

void report_text(const struct run *run)
{
    const struct floor_result *f = &run->floor;
    struct verdicts v;
    char sz[32];

    judge(run, &v);
    printf("machine: %s, %d CPUs usable, %s\n", run->cpu_model, run->ncpu, run->kernel);
    printf("placements: same CPU = both sides on CPU %d; two CPUs = echo side on CPU %d, "
           "driver on CPU %d\n", run->cpu[0], run->cpu[0], run->cpu[1]);
    printf("clock: clock_gettime(CLOCK_MONOTONIC) costs %.1f ns; each latency sample holds one reading:\n"
           "       one round trip, or a group of %d when they take under %.0f ns (marked *: the\n"
           "       median, p99 and max are then of the groups' means)\n", f->clock_ns, GROUP,
           GROUP_BELOW_NS);
    printf("floor: cache line ping-pong %.0f ns on the same CPU (a sched_yield hand-off),\n"
           "       %.0f ns on two CPUs%s (the best of the run)\n", run->cl_floor[SAME_CPU],
           run->cl_floor[TWO_CPUS], run->cl_group[TWO_CPUS] > 1 ? " *" : "");
    printf("floor: futex wake round trip %.0f ns on the same CPU, %.0f ns on two; getppid() %.0f ns\n",
           f->futex_rt[SAME_CPU], f->futex_rt[TWO_CPUS], f->syscall_ns);
    printf("floor: memcpy, MB/s:");
    for (int s = 0; s < NSIZES; s++) {
        size_name(tput_sizes[s], sz, sizeof sz);
        printf("%s %s %.0f", s == 0 ? "" : s == 4 ? ",\n      " : ",", sz, f->memcpy_mbps[s]);
    }
    printf("\n");
    if (run->plan.latency) {
        printf("\nlatency: round trips of %d bytes, in ns; x floor = the median / the cache-line\n"
               "floor measured by the same pair, between its rounds; harness = its mean / the\n"
               "mean of the bare loop of the same calls\n", LAT_SIZE);
        printf("%-21s %-9s %8s %8s %9s %7s %s\n", "mechanism", "placement", "median", "p99", "max",
               "x floor", "rounds (their medians), harness");
        for (int k = 0; k < run->nmech; k++)
            for (int p = 0; p < 2; p++) {
                const struct lat_result *l = &run->pr[k][p].lat;
                if (!run->ok[k][p]) {
                    if (run->why[k][p][0] != '\0')
                        printf("%-21s %-9s failed: %s\n", run->mech[k]->name, place_text[p],
                               run->why[k][p]);
                    continue;
                }
                if (!l->ok)
                    continue;
                printf("%-21s %-9s %8.0f %8.0f %9.0f %6.1fx %ld %s (%.0f..%.0f), %.3fx%s\n",
                       run->mech[k]->name, place_text[p], l->median, l->p99, l->max,
                       lat_ratio(run, k, p), l->rounds, l->stable ? "stable" : "unstable", l->lo, l->hi,
                       harness_ratio(l), l->group > 1 ? " *" : "");
            }
    }
    int rows = 0;
    for (int k = 0; k < run->nmech; k++)
        rows += run->mech[k]->payload && run->ok[k][TWO_CPUS];
    if (!run->plan.throughput || rows == 0)
        goto targets;
    for (int table = 0; table < 2; table++) {
        printf(table == 0 ? "\nthroughput: one way, two CPUs, MB/s\n%-21s"
                          : "\nthe same as x floor: memcpy of the size / the mechanism\n%-21s",
               "mechanism");
        for (int s = 0; s < NSIZES; s++) {
            size_name(tput_sizes[s], sz, sizeof sz);
            printf(" %8s", sz);
        }
        printf("\n");
        for (int k = 0; k < run->nmech; k++) {
            if (!run->mech[k]->payload || !run->ok[k][TWO_CPUS])
                continue;
            printf("%-21s", run->mech[k]->name);
            for (int s = 0; s < NSIZES; s++)
                if (table == 0)
                    printf(" %8.1f", run->pr[k][TWO_CPUS].tput[s].mbps);
                else
                    printf(" %7.0fx", tput_ratio(run, k, s));
            printf("\n");
        }
    }
    printf("\nmessages/s at 8 B:");
    for (int k = 0, col = 0; k < run->nmech; k++)
        if (run->mech[k]->payload && run->ok[k][TWO_CPUS])
            printf("%s%s %.0f", col++ % 4 ? ", " : "\n  ", run->mech[k]->name,
                   run->pr[k][TWO_CPUS].tput[0].msgs);
    printf("\n(eventfd and rt-signal carry no data: latency only)\n");
targets:
    text_targets(run, &v);
}

void report_tsv(const struct run *run)
{
    const struct floor_result *f = &run->floor;
    struct verdicts v;

    judge(run, &v);
    printf("# ipc_bench --format tsv: one record a line, the first field says which\n");
    printf("# lat  mechanism placement median_ns p99_ns max_ns x_floor round_lo round_hi "
           "harness_ratio rounds stable|unstable bare_mean_ns floor_ns group\n");
    printf("# group: round trips a latency sample times (>1: the figures are of group means)\n");
    printf("# tput mechanism size_bytes mb_s msgs_s x_floor mb_s_lo mb_s_hi\n");
    printf("machine\t%s\t%d\t%s\n", run->cpu_model, run->ncpu, run->kernel);
    printf("floor\tclock_ns\t%.1f\n", f->clock_ns);
    printf("floor\tsyscall_ns\t%.1f\n", f->syscall_ns);
    for (int p = 0; p < 2; p++) {
        printf("floor\tcacheline_ns\t%s\t%.1f\t%ld\n", place_tsv[p], run->cl_floor[p],
               run->cl_group[p]);
        printf("floor\tfutex_rt_ns\t%s\t%.1f\n", place_tsv[p], f->futex_rt[p]);
    }
    for (int s = 0; s < NSIZES; s++)
        printf("floor\tmemcpy_mb_s\t%zu\t%.1f\n", tput_sizes[s], f->memcpy_mbps[s]);
    for (int k = 0; k < run->nmech; k++)
        for (int p = 0; p < 2; p++) {
            const struct lat_result *l = &run->pr[k][p].lat;
            if (!run->ok[k][p]) {
                if (run->why[k][p][0] != '\0')
                    printf("failed\t%s\t%s\t%s\n", run->mech[k]->name, place_tsv[p], run->why[k][p]);
                continue;
            }
            if (!l->ok)
                continue;
            printf("lat\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.3f\t%.0f\t%.0f\t%.4f\t%ld\t%s\t%.1f\t%.1f\t%ld\n",
                   run->mech[k]->name, place_tsv[p], l->median, l->p99, l->max,
                   lat_ratio(run, k, p), l->lo, l->hi, harness_ratio(l), l->rounds,
                   l->stable ? "stable" : "unstable", l->raw_mean, run->pr[k][p].cl_best, l->group);
        }
    for (int k = 0; k < run->nmech; k++) {
        if (!run->mech[k]->payload || !run->ok[k][TWO_CPUS] || !run->plan.throughput)
            continue;
        for (int s = 0; s < NSIZES; s++) {
            const struct tput_result *t = &run->pr[k][TWO_CPUS].tput[s];
            printf("tput\t%s\t%zu\t%.2f\t%.0f\t%.3f\t%.6g\t%.6g\n", run->mech[k]->name,
                   tput_sizes[s], t->mbps, t->msgs, tput_ratio(run, k, s), t->lo, t->hi);
        }
    }
    printf("target\tharness\t%s\t%d of %d at most %.2fx; worst %.3fx (%s)\n",
           v.harness_checked == 0 ? "not judged" : v.harness_met == v.harness_checked ? "met" : "not met",
           v.harness_met,
           v.harness_checked, HARNESS_MAX, v.harness_worst_ratio, v.harness_worst);
    if (v.spin_k >= 0 && v.spin_ratio[TWO_CPUS] > 0)
        printf("target\tspin\t%s\t%.3fx of the cache-line floor on two CPUs\n",
               v.spin_ratio[TWO_CPUS] <= SPIN_MAX ? "met" : "not met", v.spin_ratio[TWO_CPUS]);
    else
        printf("target\tspin\tnot judged\tshm-spin not measured on two CPUs\n");
    printf("target\ttime\t%s\t%.1f s\n",
           !run->default_budgets ? "not judged" : run->elapsed_s < TIME_MAX ? "met" : "not met",
           run->elapsed_s);
}
