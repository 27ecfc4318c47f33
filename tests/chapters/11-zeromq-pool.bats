#!/usr/bin/env bats
# Chapter 11: the distributed pool (zmq_pool, zmq_pool_worker).  Workers
# are started here, each a process; the dispatcher prints its endpoint.
# The test over several hosts runs them, as root, in network namespaces
# made for it (tests/helpers/netns.bash), else on loopback, and its output
# says which.

load '../helpers/ipclab'
load '../helpers/netns'

ch=11-zeromq

# Every test: the leak guard, and no namespace or link left (netns.bash).
teardown() {
    local rc=0
    ipclab_teardown || rc=1
    netns_teardown || rc=1
    return $rc
}

# dispatcher_endpoint: where the background zmq_pool listens.
dispatcher_endpoint() {
    wait_for_output 'dispatcher on '
    sed -n 's/^dispatcher on \([^ ]*\): .*/\1/p' "$BATS_TEST_TMPDIR/out" | head -n 1
}

# start_worker NAME HOST ENDPOINT [RUN...]: a zmq_pool_worker in the
# background (RUN: a command prefix, as `ip netns exec NS`; worker_args:
# more options); its pid in ${worker_pid[NAME]}.
declare -gA worker_pid
worker_args=()
start_worker() {
    local name=$1 host=$2 ep=$3 path
    shift 3
    path=$(program $ch/zmq_pool_worker) || return 1
    env --default-signal=INT "$@" "$path" --endpoint "$ep" --host "$host" --idle-ms 15000 \
        "${worker_args[@]}" > "$BATS_TEST_TMPDIR/worker-$name.out" 2>&1 &
    worker_pid[$name]=$!
}

# child_of NAME JOB: the child pid worker NAME ran JOB in (its own line
# "worker H/P: job J OUTCOME in M ms (child C)").
child_of() {
    sed -n "s/^worker [^ ]*: job $2 .* (child \([0-9]*\))$/\1/p" "$BATS_TEST_TMPDIR/worker-$1.out"
}

# assert_resent_listed: the "to other workers:" lines list as many jobs
# as resent= counts.
assert_resent_listed() {
    local listed
    listed=$(sed -n 's/.*taken for dead; to other workers://p' <<<"$output" | wc -w)
    assert_equal "$listed" "$(result_field resent)"
}

# wait_workers NAME...: waits for those workers to end.
wait_workers() {
    local name
    for name in "$@"; do wait "${worker_pid[$name]}" || true; done
}

# assert_one_result_per_job N: the output has exactly one result line for
# each of jobs 1..N (a dropped second result does not count).
assert_one_result_per_job() {
    local ids
    ids=$(grep -E '^job [0-9]+: ' <<<"$output" | grep -v 'a second result' | sed 's/^job \([0-9]*\):.*/\1/' | sort -n)
    assert_equal "$(uniq -d <<<"$ids")" ""
    assert_equal "$ids" "$(seq 1 "$1")"
}

@test "zmq_pool: jobs run on local workers; faults are results: done, exited, killed, timed out" {
    run_program $ch/zmq_pool --mix --jobs 30 --time-limit-ms 300
    assert_success
    assert_one_result_per_job 30
    assert_line 'result: jobs=30 done=21 exited=3 killed=3 timed_out=3 lost=0 resent=0 duplicates=0'
    assert_line --regexp '^job 3: exited with status 3 \(host local, worker [0-9]+\)$'
    assert_line --regexp '^job 6: killed by SIGABRT \(host local, '
    assert_line --regexp '^job 9: timed out after 300 ms \(host local, '
    assert_line 'host local: 30 results from 2 workers'
}

@test "zmq_pool: every worker of one host killed mid-run: its jobs go to the other host, one result each" {
    start_background $ch/zmq_pool --local 0 --min-workers 4 --jobs 40 --job-ms 100 \
        --time-limit-ms 1000 --lost-ms 500
    local ep
    ep=$(dispatcher_endpoint)
    start_worker a1 a "$ep"
    start_worker a2 a "$ep"
    start_worker b1 b "$ep"
    start_worker b2 b "$ep"
    wait_for_output 'job 6:'
    kill -KILL "${worker_pid[a1]}" "${worker_pid[a2]}"
    finish_background
    wait_workers a1 a2 b1 b2
    assert_equal "$status" 0
    assert_one_result_per_job 40
    assert_line --regexp '^worker [0-9]+ on host a: no result for job [0-9]+ in 1500 ms$'
    assert_line --regexp '^worker [0-9]+ on host a: taken for dead; to other workers:( [0-9]+)+$'
    assert_line --regexp '^result: jobs=40 done=40 exited=0 killed=0 timed_out=0 lost=0 resent=[1-8] duplicates=0$'
    assert_resent_listed
    [[ $(sed -n 's/^host b: \([0-9]*\) results.*/\1/p' <<<"$output") -gt 20 ]] || fail "$output"
}

@test "zmq_pool --resends 0: the jobs of a killed host are reported lost after the bound, the rest done" {
    start_background $ch/zmq_pool --local 0 --min-workers 3 --jobs 30 --job-ms 100 \
        --time-limit-ms 400 --lost-ms 300 --resends 0 --inflight 2
    local ep
    ep=$(dispatcher_endpoint)
    start_worker a1 a "$ep"
    start_worker a2 a "$ep"
    start_worker b1 b "$ep"
    wait_for_output 'job 4:'
    kill -KILL "${worker_pid[a1]}" "${worker_pid[a2]}"
    finish_background
    wait_workers a1 a2 b1
    assert_equal "$status" 1
    assert_one_result_per_job 30
    assert_line --regexp '^job [0-9]+: lost: sent 1 time, no result$'
    assert_line --regexp '^worker [0-9]+ on host a: taken for dead; sent 1 times, so lost:( [0-9]+)+$'
    local done lost
    done=$(result_field done) lost=$(result_field lost)
    # Each killed worker had 1 or 2 jobs out (--inflight 2).
    ((lost >= 2 && lost <= 4 && done + lost == 30)) || fail "done $done, lost $lost"
    assert_equal "$(grep -c '^job [0-9]*: lost: ' <<<"$output")" "$lost"
    assert_equal "$(result_field resent)" 0
}

@test "zmq_pool: a worker only slow (SIGSTOP, then SIGCONT) is taken for dead with its 3 jobs (--inflight 3); late results are not second ones" {
    start_background $ch/zmq_pool --local 0 --min-workers 2 --jobs 30 --job-ms 50 \
        --time-limit-ms 300 --lost-ms 300 --inflight 3
    local ep
    ep=$(dispatcher_endpoint)
    start_worker a1 a "$ep"
    start_worker b1 b "$ep"
    wait_for_output 'job 4:'
    kill -STOP "${worker_pid[a1]}"
    wait_for_output 'on host a: no result for job'
    kill -CONT "${worker_pid[a1]}"
    finish_background
    wait_workers a1 b1
    assert_equal "$status" 0
    assert_one_result_per_job 30
    # Stopped, it keeps its 3 jobs: the queue still had work for it.
    assert_line --regexp '^worker [0-9]+ on host a: taken for dead; to other workers: [0-9]+ [0-9]+ [0-9]+$'
    assert_line --regexp '^result: jobs=30 done=30 exited=0 killed=0 timed_out=0 lost=0 resent=3 duplicates=[0-3]$'
}

@test "zmq_pool: with every worker gone, the jobs left are reported lost after --wait-ms" {
    start_background $ch/zmq_pool --local 0 --jobs 20 --job-ms 100 --time-limit-ms 500 --lost-ms 300 \
        --resends 1 --wait-ms 1000
    local ep
    ep=$(dispatcher_endpoint)
    start_worker a1 a "$ep"
    wait_for_output 'job 2:'
    kill -KILL "${worker_pid[a1]}"
    finish_background
    wait_workers a1
    assert_equal "$status" 1
    assert_one_result_per_job 20
    assert_line 'no worker for 1000 ms: every job without a result is lost'
    local done lost
    done=$(result_field done) lost=$(result_field lost)
    ((done >= 2 && lost >= 1 && done + lost == 20)) || fail "done $done, lost $lost"
}

@test "zmq_pool: a host that joins late gets work" {
    start_background $ch/zmq_pool --local 1 --jobs 30 --job-ms 50
    local ep
    ep=$(dispatcher_endpoint)
    wait_for_output 'job 3:'
    start_worker late late "$ep"
    finish_background
    wait_workers late
    assert_equal "$status" 0
    assert_one_result_per_job 30
    [[ $(sed -n 's/^host late: \([0-9]*\) results from 1 workers$/\1/p' <<<"$output") -gt 0 ]] ||
        fail "the late host got nothing: $output"
    grep -q 'the dispatcher said stop' "$BATS_TEST_TMPDIR/worker-late.out"
}

# One worker, so its jobs run in order: 1 2 3 ... (--mix: 3 exits with
# status 3, 6 crashes, 9 hangs).
@test "zmq_pool_worker (prefork): jobs share one child; a crash ends it, a new one serves the next job" {
    start_background $ch/zmq_pool --local 0 --jobs 7 --mix --inflight 2
    start_worker a1 a "$(dispatcher_endpoint)"
    finish_background
    wait_workers a1
    assert_equal "$status" 0
    assert_one_result_per_job 7
    assert_line 'result: jobs=7 done=5 exited=1 killed=1 timed_out=0 lost=0 resent=0 duplicates=0'
    assert_line --regexp '^job 6: killed by SIGABRT \(host a, '
    assert_line --regexp '^job 7: done in [0-9]+ ms \(host a, '
    local out=$BATS_TEST_TMPDIR/worker-a1.out c1 c3 c4 c6 c7
    c1=$(child_of a1 1) c3=$(child_of a1 3) c4=$(child_of a1 4) c6=$(child_of a1 6) c7=$(child_of a1 7)
    [[ -n $c1 && $c1 == "$(child_of a1 2)" && $c1 == "$c3" ]] || fail "jobs 1-3 not in one child: $(cat "$out")"
    [[ $c4 != "$c3" && $c4 == "$(child_of a1 5)" && $c4 == "$c6" ]] || fail "job 3's exit: $(cat "$out")"
    [[ -n $c7 && $c7 != "$c6" ]] || fail "job 7 in the crashed child: $(cat "$out")"
    grep -qx "worker a/[0-9]*: child $c6 ended with job 6: child $c7 forked for the next job" "$out" || fail "$(cat "$out")"
    grep -q 'the dispatcher said stop after 7 jobs, 3 children forked$' "$out" || fail "$(cat "$out")"
}

@test "zmq_pool_worker (prefork): a child past its time limit is killed (after the limit), a new one serves the next job" {
    start_background $ch/zmq_pool --local 0 --jobs 10 --mix --time-limit-ms 300 --inflight 2
    start_worker a1 a "$(dispatcher_endpoint)"
    finish_background
    wait_workers a1
    assert_equal "$status" 0
    assert_one_result_per_job 10
    assert_line 'result: jobs=10 done=7 exited=1 killed=1 timed_out=1 lost=0 resent=0 duplicates=0'
    assert_line --regexp '^job 10: done in [0-9]+ ms \(host a, '
    local out=$BATS_TEST_TMPDIR/worker-a1.out c9 c10 ms
    c9=$(child_of a1 9) c10=$(child_of a1 10)
    [[ -n $c9 && -n $c10 && $c10 != "$c9" ]] || fail "job 10 in the child that hung: $(cat "$out")"
    [[ $c9 == "$(child_of a1 7)" ]] || fail "job 7 and 9: not one child: $(cat "$out")"
    ms=$(sed -n 's/^worker [^ ]*: job 9 timed out in \([0-9]*\) ms .*/\1/p' "$out")
    ((ms >= 300)) || fail "timed out after $ms ms, before its limit: $(cat "$out")"
    run kill -0 "$c9"
    assert_failure                       # killed and reaped
    grep -q 'after 10 jobs, 4 children forked$' "$out" || fail "$(cat "$out")"
}

@test "zmq_pool_worker --fork-per-job: every job in a new child, the same outcomes" {
    start_background $ch/zmq_pool --local 0 --jobs 7 --mix
    worker_args=(--fork-per-job)
    start_worker a1 a "$(dispatcher_endpoint)"
    finish_background
    wait_workers a1
    assert_equal "$status" 0
    assert_line 'result: jobs=7 done=5 exited=1 killed=1 timed_out=0 lost=0 resent=0 duplicates=0'
    local children
    children=$(for j in 1 2 3 4 5 6 7; do child_of a1 $j; done | sort -u | wc -l)
    assert_equal "$children" 7
    grep -q 'after 7 jobs, 7 children forked$' "$BATS_TEST_TMPDIR/worker-a1.out"
}

@test "zmq_pool_worker: --endpoint is required; zmq_pool refuses inproc" {
    run_program $ch/zmq_pool_worker
    assert_usage_error '--endpoint is required'
    run_program $ch/zmq_pool --transport inproc
    assert_usage_error 'the workers are other processes'
}

@test "zmq_pool over several hosts (network namespaces as root, else loopback): one host killed, one result per job" {
    netns_setup 2
    if [[ $NETNS_MODE == netns ]]; then
        echo "# hosts: network namespaces d (dispatcher, ${NETNS_ADDR[d]}), h1 (${NETNS_ADDR[h1]}), h2 (${NETNS_ADDR[h2]})" >&3
    else
        echo "# hosts: loopback only, every host is 127.0.0.1 ($NETNS_WHY)" >&3
    fi
    local path in_h1=() in_h2=() ep
    [[ -z ${NETNS_NS[h1]} ]] || in_h1=(ip netns exec "${NETNS_NS[h1]}")
    [[ -z ${NETNS_NS[h2]} ]] || in_h2=(ip netns exec "${NETNS_NS[h2]}")
    path=$(program $ch/zmq_pool)
    : > "$BATS_TEST_TMPDIR/out"
    netns_run d env --default-signal=INT "$path" --endpoint "tcp://${NETNS_ADDR[d]}:*" --local 0 \
        --min-workers 4 --jobs 40 --job-ms 100 --time-limit-ms 1000 --lost-ms 500 \
        > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
    bg_pid=$!
    ep=$(dispatcher_endpoint)
    [[ $ep =~ ^tcp://${NETNS_ADDR[d]//./\\.}:[0-9]+$ ]] || fail "endpoint '$ep'"
    start_worker a1 h1 "$ep" "${in_h1[@]}"
    start_worker a2 h1 "$ep" "${in_h1[@]}"
    start_worker b1 h2 "$ep" "${in_h2[@]}"
    start_worker b2 h2 "$ep" "${in_h2[@]}"
    wait_for_output 'job 6:'
    kill -KILL "${worker_pid[a1]}" "${worker_pid[a2]}"
    finish_background
    wait_workers a1 a2 b1 b2
    assert_equal "$status" 0
    assert_one_result_per_job 40
    assert_line --regexp '^worker [0-9]+ on host h1: no result for job [0-9]+ in 1500 ms$'
    assert_line --regexp '^result: jobs=40 done=40 .* lost=0 resent=[1-8] duplicates=0$'
    assert_resent_listed
    [[ $(sed -n 's/^host h2: \([0-9]*\) results.*/\1/p' <<<"$output") -gt 20 ]] || fail "$output"
    # Nothing of the hosts is left once they are taken down.
    netns_teardown
    if [[ -n $NETNS_PREFIX ]]; then
        run bash -c "{ ip netns list; ip -o link show; } | grep -F -- '$NETNS_PREFIX'"
        assert_failure 1
    fi
}
