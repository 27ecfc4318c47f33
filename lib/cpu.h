/* cpu.h - pin a process to one CPU.
 *
 * With every worker on one CPU, only the scheduler decides how they
 * interleave; the race demos use this to make an interleaving certain (see
 * race.h).  Children forked afterwards inherit the pinning. */
#ifndef IPCLAB_CPU_H
#define IPCLAB_CPU_H

/* Pins the calling process to the lowest-numbered CPU of its current
 * affinity mask (so it respects taskset and cgroups).  Stores that CPU's
 * number in *cpu if cpu is not NULL.  Returns 0 or an errno value. */
int pin_to_one_cpu(int *cpu);
int pin_to_one_cpu_or_die(void);

/* How many CPUs the calling process may run on, or -1 with errno set. */
int allowed_cpu_count(void);

#endif
