#!/usr/bin/env bats
# Chapter 05: the shared-memory counter race (chapters/05-shm-counter-race).
# The many-trial proof that the race is certain without a lock and absent
# with one lives in tests/race/checks.txt (make race); these tests check the
# program's behaviour run by run.

load '../helpers/ipclab'

counter=05-shm-counter-race/shm_counter

@test "shm_counter: the smallest case, two processes one increment each under a semaphore, counts 2" {
    run_program $counter --procs 2 --iters 1 --lock sysv-sem
    assert_success
    assert_line --index 0 "2 processes x 1 increments, lock sysv-sem, sysv shared memory, window 0, not pinned"
    assert_equal "$(result_field expected)" 2
    assert_equal "$(result_field counted)" 2
    assert_equal "$(result_field lost)" 0
}

@test "shm_counter: without a lock, pinned with a window, updates are lost" {
    run_program $counter --lock none --pin --window 100 --iters 10000
    assert_success
    assert_output --partial "all on CPU"
    assert_equal "$(result_field expected)" 20000
    (( $(result_field lost) >= 5000 )) || fail "lost only $(result_field lost): $output"
    # The verdict adds up.
    assert_equal $(( $(result_field counted) + $(result_field lost) )) 20000
}

@test "shm_counter: every lock, with both kinds of shared memory, loses nothing" {
    local lock shm
    for shm in sysv posix; do
        for lock in sysv-sem posix-sem mutex atomic; do
            run_program $counter --lock $lock --shm $shm --pin --window 100 --iters 2000 --procs 3
            assert_success
            [[ $(result_field lost) == 0 && $(result_field counted) == 6000 ]] ||
                fail "lock $lock, shm $shm: $output"
        done
    done
}

@test "shm_counter: the result line is machine-readable with a time" {
    run_program $counter --lock atomic --iters 100
    assert_success
    assert_line --regexp '^result: expected=200 counted=200 lost=0 ms=[0-9]+\.[0-9]{3}$'
}

@test "shm_counter: bad arguments are refused with exit status 2" {
    run_program $counter --procs 12abc
    assert_usage_error "--procs: '12abc' is not a whole number from 1 to 64"
    run_program $counter --procs 0
    assert_usage_error "--procs: '0' is not a whole number from 1 to 64"
    run_program $counter --procs -3
    assert_usage_error "--procs: '-3' is not a whole number from 1 to 64"
    run_program $counter --iters ''
    assert_usage_error "--iters: '' is not a whole number"
    run_program $counter --lock spinlock
    assert_usage_error "--lock: 'spinlock' is not one of the choices"
    run_program $counter --window
    assert_usage_error "--window needs a value"
    run_program $counter stray
    assert_usage_error "unexpected argument 'stray'"
}

@test "shm_counter: SIGINT or SIGTERM mid-run leaves no semaphore, segment or worker behind" {
    local sig
    for sig in INT TERM; do
        # Long enough to be interrupted: System V semaphore, many increments.
        start_background $counter --lock sysv-sem --iters 100000000 --procs 2
        wait_for_output processes      # the header, printed as the workers start
        sleep 0.1
        finish_background $sig
        # Killed by the signal (re-raised after cleanup): 128 + its number.
        assert_equal "$status" $((128 + $(kill -l $sig)))
    done
    # The leak guard (teardown) checks that nothing is left.
}
