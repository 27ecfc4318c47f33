/* refs.h - what pool_bench measures the pools against: the floor of a
 * socketpair, a bare mutex + condition variable hand-off, xargs -P, and
 * Python's multiprocessing.Pool.  Each returns the elapsed nanoseconds for
 * n trivial jobs (the floor: for n round trips of `batch` jobs each). */
#ifndef IPCLAB_BENCH_REFS_H
#define IPCLAB_BENCH_REFS_H

#include <stdint.h>

/* One write() and one read() of a batch of job-sized records over a
 * socketpair, in one process: the system calls alone, no wake-up. */
uint64_t ref_socketpair_floor(long rounds, int batch);

/* n jobs handed to `threads` threads through one mutex and two condition
 * variables, each result handed back the same way: no pool around it. */
uint64_t ref_condvar_handoff(long n, int threads);

/* xargs -P workers -n 1 true, fed n lines. */
uint64_t ref_xargs(long n, int workers);

/* multiprocessing.Pool(workers).imap_unordered over n trivial jobs with
 * the given chunksize, timed by Python itself from when its workers have
 * started (and run a job each) to the last result.  Returns 0 if python3
 * cannot be run. */
uint64_t ref_python(long n, int workers, int chunksize);

#endif
