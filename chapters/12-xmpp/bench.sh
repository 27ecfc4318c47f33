#!/usr/bin/env bash
# bench.sh BUILD_DIR - chapter 12's `make bench`: a work queue through a
# private ejabberd (xmpp_workq -> xmpp_echo) beside a Unix socket round trip
# (same run, same program) and chapter 11's ZeroMQ REQ/REP over TCP when
# that program is built.  COUNT (default 2000) sets the requests.
set -euo pipefail
build=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
count=${COUNT:-2000}
run=$(mktemp -d)
dir=$run/server
bot=

finish() {
    [[ -z $bot ]] || { kill -TERM "$bot" 2>/dev/null; wait "$bot" || true; }
    [[ ! -d $dir ]] || "$here/xmpp-server.sh" stop "$dir" 2>/dev/null || true
    rm -rf "$run"
}
trap finish EXIT

port=$("$here/xmpp-server.sh" start "$dir" alice:alice-pw bot:bot-pw)
"$build/xmpp_echo" --port "$port" --quiet --lifetime-ms 600000 > "$run/bot.out" &
bot=$!
deadline=$((SECONDS + 20))
until grep -q online "$run/bot.out"; do
    ((SECONDS < deadline)) && kill -0 "$bot" 2>/dev/null || { echo "bench: the bot did not log in" >&2; exit 1; }
    sleep 0.05
done
"$build/xmpp_workq" --port "$port" --count "$count"
zmq=${build%/12-xmpp}/11-zeromq/zmq_roundtrip
if [[ -x $zmq ]]; then
    "$zmq" --transport tcp --count "$count"
else
    echo "bench: chapter 11's zmq_roundtrip is not built: ZeroMQ REQ/REP skipped"
fi
