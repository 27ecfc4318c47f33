#!/usr/bin/env bats
# Chapter 07: the process pool and its thread twin (chapters/07-fork-pool).
# The pool's every fault, result order and the 10,000-job runs are tested
# in tests/unit/test_pool.c and test_tpool.c; these tests check the demo
# program run by run, and that no run leaves a process behind (the leak
# guard), not even one stopped by a signal.

load '../helpers/ipclab'

demo=07-fork-pool/pool_demo
bench=07-fork-pool/pool_bench

# job_ids: the ids of the "job N ..." lines of $output, one per line.
job_ids() {
    sed -n 's/^job \([0-9]*\) .*/\1/p' <<<"$output"
}

@test "pool_demo --help: the usage and the modes, on stdout" {
    run_program $demo --help
    assert_success
    assert_line --index 0 --regexp '^Usage: pool_demo \[OPTION\]\.\.\.'
    assert_output --partial "--mode MODE"
    assert_output --partial "fork, prefork, thread, sync (default fork)"
    assert_output --partial "--faults"
    [[ -z $stderr ]]
}

@test "pool_demo: bad arguments are refused with exit status 2" {
    run_program $demo --jobs 0
    assert_usage_error "--jobs: '0' is not a whole number from 1 to 10000"
    run_program $demo --jobs 12abc
    assert_usage_error "--jobs: '12abc' is not a whole number from 1 to 10000"
    run_program $demo --workers 129
    assert_usage_error "--workers: '129' is not a whole number from 1 to 128"
    run_program $demo --seed -1
    assert_usage_error "--seed: '-1' is not a whole number"
    run_program $demo --mode spawn
    assert_usage_error "--mode: 'spawn' is not one of the choices"
    run_program $demo --max-ms 1
    assert_usage_error "--max-ms: '1' is not a whole number from 2 to 10000"
    run_program $demo --time-limit
    assert_usage_error "--time-limit needs a value"
    run_program $demo --faults --mode thread
    assert_usage_error "--faults needs --mode fork or prefork"
    run_program $demo --faults --mode sync
    assert_usage_error "--faults needs --mode fork or prefork"
    run_program $demo stray
    assert_usage_error "unexpected argument 'stray'"
}

@test "pool_demo: fork mode, every job once, a fork per job, and the summary line" {
    run_program $demo --jobs 20 --workers 4 --max-ms 10
    assert_success
    assert_line --index 0 "20 jobs, 4 workers, mode fork, sleeps 5-10 ms, seed 1"
    assert_line --regexp '^result: mode=fork jobs=20 workers=4 ok=20 failed=0 forks=20 ms=[0-9]+$'
    # Each job reported exactly once, whatever the order.
    assert_equal "$(job_ids | sort -n | tr '\n' ' ')" "$(seq 1 20 | tr '\n' ' ')"
    assert_equal "$(grep -c '^job [0-9]* done: slept [0-9]* ms (pid [0-9]*)$' <<<"$output")" 20
    # A child per job: 20 different pids.
    assert_equal "$(sed -n 's/.*(pid \([0-9]*\))$/\1/p' <<<"$output" | sort -u | wc -l)" 20
}

@test "pool_demo: prefork mode forks each worker once and runs every job" {
    run_program $demo --jobs 40 --workers 4 --max-ms 10 --mode prefork
    assert_success
    assert_equal "$(result_field ok)" 40
    assert_equal "$(result_field failed)" 0
    assert_equal "$(result_field forks)" 4
    assert_equal "$(job_ids | sort -n | uniq | wc -l)" 40
    # 40 jobs, at most 4 processes ran them.
    (( $(sed -n 's/.*(pid \([0-9]*\))$/\1/p' <<<"$output" | sort -u | wc -l) <= 4 ))
}

@test "pool_demo: thread mode forks nothing; sync mode runs in order in one process" {
    run_program $demo --jobs 20 --workers 4 --max-ms 10 --mode thread
    assert_success
    assert_line --regexp '^result: mode=thread jobs=20 workers=4 ok=20 failed=0 forks=0 ms=[0-9]+$'
    assert_equal "$(grep -c '(thread)$' <<<"$output")" 20

    run_program $demo --jobs 5 --max-ms 4 --mode sync
    assert_success
    assert_equal "$(job_ids | tr '\n' ' ')" "1 2 3 4 5 "
    assert_equal "$(sed -n 's/.*(pid \([0-9]*\))$/\1/p' <<<"$output" | sort -u | wc -l)" 1
    assert_equal "$(result_field forks)" 0
}

@test "pool_demo --faults: a crash, an exit and a runaway job are results; the rest succeed" {
    local mode
    for mode in fork prefork; do
        run_program $demo --jobs 30 --workers 8 --max-ms 20 --faults --mode $mode
        assert_failure 1                  # some jobs failed, and the status says so
        assert_line --regexp '^job 10 killed: killed by SIGSEGV \(pid [0-9]+\)$'
        assert_line --regexp '^job 20 exited: exited with status 3 without a result \(pid [0-9]+\)$'
        assert_line --regexp '^job 30 timed out: ran past its 540 ms time limit and was killed \(pid [0-9]+\)$'
        assert_equal "$(result_field ok)" 27
        assert_equal "$(result_field failed)" 3
        assert_equal "$(job_ids | sort -n | uniq | wc -l)" 30
    done
}

@test "pool_demo: the same seed draws the same sleeps, another seed others" {
    local first second other
    run_program $demo --jobs 12 --workers 4 --max-ms 20 --seed 7
    assert_success
    first=$(grep '^job' <<<"$output" | sed 's/ (pid.*//' | sort)
    run_program $demo --jobs 12 --workers 4 --max-ms 20 --seed 7 --mode thread
    second=$(grep '^job' <<<"$output" | sed 's/ (thread)//' | sort)
    run_program $demo --jobs 12 --workers 4 --max-ms 20 --seed 8
    other=$(grep '^job' <<<"$output" | sed 's/ (pid.*//' | sort)
    assert_equal "$first" "$second"
    [[ $first != "$other" ]] || fail "seeds 7 and 8 drew the same sleeps"
}

@test "pool_demo: a wait longer than --wait-ms is reported with the counts" {
    # Jobs sleep 500 ms or more: several 50 ms waits end without a result.
    run_program $demo --jobs 2 --workers 2 --max-ms 1000 --wait-ms 50
    assert_success
    assert_line --regexp '^\(no result for 50 ms: 0 pending, [12] running\)$'
    assert_equal "$(result_field ok)" 2
}

@test "pool_demo: SIGINT or SIGTERM mid-run leaves no worker behind" {
    local sig mode path pid rc deadline
    path=$(program $demo)
    for mode in fork prefork thread; do
        for sig in INT TERM; do
            env --default-signal=INT "$path" --jobs 50 --workers 8 --max-ms 10000 --mode $mode \
                > "$BATS_TEST_TMPDIR/out" &
            pid=$!
            deadline=$((SECONDS + 5))
            until grep -q '^50 jobs' "$BATS_TEST_TMPDIR/out"; do
                ((SECONDS < deadline)) || fail "no header line ($mode, $sig)"
                sleep 0.01
            done
            sleep 0.2                     # the workers are sleeping in their jobs
            kill -$sig $pid
            rc=0
            wait $pid || rc=$?
            # Killed by the signal (re-raised after cleanup): 128 + its number.
            assert_equal "$rc" $((128 + $(kill -l $sig)))
        done
    done
    # The leak guard (teardown) fails the test if any worker is left.
}

@test "pool_bench: a quick run prints every rate and the ratios (no speed asserted)" {
    run_program $bench --workers 2 --rounds 1 --jobs 20 --many 200
    assert_success
    local what
    for what in fork-per-job prefork threads 'xargs -P (exec)'; do
        assert_line --regexp "^  ${what//[()]/.} +[0-9]+ jobs a round +[0-9]+ jobs/s"
    done
    assert_line --regexp '^  prefork / fork-per-job +[0-9.]+x  \(target >= 20x: (met|NOT met)\)$'
    assert_line --regexp '^  threads / prefork +[0-9.]+x  \(target > 1x: (met|NOT met)\)$'
    run_program $bench --rounds 0
    assert_usage_error "--rounds: '0' is not a whole number from 1 to 99"
}
