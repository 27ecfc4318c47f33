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
    double harness_worst_ratio;
    int spin_k;                         /* -1: shm-spin was not measured */
    double spin_ratio[2];
};

static void judge(const struct run *run, struct verdicts *v)
{
    memset(v, 0, sizeof *v);
    v->spin_k = -1;
    for (int k = 0; k < run->nmech; k++)
        for (int p = 0; p < 2; p++) {
            if (!run->ok[k][p])
                continue;
            double h = harness_ratio(&run->pr[k][p].lat);
            v->harness_checked++;
            v->harness_met += h <= HARNESS_MAX;
            if (h > v->harness_worst_ratio) {
                v->harness_worst_ratio = h;
                snprintf(v->harness_worst, sizeof v->harness_worst, "%s, %s",
                         run->mech[k]->name, place_text[p]);
            }
            if (run->mech[k] == &mech_shm_spin) {
                v->spin_k = k;
                v->spin_ratio[p] = lat_ratio(run, k, p);
            }
        }
}

static void text_targets(const struct run *run, const struct verdicts *v)
{
    printf("\ntargets:\n");
    if (v->harness_checked == 0)
        printf("  harness overhead at most %.2fx the raw loop of the same calls: not judged "
               "(nothing measured)\n", HARNESS_MAX);
    else
        printf("  harness overhead at most %.2fx the raw loop of the same calls: %s "
               "(%d of %d measurements; the worst %.3fx, %s)\n",
               HARNESS_MAX, v->harness_met == v->harness_checked ? "met" : "not met",
               v->harness_met, v->harness_checked, v->harness_worst_ratio, v->harness_worst);
    if (v->harness_met != v->harness_checked)
        printf("    why: the harness reads the clock once per round trip (%.0f ns) and stores "
               "the sample; on the fastest round trips that is more than a tenth\n",
               run->floor.clock_ns);
    if (v->spin_k < 0 || v->spin_ratio[TWO_CPUS] == 0) {
        printf("  shm-spin within %.1fx of the cache-line floor: not judged (not measured on two CPUs)\n",
               SPIN_MAX);
    } else {
        bool met = v->spin_ratio[TWO_CPUS] <= SPIN_MAX;
        printf("  shm-spin within %.1fx of the cache-line floor (two CPUs): %s (%.2fx; same CPU %.2fx)\n",
               SPIN_MAX, met ? "met" : "not met", v->spin_ratio[TWO_CPUS], v->spin_ratio[SAME_CPU]);
        if (!met)
            printf("    why: the slot copy and the ring's bookkeeping add to the one cache line "
                   "that travels each way\n");
    }
    if (run->default_budgets)
        printf("  the default run under %.0f s: %s (%.1f s)\n", TIME_MAX,
               run->elapsed_s < TIME_MAX ? "met" : "not met", run->elapsed_s);
    else
        printf("  the default run under %.0f s: not judged (budgets or mechanisms changed; "
               "this run took %.1f s)\n", TIME_MAX, run->elapsed_s);
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
    printf("clock: clock_gettime(CLOCK_MONOTONIC) costs %.1f ns; each latency sample holds one reading\n",
           f->clock_ns);
    printf("floor: cache line ping-pong %.0f ns on the same CPU (a sched_yield hand-off), "
           "%.0f ns on two CPUs (the best of the run)\n", run->cl_floor[SAME_CPU],
           run->cl_floor[TWO_CPUS]);
    printf("floor: futex wake round trip %.0f ns on the same CPU, %.0f ns on two; getppid() %.0f ns\n",
           f->futex_rt[SAME_CPU], f->futex_rt[TWO_CPUS], f->syscall_ns);
    printf("floor: memcpy");
    for (int s = 0; s < NSIZES; s++) {
        size_name(tput_sizes[s], sz, sizeof sz);
        printf("%s %s %.0f MB/s", s ? "," : "", sz, f->memcpy_mbps[s]);
    }
    printf("\n\nlatency: round trips of %d bytes, ns; x floor = median / the cache-line floor "
           "measured by the same pair, between its rounds\n", LAT_SIZE);
    printf("%-21s %-9s %9s %9s %10s %8s %s\n", "mechanism", "placement", "median", "p99", "max",
           "x floor", "rounds (round medians), harness/raw");
    for (int k = 0; k < run->nmech; k++)
        for (int p = 0; p < 2; p++) {
            const struct lat_result *l = &run->pr[k][p].lat;
            if (!run->ok[k][p]) {
                printf("%-21s %-9s failed: %s\n", run->mech[k]->name, place_text[p], run->why[k][p]);
                continue;
            }
            printf("%-21s %-9s %9.0f %9.0f %10.0f %7.1fx %ld %s (%.0f..%.0f), %.3fx\n",
                   run->mech[k]->name, place_text[p], l->median, l->p99, l->max,
                   lat_ratio(run, k, p), l->rounds, l->stable ? "stable" : "unstable", l->lo, l->hi,
                   harness_ratio(l));
        }
    printf("\nthroughput: one way, two CPUs, MB/s (x floor = memcpy / it)\n%-21s", "mechanism");
    for (int s = 0; s < NSIZES; s++) {
        size_name(tput_sizes[s], sz, sizeof sz);
        printf(" %15s", sz);
    }
    printf("\n");
    for (int k = 0; k < run->nmech; k++) {
        if (!run->mech[k]->payload || !run->ok[k][TWO_CPUS])
            continue;
        printf("%-21s", run->mech[k]->name);
        for (int s = 0; s < NSIZES; s++) {
            char cell[32];
            snprintf(cell, sizeof cell, "%.1f (%.0fx)", run->pr[k][TWO_CPUS].tput[s].mbps,
                     tput_ratio(run, k, s));
            printf(" %15s", cell);
        }
        printf("\n");
    }
    printf("messages/s at 8 B:");
    for (int k = 0; k < run->nmech; k++)
        if (run->mech[k]->payload && run->ok[k][TWO_CPUS])
            printf(" %s %.0f;", run->mech[k]->name, run->pr[k][TWO_CPUS].tput[0].msgs);
    printf("\n(eventfd and rt-signal carry no data: latency only)\n");
    text_targets(run, &v);
}

void report_tsv(const struct run *run)
{
    const struct floor_result *f = &run->floor;
    struct verdicts v;

    judge(run, &v);
    printf("# ipc_bench --format tsv: one record a line, the first field says which\n");
    printf("# lat  mechanism placement median_ns p99_ns max_ns x_floor round_lo round_hi "
           "harness_ratio rounds stable|unstable\n");
    printf("# tput mechanism size_bytes mb_s msgs_s x_floor mb_s_lo mb_s_hi\n");
    printf("machine\t%s\t%d\t%s\n", run->cpu_model, run->ncpu, run->kernel);
    printf("floor\tclock_ns\t%.1f\n", f->clock_ns);
    printf("floor\tsyscall_ns\t%.1f\n", f->syscall_ns);
    for (int p = 0; p < 2; p++) {
        printf("floor\tcacheline_ns\t%s\t%.1f\n", place_tsv[p], run->cl_floor[p]);
        printf("floor\tfutex_rt_ns\t%s\t%.1f\n", place_tsv[p], f->futex_rt[p]);
    }
    for (int s = 0; s < NSIZES; s++)
        printf("floor\tmemcpy_mb_s\t%zu\t%.1f\n", tput_sizes[s], f->memcpy_mbps[s]);
    for (int k = 0; k < run->nmech; k++)
        for (int p = 0; p < 2; p++) {
            const struct lat_result *l = &run->pr[k][p].lat;
            if (!run->ok[k][p]) {
                printf("failed\t%s\t%s\t%s\n", run->mech[k]->name, place_tsv[p], run->why[k][p]);
                continue;
            }
            printf("lat\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.3f\t%.0f\t%.0f\t%.4f\t%ld\t%s\n",
                   run->mech[k]->name, place_tsv[p], l->median, l->p99, l->max,
                   lat_ratio(run, k, p), l->lo, l->hi, harness_ratio(l), l->rounds,
                   l->stable ? "stable" : "unstable");
        }
    for (int k = 0; k < run->nmech; k++) {
        if (!run->mech[k]->payload || !run->ok[k][TWO_CPUS])
            continue;
        for (int s = 0; s < NSIZES; s++) {
            const struct tput_result *t = &run->pr[k][TWO_CPUS].tput[s];
            printf("tput\t%s\t%zu\t%.2f\t%.0f\t%.3f\t%.2f\t%.2f\n", run->mech[k]->name,
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
