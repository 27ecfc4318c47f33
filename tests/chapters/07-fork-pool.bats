#!/usr/bin/env bats
# Chapter 07: the process pool and its thread twin (chapters/07-fork-pool).
# The pool's every fault, result order and the 10,000-job runs are tested
# in tests/unit/test_pool.c and test_tpool.c; these tests check the demo
# program run by run, and that no run leaves a process behind (the leak
# guard), not even one stopped by a signal.

load '../helpers/ipclab'

demo=07-fork-pool/pool_demo
bench=07-fork-pool/pool_bench
small=07-fork-pool/small_pool

# job_ids: the ids of the "job N ..." lines of $output, one per line.
job_ids() {
    sed -n 's/^job \([0-9]*\) .*/\1/p' <<<"$output"
}

# --- small_pool: the whole idea in one file --------------------------------

@test "small_pool --help and bad arguments" {
    run_program $small --help
    assert_success
    assert_line --index 0 'Usage: small_pool [OPTION]...'
    assert_output --partial "--wait-ms MS"
    [[ -z $stderr ]]
    run_program $small --jobs 0
    assert_usage_error "--jobs: '0' is not a whole number from 1 to 1000"
    run_program $small --workers 33
    assert_usage_error "--workers: '33' is not a whole number from 1 to 32"
    run_program $small --crash x
    assert_usage_error "--crash: 'x' is not a whole number from 0 to 1000"
    run_program $small --jobs 1000 --max-ms 2000
    assert_usage_error "1000 jobs of up to 2000 ms, 3 at a time, could take over a minute"
    run_program $small stray
    assert_usage_error "unexpected argument 'stray'"
}

@test "small_pool: every job once, a child each, results in the order jobs finish" {
    run_program $small --jobs 10 --workers 3 --max-ms 400
    assert_success
    assert_line --index 0 "10 jobs, at most 3 at a time, a child each, sleeps 200-400 ms"
    assert_equal "$(job_ids | sort -n | tr '\n' ' ')" "$(seq 1 10 | tr '\n' ' ')"
    assert_equal "$(grep -c '^job [0-9]* done: slept [0-9]* ms (pid [0-9]*)$' <<<"$output")" 10
    assert_equal "$(sed -n 's/.*(pid \([0-9]*\))$/\1/p' <<<"$output" | sort -u | wc -l)" 10
    assert_equal "$(result_field forks)" 10
    assert_equal "$(result_field ok)" 10
    # Job 1 sleeps 280 ms, job 3 239 ms (the spread is fixed by the job's
    # number), so with 3 at once job 3 comes back before job 1.
    [[ $(job_ids | tr '\n' ' ') != "$(seq 1 10 | tr '\n' ' ')" ]] ||
        fail "results came in submission order: not in the order jobs finished"
}

@test "small_pool --workers 1: one child at a time, so results come in submission order" {
    run_program $small --jobs 6 --workers 1 --max-ms 20
    assert_success
    assert_equal "$(job_ids | tr '\n' ' ')" "1 2 3 4 5 6 "
    # One at a time: the run lasts at least the sum of the sleeps.
    local slept
    slept=$(( $(sed -n 's/^job [0-9]* done: slept \([0-9]*\) ms.*/\1/p' <<<"$output" | paste -sd+) ))
    (( $(result_field ms) >= slept )) || fail "ran $(result_field ms) ms for $slept ms of sleeps"
}

@test "small_pool --crash 4: the crash is a result named by its signal; the rest succeed" {
    run_program $small --jobs 8 --workers 3 --max-ms 20 --crash 4
    assert_failure 1
    assert_line --regexp '^job 4 failed: killed by SIGSEGV, no result \(pid [0-9]+\)$'
    assert_equal "$(result_field ok)" 7
    assert_equal "$(result_field failed)" 1
    assert_equal "$(job_ids | sort -n | uniq | wc -l)" 8
}

@test "small_pool: get times out after --wait-ms (measured), then get_all takes the rest" {
    run_program $small --jobs 4 --workers 2 --max-ms 600 --wait-ms 100
    assert_success
    local waits
    waits=$(grep -c '^(no result for 100 ms: [0-9]* queued, [0-9]* running)$' <<<"$output")
    (( waits >= 1 )) || fail "no get timed out, with jobs of 300 ms or more"
    # Each timed-out get lasted at least its 100 ms.
    (( $(result_field ms) >= 100 * waits )) || fail "$waits timeouts in $(result_field ms) ms"
    # The first half one get at a time, the other half through get_all.
    assert_line "get_all: 2 more"
    assert_equal "$(sed -n '/^get_all/,$p' <<<"$output" | grep -c '^job ')" 2
    assert_equal "$(result_field ok)" 4
}

@test "small_pool: SIGTERM or SIGINT with children running leaves none behind" {
    local sig deadline
    for sig in TERM INT; do
        start_background $small --jobs 6 --workers 3 --max-ms 2000
        # Ready when its 3 children exist (they sleep 1-2 s in their jobs).
        deadline=$((SECONDS + 5))
        until (( $(pgrep -c -P "$bg_pid") >= 3 )); do
            ((SECONDS < deadline)) || fail "no 3 children ($sig)"
            sleep 0.01
        done
        finish_background $sig
        assert_equal "$status" $((128 + $(kill -l $sig)))
    done
    # The leak guard (teardown) fails the test if any child is left.
}

@test "pool_demo --help: the usage and the modes, on stdout" {
    run_program $demo --help
    assert_success
    assert_line --index 0 --regexp '^Usage: pool_demo \[OPTION\]\.\.\.'
    assert_output --partial "--mode MODE"
    assert_output --partial "how the jobs run (see below) (one of: fork, prefork,"
    assert_output --partial "thread, sync; default fork)"
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
    # Every accepted combination is bounded in time.
    run_program $demo --jobs 10000 --max-ms 10000
    assert_usage_error "10000 jobs of up to 10000 ms, 16 at a time, could take 6250 s: keep it to 120 s (fewer --jobs, more --workers or a smaller --max-ms)"
    run_program $demo --mode sync --jobs 1000 --workers 128
    assert_usage_error "1000 jobs of up to 200 ms, 1 at a time, could take 200 s: keep it to 120 s (fewer --jobs, more --workers or a smaller --max-ms)"
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
    assert_line --index 0 "5 jobs, one at a time in this process, mode sync, sleeps 2-4 ms, seed 1"
    assert_equal "$(job_ids | tr '\n' ' ')" "1 2 3 4 5 "
    assert_equal "$(sed -n 's/.*(pid \([0-9]*\))$/\1/p' <<<"$output" | sort -u | wc -l)" 1
    assert_equal "$(result_field workers)" 0
    assert_equal "$(result_field forks)" 0
}

@test "pool_demo --mode sync: 8 jobs by default, never a worker announced, about a second" {
    run_program $demo --mode sync
    assert_success
    assert_line --index 0 "8 jobs, one at a time in this process, mode sync, sleeps 100-200 ms, seed 1"
    refute_output --partial "workers,"
    assert_equal "$(result_field jobs)" 8
    assert_equal "$(result_field ok)" 8
    # Eight sleeps of 100-200 ms one after another: at least 800 ms, and
    # the whole run's time is the sum of what each job says it slept.
    local slept
    slept=$(( $(sed -n 's/^job [0-9]* done: slept \([0-9]*\) ms.*/\1/p' <<<"$output" | paste -sd+) ))
    (( $(result_field ms) >= slept )) || fail "ran $(result_field ms) ms for $slept ms of sleeps"
    (( slept >= 800 ))
}

@test "pool_demo --mode thread: a finished job wakes the waiting get at once" {
    # get waits up to --wait-ms (20 s) for each result.  Jobs of 5-10 ms
    # must come back as they finish: a get that only woke at its timeout
    # would print "(no result ...)" or take 20 s a result.
    run_program $demo --jobs 6 --workers 2 --max-ms 10 --mode thread --wait-ms 20000
    assert_success
    refute_output --partial "no result"
    assert_equal "$(result_field ok)" 6
    (( $(result_field ms) < 10000 )) || fail "6 jobs of 10 ms took $(result_field ms) ms"
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

@test "pool_demo --faults --batch 8, one worker: each fault is its own job's result; its batch runs once" {
    # One worker takes the jobs 8 at a time; a crash or an exit kills it
    # in the middle of a batch.  The jobs before the fault keep their
    # results, those after it are queued again: every job is reported
    # exactly once, and only the three faults failed.
    run_program $demo --jobs 30 --workers 1 --max-ms 10 --faults --mode prefork --batch 8
    assert_failure 1
    assert_line --regexp '^job 10 killed: killed by SIGSEGV \(pid [0-9]+\)$'
    assert_line --regexp '^job 20 exited: exited with status 3 without a result \(pid [0-9]+\)$'
    assert_line --regexp '^job 30 timed out: ran past its 520 ms time limit and was killed \(pid [0-9]+\)$'
    assert_equal "$(result_field ok)" 27
    assert_equal "$(result_field failed)" 3
    assert_equal "$(job_ids | wc -l)" 30
    assert_equal "$(job_ids | sort -n | uniq | wc -l)" 30
    # A new worker after the crash and after the exit, no other.
    assert_equal "$(result_field forks)" 3
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
    # (Not thread mode: threads end with their process, nothing can be left.)
    for mode in fork prefork; do
        for sig in INT TERM; do
            : > "$BATS_TEST_TMPDIR/out"   # or the wait below could read the last round's output
            env --default-signal=INT "$path" --jobs 40 --workers 8 --max-ms 10000 --mode $mode \
                > "$BATS_TEST_TMPDIR/out" &
            pid=$!
            deadline=$((SECONDS + 5))
            until grep -q '^40 jobs' "$BATS_TEST_TMPDIR/out"; do
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

@test "pool_bench: a quick run prints every rate, the ratios, and a verdict that matches each ratio" {
    run_program $bench --workers 2 --rounds 1 --jobs 20 --many 200
    assert_success
    local what line x
    for what in fork-per-job 'prefork, batch 1' 'prefork, batch 8' 'threads, batch 1' \
                'threads, batch 8' mutex+condvar 'xargs -P (exec)' 'floor, batch 1' 'floor, batch 8' \
                'deep floor, batch 1' 'deep floor, batch 8'; do
        assert_line --regexp "^  ${what//[()+]/.} +[0-9]+ jobs a round +[0-9]+ jobs/s +[0-9.]+ us/job"
    done
    # The floors say what they are: the parent's two calls for one batch,
    # and for the window of jobs a worker holds (8 batches of N, at most 64).
    assert_line "floor, batch N: the parent's two system calls for one batch, alone: one"
    assert_line 'deep floor, batch N: the same for a worker'"'"'s whole window (8 jobs at batch 1,'
    assert_line --regexp "^64 at batch 8\) in one send\(\) and one recv\(\)\.  Every job of a pool that deep$"
    # The deep floor is reported beside the target's floor, with no target.
    assert_line --regexp '^  prefork, batch 8 us/job / deep floor, batch 8 +[0-9.]+x$'
    # Python is measured when python3 runs, and said to be skipped otherwise.
    if command -v python3 >/dev/null; then
        assert_line --regexp '^  python chunksize 1 +200 jobs a round +[0-9]+ jobs/s'
        assert_line --regexp '^  python chunksize 8 +200 jobs a round +[0-9]+ jobs/s'
    else
        assert_line --regexp '^  python chunksize 1 +skipped: python3 is not installed$'
    fi
    # No speed is asserted: only that each verdict printed agrees with the
    # ratio printed next to it ("at least": x >= t, "at most": x <= t).
    for what in 'prefork, batch 8 / fork-per-job:least:20' \
                'prefork, batch 1 / python chunksize 1:least:2' \
                'prefork, batch 8 / python chunksize 8:least:2' \
                'prefork, batch 1 us/job / floor, batch 1:most:3' \
                'prefork, batch 8 us/job / floor, batch 8:most:3'; do
        [[ $what == *python* ]] && ! command -v python3 >/dev/null && continue
        local name=${what%%:*} rest=${what#*:}
        local how=${rest%%:*} t=${rest##*:}
        line=$(grep -E "^  $name +[0-9.]+x  \(expected at $how ${t}x: " <<<"$output") ||
            fail "no line for $name"
        x=$(sed -E 's/^.* ([0-9.]+)x  \(.*/\1/' <<<"$line")
        if awk -v x="$x" -v t="$t" -v how="$how" \
               'BEGIN { exit !(how == "least" ? x >= t : x <= t) }'; then
            [[ $line == *": met)" ]] || fail "$line"
        else
            [[ $line == *": not met)" ]] || fail "$line"
        fi
    done
    assert_line --regexp '^  threads, batch 1 us/job / mutex\+condvar +[0-9.]+x$'
    # Where the time went: CPU time and sleeps per job, for each pool.
    for what in fork-per-job 'prefork, batch 1' 'prefork, batch 8' 'threads, batch 1' \
                'threads, batch 8'; do
        assert_line --regexp "^  $what +user +[0-9.]+ us  system +[0-9.]+ us  sleeps +[0-9.]+  preempted +[0-9.]+$"
    done
    refute_output --partial "target"
    run_program $bench --rounds 0
    assert_usage_error "--rounds: '0' is not a whole number from 1 to 99"
    run_program $bench --batch 1
    assert_usage_error "--batch: '1' is not a whole number from 2 to 32"
    run_program $bench --batch 16 --prefetch 8
    assert_usage_error "--prefetch 8 is less than --batch 16: a worker must hold a batch"
    run_program $bench --rounds 99 --many 2000000
    assert_usage_error "--rounds 99 with --jobs 1000 and --many 2000000 is too much work: keep rounds x (jobs/1000 + many/20000) at most 300 (a few minutes)"
}

@test "pool_bench: no python3 on the PATH: Python is said to be skipped, the rest runs" {
    local bin=$BATS_TEST_TMPDIR/bin
    mkdir -p "$bin"
    ln -s "$(type -P xargs)" "$bin/xargs"
    ln -s "$(type -P true)" "$bin/true"
    ln -s "$(type -P timeout)" "$bin/timeout"
    run --separate-stderr env PATH="$bin" timeout -k 2 "$IPCLAB_TIMEOUT" "$(program $bench)" \
        --workers 2 --rounds 1 --jobs 20 --many 200
    assert_success
    assert_line --regexp '^  python chunksize 1 +skipped: python3 is not installed$'
    assert_line --regexp '^  python chunksize 8 +skipped: python3 is not installed$'
    refute_output --partial "prefork / python"
    assert_line --regexp '^  prefork, batch 8 / fork-per-job +[0-9.]+x'
}
