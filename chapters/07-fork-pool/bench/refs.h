/* refs.h - what pool_bench measures the pools against: the floor of a
 * socketpair, a bare mutex + condition variable hand-off, xargs -P, and
 * Python's multiprocessing.Pool.  Each returns the elapsed nanoseconds for
 * n trivial jobs (the floor: see below). */
#ifndef IPCLAB_BENCH_REFS_H
#define IPCLAB_BENCH_REFS_H

#include <stdint.h>

/* The floor of the prefork pool: what its parent cannot avoid for each
 * window of `depth` jobs (what one worker holds at once), in `batch`-job
 * frames: one send() of the window's job frames and one recv() of their
 * result frames over a socketpair.  Only those two calls are timed; the
 * worker's read() and write() in between are made by the same process,
 * untimed.  Returns the timed ns for `windows` windows. */
uint64_t ref_socketpair_floor(long windows, int batch, int depth);

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
