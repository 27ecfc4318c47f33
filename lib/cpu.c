/* cpu.c - see cpu.h.  CPU affinity is a Linux extension: _GNU_SOURCE. */
#define _GNU_SOURCE
#include "cpu.h"

#include "die.h"

#include <errno.h>
#include <sched.h>

int pin_to_one_cpu(int *cpu)
{
    cpu_set_t allowed, one;

    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return errno;
    for (int i = 0; i < CPU_SETSIZE; i++) {
        if (!CPU_ISSET(i, &allowed))
            continue;
        CPU_ZERO(&one);
        CPU_SET(i, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0)
            return errno;
        if (cpu != NULL)
            *cpu = i;
        return 0;
    }
    return ESRCH;   /* an empty mask: cannot happen for a running process */
}

int pin_to_one_cpu_or_die(void)
{
    int cpu = -1;
    int err = pin_to_one_cpu(&cpu);

    if (err != 0)
        die_errnum(err, "sched_setaffinity");
    return cpu;
}

int allowed_cpu_count(void)
{
    cpu_set_t allowed;

    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return -1;
    return CPU_COUNT(&allowed);
}
