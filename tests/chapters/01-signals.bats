#!/usr/bin/env bats
# Chapter 01: signals (chapters/01-signals): a worker that stops cleanly, a
# supervisor that reaps its workers on SIGCHLD, standard signals that
# coalesce against real-time signals that queue, and a poll() loop woken by
# a signal.

load '../helpers/ipclab'

worker=01-signals/signal_worker
supervisor=01-signals/supervisor
counts=01-signals/signal_counts
wakeup=01-signals/poll_wakeup

# --- signal_worker ----------------------------------------------------------

@test "signal_worker: SIGTERM from its timer stops it cleanly, after the interrupted job finished" {
    run_program $worker --timer-ms 100 --job-ms 20
    assert_success
    assert_line --partial "signal_worker: started (pid "
    assert_line --regexp '^signal_worker: SIGTERM arrived (during|after) job [0-9]+'
    assert_line --regexp '^signal_worker: stopped cleanly after [0-9]+ jobs$'
    assert_equal "$(result_field stop)" SIGTERM
    local jobs signal_job
    jobs=$(result_field jobs)
    signal_job=$(result_field signal_job)
    ((jobs >= 1)) || fail "no job done: $output"
    # The job the signal interrupted was completed, and no job started after.
    assert_equal "$jobs" "$signal_job"
}

@test "signal_worker: SIGTERM or SIGINT from another process stops it cleanly with status 0" {
    local sig
    for sig in TERM INT; do
        start_background $worker --timer-ms 0 --max-ms 10000 --job-ms 10
        wait_for_output "started (pid $bg_pid)"
        sleep 0.05
        finish_background $sig
        assert_equal "$status" 0
        assert_line --regexp "^signal_worker: SIG$sig arrived (during|after) job [0-9]+"
        assert_line --partial "stopped cleanly after"
        assert_equal "$(result_field stop)" "SIG$sig"
        assert_equal "$(result_field jobs)" "$(result_field signal_job)"
    done
}

@test "signal_worker: the job in hand when SIGTERM comes is finished, not abandoned" {
    # One job of 400 ms, the signal 100 ms into it: a worker that finishes
    # the job runs 400 ms at least; one that abandons it stops near 100 ms.
    run_program $worker --timer-ms 100 --job-ms 400
    assert_success
    assert_line "signal_worker: SIGTERM arrived during job 1; finishing that job first"
    assert_equal "$(result_field jobs)" 1
    local ms
    ms=$(result_field ms)
    ((${ms%.*} >= 400)) || fail "stopped after ${ms} ms, inside its 400 ms job: $output"
}

@test "signal_worker: its elapsed time covers every job it counts" {
    run_program $worker --timer-ms 150 --job-ms 40
    assert_success
    local jobs ms
    jobs=$(result_field jobs)
    ms=$(result_field ms)
    ((jobs >= 1 && ${ms%.*} >= jobs * 40)) || fail "$jobs jobs of 40 ms in $ms ms: $output"
}

@test "signal_worker: without a signal it stops by itself at --max-ms, not before" {
    run_program $worker --timer-ms 0 --max-ms 50 --job-ms 10
    assert_success
    assert_line "signal_worker: no stop signal within 50 ms; stopped by myself after $(result_field jobs) jobs"
    assert_equal "$(result_field stop)" none
    assert_equal "$(result_field signal_job)" -1
    local ms
    ms=$(result_field ms)
    ((${ms%.*} >= 50)) || fail "stopped after $ms ms: $output"
}

@test "signal_worker: bad arguments are refused with exit status 2" {
    run_program $worker --job-ms 0
    assert_usage_error "--job-ms: '0' is not a whole number from 1 to 1000"
    run_program $worker --timer-ms -1
    assert_usage_error "--timer-ms: '-1' is not a whole number from 0 to 600000"
    run_program $worker --max-ms 5x
    assert_usage_error "--max-ms: '5x' is not a whole number"
    run_program $worker extra
    assert_usage_error "unexpected argument 'extra'"
}

# --- supervisor -------------------------------------------------------------

@test "supervisor: starts 3 workers, stops them with SIGTERM, reaps each, no zombie left" {
    run_program $supervisor
    assert_success
    local i
    for i in 0 1 2; do
        assert_line --regexp "^supervisor: started worker $i \\(pid [0-9]+\\)$"
        assert_line --regexp "^supervisor: sent SIGTERM to worker $i \\(pid [0-9]+\\)$"
        assert_line --regexp "^worker $i \\(pid [0-9]+\\): SIGTERM arrived (during|after) job"
        assert_line --regexp "^worker $i \\(pid [0-9]+\\): stopped cleanly after [0-9]+ jobs$"
        assert_line --regexp "^supervisor: reaped worker $i \\(pid [0-9]+\\): exited with status 0$"
    done
    assert_line "supervisor: waitpid(-1): ECHILD, no child left"
    assert_line --regexp '^result: workers=3 started=3 reaped=3 clean=3 died=0 zombies=0 children_left=0 sigchld=[1-3]$'
}

@test "supervisor: --stop-signal SIGINT stops the workers the same way" {
    run_program $supervisor --workers 2 --stop-signal SIGINT --run-ms 50
    assert_success
    assert_line --regexp '^worker 0 \(pid [0-9]+\): SIGINT arrived'
    assert_line --regexp '^worker 1 \(pid [0-9]+\): SIGINT arrived'
    assert_equal "$(result_field clean)" 2
    assert_equal "$(result_field zombies)" 0
}

@test "supervisor: --no-reap shows the stopped workers as zombies, then reaps them late" {
    # This proves the zombie count can see zombies: the default's zombies=0
    # means something.
    run_program $supervisor --no-reap --run-ms 50
    assert_success
    assert_line "supervisor: 3 of 3 workers are zombies: ended, exit status not collected"
    assert_line --regexp '^supervisor: reaped worker 2 \(pid [0-9]+\) late: exited with status 0$'
    assert_equal "$(result_field zombies)" 3
    assert_equal "$(result_field reaped)" 3
    assert_equal "$(result_field children_left)" 0
}

@test "supervisor: a worker killed while running is reaped at once, on its SIGCHLD" {
    # One worker, killed at once, and a run time far beyond the test's limit:
    # only SIGCHLD can end the wait early.
    IPCLAB_TIMEOUT=10 run_program $supervisor --workers 1 --kill-one --run-ms 600000
    assert_success
    assert_line --regexp '^supervisor: reaped worker 0 \(pid [0-9]+\) while running: killed by SIGKILL$'
    assert_line "result: workers=1 started=1 reaped=1 clean=0 died=1 zombies=0 children_left=0 sigchld=1"
}

@test "supervisor: --kill-one: the others still stop cleanly" {
    # A second of running time: worker 0's SIGKILL and SIGCHLD come long before.
    run_program $supervisor --kill-one --run-ms 1000
    assert_success
    assert_line --regexp '^supervisor: reaped worker 0 \(pid [0-9]+\) while running: killed by SIGKILL$'
    refute_line --regexp '^supervisor: sent SIGTERM to worker 0 '
    assert_line --regexp '^result: workers=3 started=3 reaped=3 clean=2 died=1 zombies=0 children_left=0 sigchld=[1-3]$'

}

@test "supervisor: 32 workers killed at once are all reaped, though SIGCHLD does not queue" {
    # If the supervisor reaped one child per SIGCHLD, coalesced signals would
    # leave workers unreaped until the grace period ran out.
    run_program $supervisor --workers 32 --stop-signal SIGKILL --run-ms 50 --grace-ms 10000
    assert_success
    refute_output --partial "did not stop"
    (($(grep -c 'killed by SIGKILL$' <<<"$output") == 32)) || fail "$output"
    assert_line --regexp '^result: workers=32 started=32 reaped=32 clean=0 died=32 zombies=0 children_left=0 sigchld=[0-9]+$'
    # The handler counted its runs: at least one, never more than the ends,
    # and the supervisor says so in words.
    local n
    n=$(result_field sigchld)
    ((n >= 1 && n <= 32)) || fail "sigchld=$n: $output"
    assert_line --regexp "^supervisor: 32 workers ended, SIGCHLD was delivered $n times?: "
}

@test "supervisor: each SIGCHLD is counted: one per worker when they end far apart" {
    # --kill-one kills worker 0 at once; the two others end 300 ms later, on
    # the stop signal.  Worker 0's SIGCHLD cannot merge with theirs, so the
    # count is 2 or 3, never 1: the handler counts its runs.
    run_program $supervisor --kill-one --run-ms 300
    assert_success
    local n
    n=$(result_field sigchld)
    ((n >= 2 && n <= 3)) || fail "sigchld=$n: $output"
}

@test "supervisor: after kill -9 of the supervisor, its workers stop by themselves" {
    start_background $supervisor --workers 3 --run-ms 600000 --job-ms 10
    wait_for_output "worker 2 (pid"
    wait_for_output "supervisor: started worker 2"
    local pids pid deadline
    pids=$(sed -n 's/^supervisor: started worker [0-9]* (pid \([0-9]*\))$/\1/p' "$BATS_TEST_TMPDIR/out")
    assert_equal "$(wc -w <<<"$pids")" 3
    finish_background KILL
    assert_equal "$status" 137
    # Each worker gets SIGTERM from the kernel (parent-death signal), finishes
    # its job and exits; none is left running (a zombie waits for its new
    # parent to reap it: it runs nothing).
    deadline=$((SECONDS + 10))
    for pid in $pids; do
        while [[ -e /proc/$pid && $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; do
            ((SECONDS < deadline)) || fail "worker $pid still running after its supervisor died"
            sleep 0.02
        done
    done
    [[ $(grep -c ': stopped cleanly after' "$BATS_TEST_TMPDIR/out") == 3 ]] ||
        fail "not every worker stopped cleanly: $(cat "$BATS_TEST_TMPDIR/out")"
}

@test "supervisor: SIGTERM or SIGINT to the supervisor mid-run stops and reaps every worker" {
    local sig
    for sig in TERM INT; do
        start_background $supervisor --workers 3 --run-ms 600000 --job-ms 10
        wait_for_output "worker 2 (pid"
        finish_background $sig
        assert_equal "$status" 0
        assert_line "supervisor: got SIG$sig; stopping the workers"
        assert_line --regexp '^result: workers=3 started=3 reaped=3 clean=3 died=0 zombies=0 children_left=0 sigchld=[1-3]$'

    done
    # The leak guard (teardown) checks that no worker is left.
}

@test "supervisor: bad arguments are refused with exit status 2" {
    run_program $supervisor --workers 0
    assert_usage_error "--workers: '0' is not a whole number from 1 to 32"
    run_program $supervisor --workers 33
    assert_usage_error "--workers: '33' is not a whole number from 1 to 32"
    run_program $supervisor --stop-signal SIGHUP
    assert_usage_error "--stop-signal: 'SIGHUP' is not one of the choices"
    run_program $supervisor --no-reap=yes
    assert_usage_error "--no-reap takes no value"
}

# --- signal_counts ----------------------------------------------------------

@test "signal_counts: a busy receiver takes about one SIGUSR1 per burst, fewer than sent; every SIGRTMIN in order" {
    # 100 bursts of 10, a pause after each: the receiver runs in every pause
    # (on one CPU or many), so it takes more than one; within a burst the
    # kills come faster than it can take them, so it cannot take all.
    run_program $counts --count 1000 --burst 10
    assert_success
    local standard
    standard=$(result_field standard)
    ((standard >= 10 && standard < 1000)) || fail "standard=$standard: $output"
    assert_line "SIGUSR1  (kill):     sent 1000 in 100 bursts of 10, arrived $standard"
    assert_line "SIGUSR1: $((1000 - standard)) lost: sent while one was still pending, they added nothing"
    assert_equal "$(result_field realtime)" 1000
    assert_equal "$(result_field rt_in_order)" 1
    assert_equal "$(result_field rt_sum_ok)" 1
    assert_equal "$(result_field rt_queued)" 1
    assert_line "SIGRTMIN (sigqueue): sent 1000, arrived 1000, values 1..1000 in order, sum 500500 (expected 500500)"
    refute_output --partial "warning: "
}

@test "signal_counts: signals blocked while sent: 1000 SIGUSR1 collapse into one, 1000 SIGRTMIN all arrive" {
    run_program $counts --receiver blocked --count 1000
    assert_success
    assert_line "SIGUSR1  (kill):     sent 1000 in 100 bursts of 10, arrived 1"
    assert_line "SIGUSR1: blocked while sent, they collapsed into one pending signal"
    assert_equal "$(result_field standard)" 1
    assert_equal "$(result_field realtime)" 1000
    assert_equal "$(result_field rt_in_order)" 1
    assert_equal "$(result_field rt_sum_ok)" 1
}

@test "signal_counts: the real-time count equals the number sent, whatever the number" {
    local n
    for n in 1 7 5000; do
        run_program $counts --receiver blocked --count $n
        assert_success
        assert_equal "$(result_field realtime)" $n
        assert_equal "$(result_field standard)" 1
    done
}

@test "signal_counts: bad arguments are refused with exit status 2" {
    run_program $counts --count 0
    assert_usage_error "--count: '0' is not a whole number from 1 to 20000"
    run_program $counts --count 20001
    assert_usage_error "--count: '20001' is not a whole number from 1 to 20000"
    run_program $counts --burst 0
    assert_usage_error "--burst: '0' is not a whole number from 1 to 20000"
    run_program $counts --receiver lazy
    assert_usage_error "--receiver: 'lazy' is not one of the choices"
}

# --- poll_wakeup ------------------------------------------------------------

@test "poll_wakeup: a flag checked before poll() misses a signal that lands in the gap" {
    run_program $wakeup --method flag --land gap --timeout-ms 200
    assert_success
    assert_line "poll_wakeup: the handler had set the flag, but poll() slept through it until the timeout"
    assert_equal "$(result_field woke_by)" timeout
    assert_equal "$(result_field missed)" 1
    local ms
    ms=$(result_field ms)
    ((${ms%.*} >= 199)) || fail "woke before the timeout: $output"
}

@test "poll_wakeup: self-pipe and signalfd wake at once for a signal in the same gap" {
    local method
    for method in self-pipe signalfd; do
        IPCLAB_TIMEOUT=10 run_program $wakeup --method $method --land gap --timeout-ms 60000
        assert_success
        assert_line --regexp "^poll_wakeup: woken by SIGUSR1 [0-9.]+ ms after it was sent \\($method\\)$"
        assert_equal "$(result_field woke_by)" signal
        assert_equal "$(result_field missed)" 0
    done
}

@test "poll_wakeup: a signal during poll() wakes every method" {
    local method delay
    for method in flag self-pipe signalfd; do
        # The flag method needs the loop inside poll() by the time the signal
        # comes: a full second for a few microseconds of work.
        delay=50
        [[ $method == flag ]] && delay=1000
        IPCLAB_TIMEOUT=10 run_program $wakeup --method $method --land poll --delay-ms $delay --timeout-ms 60000
        assert_success
        assert_equal "$(result_field woke_by)" signal
        assert_equal "$(result_field missed)" 0
    done
}

@test "poll_wakeup: SIGTERM or SIGINT wakes the loop, which stops cleanly and reaps its child" {
    local method sig
    for method in flag self-pipe signalfd; do
        for sig in TERM INT; do
            start_background $wakeup --method $method --land poll --delay-ms 100000 --timeout-ms 200000
            wait_for_output "; timeout 200000 ms"
            sleep 0.05
            finish_background $sig
            assert_equal "$status" 0
            assert_line "poll_wakeup: woken by SIG$sig; stopping cleanly"
            assert_equal "$(result_field woke_by)" "SIG$sig"
        done
    done
}

@test "poll_wakeup: bad arguments are refused with exit status 2" {
    run_program $wakeup --method busy-wait
    assert_usage_error "--method: 'busy-wait' is not one of the choices"
    run_program $wakeup --land nowhere
    assert_usage_error "--land: 'nowhere' is not one of the choices"
    run_program $wakeup --land poll --delay-ms 500 --timeout-ms 500
    assert_usage_error "--delay-ms must be shorter than --timeout-ms"
    run_program $wakeup --timeout-ms 0
    assert_usage_error "--timeout-ms: '0' is not a whole number from 1 to 600000"
}

# --- send_signal: kill(2) to a pid given (the sender a PHP pcntl_signal handler needs) ---

sender=01-signals/send_signal

@test "send_signal: the process named by --pid gets the signal named, with or without SIG" {
    local pid rc sig
    for sig in TERM sigusr1 SIGHUP; do
        sleep 30 &
        pid=$!
        run_program $sender --pid "$pid" --signal "$sig"
        assert_success
        local name=${sig^^}
        name=SIG${name#SIG}
        assert_output "sent $name to pid $pid"
        rc=0
        wait "$pid" || rc=$?
        # sleep dies of it: 128 + the number of the signal we named.
        assert_equal "$rc" $((128 + $(kill -l "${name#SIG}")))
    done
}

@test "send_signal: --count sends it that many times; a pid that is gone is ESRCH" {
    local pid
    sleep 30 &
    pid=$!
    run_program $sender --pid "$pid" --signal CONT --count 3    # CONT: harmless, thrice
    assert_success
    assert_equal "${#lines[@]}" 3
    assert_equal "${lines[2]}" "sent SIGCONT to pid $pid"
    kill "$pid"
    wait "$pid" || true
    run_program $sender --pid "$pid"
    assert_failure 1
    assert_equal "$stderr" "send_signal: kill pid $pid SIGTERM: ESRCH (No such process)"
}

@test "send_signal: no --pid, pid 1, group pids and unknown names are refused" {
    run_program $sender
    assert_usage_error "--pid is required: the process to signal"
    run_program $sender --pid 1
    assert_usage_error "--pid: '1' is not a whole number from 2 to 4194304"
    run_program $sender --pid -5
    assert_usage_error "--pid: '-5' is not a whole number from 2 to 4194304"
    run_program $sender --pid 1234 --signal SEGV
    assert_usage_error "--signal: 'SEGV' is not one of the signals listed"
}
