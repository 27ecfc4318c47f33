#!/usr/bin/env bats
# Chapter 08: the counter race with threads (chapters/08-pthreads).
# The many-trial proof lives in tests/race/checks.txt (make race); these
# tests check the program run by run, and run `make tsan`: ThreadSanitizer
# must report the unlocked build and stay quiet about the locked ones.

load '../helpers/ipclab'

counter=08-pthreads/thread_counter

@test "thread_counter: without a lock, pinned with a window, updates are lost" {
    run_program $counter --lock none --pin --window 100 --iters 10000
    assert_success
    assert_line --index 0 --regexp '^2 threads x 10000 increments, lock none, window 100, all on CPU [0-9]+$'
    assert_equal "$(result_field expected)" 20000
    (( $(result_field lost) >= 5000 )) || fail "lost only $(result_field lost): $output"
    # The verdict adds up.
    assert_equal $(( $(result_field counted) + $(result_field lost) )) 20000
}

@test "thread_counter: every lock loses nothing, pinned with the window" {
    local lock iters
    for lock in mutex spinlock atomic; do
        # A spinlock waiter spins away a time slice at each yield: fewer increments.
        iters=2000
        [[ $lock == spinlock ]] && iters=500
        run_program $counter --lock $lock --pin --window 100 --iters $iters --threads 3
        assert_success
        [[ $(result_field lost) == 0 && $(result_field counted) == $((3 * iters)) ]] ||
            fail "lock $lock: $output"
    done
}

@test "thread_counter: the result line is machine-readable with a time, the same as chapter 05's" {
    run_program $counter --lock atomic --iters 100
    assert_success
    assert_line --regexp '^result: expected=200 counted=200 lost=0 ms=[0-9]+\.[0-9]{3}$'
    assert_equal "$stderr" ""
}

@test "thread_counter: bad arguments are refused with exit status 2" {
    run_program $counter --threads 65
    assert_usage_error "--threads: '65' is not a whole number from 1 to 64"
    run_program $counter --threads 0
    assert_usage_error "--threads: '0' is not a whole number from 1 to 64"
    run_program $counter --iters 1e6
    assert_usage_error "--iters: '1e6' is not a whole number"
    run_program $counter --lock sysv-sem
    assert_usage_error "--lock: 'sysv-sem' is not one of the choices"
    run_program $counter --window -1
    assert_usage_error "--window: '-1' is not a whole number from 0 to 1000000"
    run_program $counter --pin=yes
    assert_usage_error "--pin takes no value"
    run_program $counter stray
    assert_usage_error "unexpected argument 'stray'"
    # Every accepted combination is bounded.
    run_program $counter --threads 64 --iters 100000000
    assert_usage_error "--threads x --iters is 6400000000 increments; at most 100000000 with --lock none"
    run_program $counter --lock spinlock --iters 5000001
    assert_usage_error "--threads x --iters is 10000002 increments; at most 10000000 with --lock spinlock"
    run_program $counter --window 1 --iters 500001
    assert_usage_error "--threads x --iters / --window is 1000002 yields; at most 1000000"
    run_program $counter --lock spinlock --threads 3 --window 100 --iters 166700
    assert_usage_error "with a spinlock, (--threads - 1) x --threads x --iters / --window is 10002 time slices spun away; at most 10000"
}

@test "make tsan: ThreadSanitizer reports the unlocked counter, not the locked ones" {
    # A make started from inside `make test` must not inherit the outer
    # make's job-server descriptors (bats owns those numbers); CC, CFLAGS
    # and the like still come through the environment.
    run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
        make -C "$IPCLAB_ROOT" --no-print-directory -j2 BUILD="$IPCLAB_BUILD" tsan
    assert_success
    assert_line --regexp '^tsan: --lock none +--iters 1000 +ok: data race reported in add_one_many_times \(exit 66\)$'
    local lock
    for lock in mutex spinlock atomic; do
        assert_line --regexp "^tsan: --lock $lock +--iters 1000 --pin --window 100 +ok: clean, lost=0\$"
    done
    assert_line "tsan: 8 passed, 0 failed"

    # And directly, so this test does not only trust the script.
    local tsan=$IPCLAB_BUILD/tsan/chapters/08-pthreads/thread_counter
    run --separate-stderr env TSAN_OPTIONS=exitcode=66 "$tsan" --lock none --iters 100
    assert_equal "$status" 66
    [[ $stderr == *"WARNING: ThreadSanitizer: data race"* ]] || fail "no report: $stderr"
    run --separate-stderr env TSAN_OPTIONS=exitcode=66 "$tsan" --lock mutex --iters 100
    assert_success
    [[ $stderr != *ThreadSanitizer* ]] || fail "a report for the mutex: $stderr"
}
