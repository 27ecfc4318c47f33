#!/bin/bash
# bench.sh BIN_DIR [CH07_BIN_DIR] - what ZeroMQ costs (make bench-11-zeromq).
#
# 1. Round trips: zmq_roundtrip over inproc, ipc and tcp, beside
#    raw_roundtrip's bare Unix and TCP sockets (our own code), as ratios.
# 2. The distributed pool: jobs/s and per-job latency of zmq_pool with two
#    local workers, prefork (one child per worker, --inflight jobs out at
#    each) and --fork-per-job, beside chapter 07's fork-per-job and
#    prefork pools (pool_bench, when it is built) in the same run; then,
#    as root, with its workers on two other hosts (network namespaces, made
#    and removed by tests/helpers/netns.bash), else that part is skipped
#    and says why.
set -eu
bin=$1
ch07=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
count=${COUNT:-20000}
jobs=${JOBS:-10000}
fjobs=${FORK_JOBS:-2000}              # a fork per job is slow: fewer
dir=$(mktemp -d "${TMPDIR:-/tmp}/ipclab-bench11.XXXXXX")
pids=()

stop() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if declare -F netns_teardown > /dev/null; then netns_teardown || true; fi
    rm -rf "$dir"
}
trap stop EXIT
trap 'exit 1' INT TERM

# field TEXT: the median (us) and the rate of a *_roundtrip line.
median() { sed -n 's/.*: \([0-9.]*\) us median.*/\1/p' <<<"$1"; }
rate() { sed -n 's/.* \([0-9]*\) per second$/\1/p' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "?" }'; }

echo "round trips, $count each, 100 bytes, echo thread in the same process:"
declare -A line
for t in inproc ipc tcp; do
    line[zmq-$t]=$("$bin/zmq_roundtrip" --transport "$t" --count "$count")
    echo "  ${line[zmq-$t]}"
done
for t in unix tcp; do
    line[raw-$t]=$("$bin/raw_roundtrip" --transport "$t" --count "$count")
    echo "  ${line[raw-$t]}"
done
echo "ratios (median round trip):"
echo "  zmq ipc / raw Unix socket       $(ratio "$(median "${line[zmq-ipc]}")" "$(median "${line[raw-unix]}")")"
echo "  zmq tcp / raw TCP socket        $(ratio "$(median "${line[zmq-tcp]}")" "$(median "${line[raw-tcp]}")")"
echo "  zmq tcp / zmq inproc            $(ratio "$(median "${line[zmq-tcp]}")" "$(median "${line[zmq-inproc]}")")"

echo
pool_rate() { sed -n 's/.*: \([0-9]*\) jobs\/s.*/\1/p' <<<"$1"; }

echo "pools, jobs that return at once, 2 workers:"
one=$("$bin/zmq_pool" --local 2 --jobs "$jobs" --job-ms 0 --quiet | grep '^rate:')
echo "  zmq_pool, prefork, workers on this host:      ${one#rate: }"
one_rate=$(pool_rate "$one")
fpj=$("$bin/zmq_pool" --local 2 --jobs "$fjobs" --job-ms 0 --quiet --fork-per-job | grep '^rate:')
echo "  zmq_pool --fork-per-job, workers on this host: ${fpj#rate: }"
echo "  zmq_pool prefork / --fork-per-job: $(ratio "$one_rate" "$(pool_rate "$fpj")")"
if [[ -n $ch07 && -x $ch07/pool_bench ]]; then
    out=$("$ch07/pool_bench" --jobs 1000 --many 20000 --rounds 1 --workers 2 2>/dev/null || true)
    for mode in fork-per-job "prefork, batch 1"; do
        r=$(awk -v m="$mode" 'index($0, "  " m " ") == 1 { for (i = 1; i < NF; i++) if ($(i + 1) == "jobs/s") print $i }' <<<"$out" | head -n 1)
        if [[ -n $r ]]; then
            echo "  chapter 07 $mode: $r jobs/s; / zmq_pool prefork: $(ratio "$r" "$one_rate")"
        else
            echo "  chapter 07 $mode: not found in pool_bench's output"
        fi
    done
else
    echo "  chapter 07's pool_bench: not built, not compared"
fi

if (($(id -u) == 0)) && command -v ip > /dev/null; then
    BATS_TEST_TMPDIR=$dir
    # shellcheck source=../../tests/helpers/netns.bash
    source "$here/../../tests/helpers/netns.bash"
    netns_setup 2
fi
if [[ ${NETNS_MODE:-loopback} == netns ]]; then
    netns_run d "$bin/zmq_pool" --endpoint "tcp://${NETNS_ADDR[d]}:*" --local 0 --min-workers 2 \
        --jobs "$jobs" --job-ms 0 --quiet > "$dir/d.out" &
    pids+=($!)
    until grep -q '^dispatcher on ' "$dir/d.out"; do sleep 0.01; done
    ep=$(sed -n 's/^dispatcher on \([^ ]*\): .*/\1/p' "$dir/d.out")
    for h in h1 h2; do
        netns_run "$h" "$bin/zmq_pool_worker" --endpoint "$ep" --host "$h" --quiet &
        pids+=($!)
    done
    wait "${pids[@]}"
    pids=()
    two=$(grep '^rate:' "$dir/d.out")
    echo "  zmq_pool, prefork, a worker on each of 2 other hosts (network namespaces): ${two#rate: }"
    two_rate=$(pool_rate "$two")
    echo "  this host / other hosts: $(ratio "$one_rate" "$two_rate")"
else
    echo "  zmq_pool across hosts: skipped (${NETNS_WHY:-not root}: no network namespaces)"
fi
