#!/usr/bin/env bats
# Chapter 13: the IPC benchmark (chapters/13-ipc-benchmark).  No test asserts
# a timing beyond "positive" and "not below the floor": CI machines are
# noisy.  The leak guard (teardown) checks that no process, queue, segment,
# FIFO or socket file is left, also after a pair the watchdog killed.

load '../helpers/ipclab'

prog=13-ipc-benchmark/ipc_bench

# --quick is bounded by its budgets, but it forks 36 pairs: 2-3 s here, 4 s
# under ASan, up to 11 s with gcc on a machine loaded to 6 on 2 CPUs.  The
# helpers' default limit (20 s) would leave too little room under ASan and
# load, so this file allows 60 s a run (still far from a hang: the watchdog
# ends any stuck pair).
((IPCLAB_TIMEOUT >= 60)) || IPCLAB_TIMEOUT=60

mechs=(pipe fifo socketpair-stream socketpair-seqpacket unix-stream unix-dgram tcp sysv-msg
       posix-mq shm-sem shm-futex shm-spin eventfd rt-signal zmq-inproc zmq-ipc zmq-tcp)
carries_data() { [[ $1 != eventfd && $1 != rt-signal ]]; }

# The ratio to the floor may not fall below 0.9.  Nothing can beat the
# floor, but the two figures are medians of short runs on a shared machine:
# each pair's floor is the best of its floor rounds, interleaved with its
# latency rounds, and shm-spin moves the same one cache line each way plus a
# copy, so it sits at 1.0-1.5x and a round's median can move a few percent
# under load.  Throughput's floor is the best of 5 hot-cache memcpy runs.
# A measuring bug (one direction timed instead of the round trip, a message
# never waited for) gives 0.5x or less, far below the tolerance.
FLOOR_TOLERANCE=0.9
# The bare loop (each mechanism's hand-written loop of its calls, the
# reference for the harness) cannot beat the floor either.  Its figure is a
# mean of a short block against the floor's best round, and for shm-spin
# it moves one line each way as the floor does, so it comes to 0.9-1.2x
# of the floor on two CPUs; 0.75 leaves room for noise, and a bare loop
# that skipped the wait or timed one way would give 0.5x or less.
BARE_TOLERANCE=0.75

# wait_until TEXT CMD...: polls CMD (5 s at most) until it succeeds.
wait_until() {
    local what=$1 deadline=$((SECONDS + 5))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || fail "gave up waiting for $what"
        sleep 0.01
    done
}

@test "ipc_bench --quick --format tsv: every mechanism, well-formed, positive, never below the floor" {
    run_program $prog --quick --format tsv
    assert_success
    local m p n s line bad
    for m in "${mechs[@]}"; do
        for p in same-cpu two-cpus; do
            n=$(grep -cP "^lat\t$m\t$p\t" <<<"$output")
            [[ $n == 1 ]] || fail "$n latency lines for $m $p"
        done
        if carries_data "$m"; then
            for s in 8 64 512 4096 32768 262144 1048576; do
                n=$(grep -cP "^tput\t$m\t$s\t" <<<"$output")
                [[ $n == 1 ]] || fail "$n throughput lines for $m at $s bytes"
            done
        else
            ! grep -qP "^tput\t$m\t" <<<"$output" || fail "throughput for $m, which carries no data"
        fi
    done
    # lat: median p99 max x_floor round_lo round_hi harness rounds stable bare floor group
    bad=$(awk -F'\t' -v tol=$FLOOR_TOLERANCE -v btol=$BARE_TOLERANCE '
        $1 == "lat" && (NF != 15 || !($4 > 0 && $5 >= $4 && $6 >= $5 && $7 >= tol && $8 > 0 &&
                        $9 >= $8 && $10 > 0 && $11 >= 3 && $13 >= btol * $14 && $14 > 0 &&
                        ($15 == 1 || $15 == 16)) ||
                        ($12 != "stable" && $12 != "unstable"))
        $1 == "tput" && (NF != 8 || !($4 > 0 && $5 > 0 && $6 >= tol && $7 > 0 && $8 >= $7))
        $1 == "floor" && !($NF > 0)' <<<"$output")
    [[ -z $bad ]] || fail "bad lines: $bad"
    [[ $(grep -c '^failed' <<<"$output") == 0 ]] || fail "$(grep '^failed' <<<"$output")"
    for line in harness spin time; do
        grep -qP "^target\t$line\t(met|not met|not judged)\t" <<<"$output" || fail "no target $line"
    done
    grep -qP '^target\ttime\tnot judged\t' <<<"$output"   # only a default run is judged
}

@test "ipc_bench --quick: a readable line per mechanism and placement, and the targets" {
    run_program $prog --quick
    assert_success
    local m p
    for m in "${mechs[@]}"; do
        for p in 'same CPU' 'two CPUs'; do
            grep -qE "^$m +$p +[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+x [0-9]+ (stable|unstable) \([0-9]+\.\.[0-9]+\), [0-9.]+x( \*)?$" \
                <<<"$output" || fail "no latency line for $m, $p"
        done
    done
    assert_line --regexp '^machine: .+, [0-9]+ CPUs usable, Linux '
    assert_line --regexp '^clock: clock_gettime\(CLOCK_MONOTONIC\) costs [0-9.]+ ns'
    assert_line --regexp '^  harness overhead at most 1\.10x the bare loop of the same calls: (met|not met)$'
    assert_line --regexp '^  shm-spin within 1\.5x of the cache-line floor \(two CPUs\): (met|not met)$'
}

# stuck MECH: the echo side of MECH never answers; the watchdog (1 s) must
# kill each pair and report it, and the run must end, status 1.
stuck() {
    local start=$SECONDS
    run_program $prog --quick --mech "$1" --stuck --watchdog-ms 1000 --format tsv
    elapsed=$((SECONDS - start))
    assert_failure 1
    assert_line --regexp "^failed	$1	same-cpu	no progress for 1000 ms after 1 phase: both sides were killed$"
    assert_line --regexp "^failed	$1	two-cpus	no progress for 1000 ms after 1 phase: both sides were killed$"
    ! grep -q '^lat' <<<"$output"
    # Two pairs, each killed after 1 s without progress: not sooner, and
    # far sooner than the test's own time limit.
    ((elapsed >= 2)) || fail "over in $elapsed s: the watchdog did not wait its 1000 ms"
    ((elapsed <= 12)) || fail "took $elapsed s"
}

@test "ipc_bench --stuck: a peer that never answers is killed and reported, blocked in read" {
    stuck pipe
}

@test "ipc_bench --stuck: the same for a spinning pair and for two threads (ZeroMQ inproc)" {
    stuck shm-spin
    stuck zmq-inproc
}

@test "ipc_bench: queues are 0600, named for the run, and removed after a killed pair" {
    start_background $prog --quick --mech posix-mq --stuck --watchdog-ms 2000
    local q
    has_queue() { q=$(find /dev/mqueue -name "$IPCLAB_PREFIX-bench-to-echo-*" 2>/dev/null | head -n 1); [[ -n $q ]]; }
    wait_until "the POSIX queue" has_queue
    [[ $(stat -c %a "$q") == 600 ]] || fail "mode $(stat -c %a "$q")"
    finish_background
    assert_equal "$status" 1
    [[ ! -e $q ]] || fail "$q is left"
    start_background $prog --quick --mech sysv-msg --stuck --watchdog-ms 2000
    has_sysv() { ipcs -q | awk '$2 ~ /^[0-9]+$/ { print $4 }' | grep -qx 600; }
    wait_until "the System V queue (mode 600)" has_sysv
    finish_background
    assert_equal "$status" 1
}

@test "ipc_bench: SIGTERM mid-run removes the FIFOs and ends both sides" {
    start_background $prog --mech fifo --stuck --watchdog-ms 20000
    has_fifo() { [[ -n $(find "$TMPDIR" -type p 2>/dev/null) ]]; }
    wait_until "the FIFOs" has_fifo
    finish_background TERM
    assert_equal "$status" 143          # killed by SIGTERM, re-raised after the cleanup
    [[ -z $(find "$TMPDIR" -mindepth 1 2>/dev/null) ]] || fail "left: $(find "$TMPDIR" -mindepth 1)"
}

@test "ipc_bench: bad options exit 2 with one line and the usage" {
    run_program $prog --lat-ms 0
    assert_usage_error "--lat-ms: '0' is not a whole number from 10 to 2000"
    run_program $prog --mech nothing
    assert_usage_error "--mech"
    run_program $prog --format xml
    assert_usage_error "--format"
    run_program $prog --stuck
    assert_usage_error "--stuck needs --mech NAME"
    run_program $prog --lat-ms 2000 --watchdog-ms 1000
    assert_usage_error "--watchdog-ms 1000 is too short"
    run_program $prog extra
    assert_equal "$status" 2
    run_program $prog --help
    assert_success
    assert_line --index 0 --regexp '^Usage: ipc_bench'
}
