#!/bin/sh
# bench.sh BIN_DIR [REQUESTS] - qdaemon's requests per second and round-trip
# p50/p99, with 1 and with 4 clients at once (make bench-10-daemon).
#
# The daemon runs on a key file in a private mkdtemp directory, started with
# --daemon (which returns once it is ready) and stopped with SIGTERM; the
# trap stops it on every exit path.  Each client sends its requests one
# after another, so the figures are round trips, not pipelined throughput.
set -eu
bin=$1
count=${2:-20000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/ipclab-bench10.XXXXXX")

stop() {
    if [ -e "$dir/qd.pid" ]; then
        kill -TERM "$(cat "$dir/qd.pid")" 2>/dev/null || true
        while [ -e "$dir/qd.pid" ]; do sleep 0.01; done   # its last act
    fi
    rm -rf "$dir"
}
trap stop EXIT
trap 'exit 1' INT TERM

touch "$dir/key"
"$bin/qdaemon" --daemon --pid-file "$dir/qd.pid" --log "$dir/qd.log" --key "$dir/key" A > /dev/null

now_ns() { date +%s%N; }
field() { sed -n "s/^result:.* $1=\([0-9]*\).*/\1/p" "$2"; }

for clients in 1 4; do
    start=$(now_ns)
    i=1
    while [ "$i" -le "$clients" ]; do
        "$bin/qclient" --count "$count" --key "$dir/key" A > "$dir/out$i" &
        i=$((i + 1))
    done
    wait
    end=$(now_ns)
    total=0
    p50s=
    p99s=
    i=1
    while [ "$i" -le "$clients" ]; do
        [ "$(field answered "$dir/out$i")" = "$count" ] || { cat "$dir/out$i" >&2; exit 1; }
        total=$((total + count))
        p50s="$p50s $(field p50_us "$dir/out$i")"
        p99s="$p99s $(field p99_us "$dir/out$i")"
        i=$((i + 1))
    done
    ms=$(( (end - start) / 1000000 ))
    [ "$ms" -gt 0 ] || ms=1
    echo "bench-10-daemon: $clients client(s): $total requests in $ms ms = $((total * 1000 / ms)) requests/s;" \
         "round trip per client p50 us:$p50s, p99 us:$p99s"
done
