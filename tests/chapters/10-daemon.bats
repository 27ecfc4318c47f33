#!/usr/bin/env bats
# Chapter 10: a daemon on a System V queue, run by signals (chapters/10-daemon):
# serving, signals, clients, the epoll loop and the lost wake-up.  The
# daemon's start-up and administration (pid file, kill -9, settings file,
# systemd readiness, control socket) are in 10-daemon-service.bats.  The
# leak guard (teardown) checks that no queue, POSIX queue, socket,
# directory or process is left, also after SIGTERM.

load '../helpers/ipclab'
load '10-daemon'

@test "qdaemon --daemon: the parent exits once the daemon is ready, and the daemon holds queue, pid file and socket" {
    start_daemon
    # The parent is gone; the daemon runs in a new session (setsid), of
    # which it is not the leader (the second fork), without a terminal.
    kill -0 "$dpid"
    local sid
    sid=$(ps -o sid= -p "$dpid" | tr -d ' ')
    [[ $sid != "$dpid" && $sid != "$(ps -o sid= -p $$ | tr -d ' ')" ]] || fail "session $sid"
    assert_equal "$(ps -o tty= -p "$dpid" | tr -d ' ')" "?"
    assert_equal "$(cat "$pidfile")" "$dpid"
    queue_exists "$dqueue"
    [[ -S $dsock ]] || fail "no socket $dsock"
    assert_equal "$(stat -c %a "$(dirname "$dsock")")" 700
    assert_equal "$(stat -c %a "/dev/mqueue$dmq")" 600
    grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z qdaemon\[[0-9]+\]: ready: ' "$logfile"
    stop_daemon
}

@test "qdaemon: SIGTERM in the foreground exits 0 and removes queue, pid file, socket and POSIX queue" {
    start_background $ch/qdaemon --pid-file "$pidfile" --key key A
    wait_for_output "ready:"
    dpid=$bg_pid
    local q sock
    q=$(sed -n 's/.*System V queue \([0-9]*\) .*/\1/p' "$BATS_TEST_TMPDIR/out")
    sock=$(sed -n 's/.*control socket \([^,]*\),.*/\1/p' "$BATS_TEST_TMPDIR/out")
    finish_background TERM
    assert_equal "$status" 0
    ! queue_exists "$q"
    [[ ! -e $pidfile && ! -e $sock && ! -e $(dirname "$sock") ]]
    # In the foreground without --log, the log is stderr.
    grep -q 'stopping (SIGTERM)' "$BATS_TEST_TMPDIR/err"
    grep -q 'stopped: requests=0' "$BATS_TEST_TMPDIR/err"
}

@test "qdaemon: SIGINT stops it the same way, exit 0" {
    start_background $ch/qdaemon --key key A
    wait_for_output "ready:"
    dpid=$bg_pid
    finish_background INT
    assert_equal "$status" 0
    grep -q 'stopping (SIGINT)' "$BATS_TEST_TMPDIR/err"
}

@test "qdaemon: 1000 requests from 4 clients at once, every reply correct" {
    start_daemon
    local i pids=() out
    for i in 1 2 3 4; do
        timeout 60 "$(program $ch/qclient)" --count 250 --key key A > "echo$i" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done     # each exits 0 only if all its replies matched
    for i in 1 2 3 4; do
        out=$(cat "echo$i")
        assert_equal "$(field sent "$out") $(field answered "$out") $(field wrong "$out") $(field timeouts "$out")" "250 250 0 0"
    done
    # The counter: 1000 requests from 4 clients, and each value 1..1000
    # is handed out exactly once.
    pids=()
    for i in 1 2 3 4; do
        timeout 60 "$(program $ch/qclient)" --op counter --print-values --count 250 --key key A > "count$i" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    assert_equal "$(cat count1 count2 count3 count4 | sed -n 's/^reply [0-9]*: ok: //p' | sort -n)" "$(seq 1000)"
    stop_daemon
}

@test "qdaemon: checksum gives what cksum(1) gives, and refuses a FIFO without waiting on it" {
    start_daemon
    head -c 100000 /dev/urandom > data
    client --op checksum --data "$BATS_TEST_TMPDIR/data" --print-values
    assert_success
    assert_line "reply 0: ok: $(cksum data | cut -d' ' -f1,2)"
    mkfifo fifo
    client --op checksum --data "$BATS_TEST_TMPDIR/fifo" --print-values
    assert_failure 1
    assert_line "reply 0: failed: not a regular file"
    rm fifo
    client --op checksum --data "$BATS_TEST_TMPDIR/nothing" --print-values
    assert_line "reply 0: failed: open: No such file or directory"
    stop_daemon
}

@test "qdaemon: bad requests get error replies, and the counters show them" {
    start_daemon
    client --bad size
    assert_success
    assert_line --regexp '^reply 0: bad-size: a request of [0-9]+ bytes does not match its header$'
    client --bad short
    assert_success
    assert_line "reply 0: bad-size: a request of 12 bytes does not match its header"
    client --bad op0
    assert_success
    assert_line "reply 0: no-operation: operation 0 names nothing (a zeroed request?)"
    client --bad unknown
    assert_success
    assert_line "reply 0: unknown-operation: unknown operation 77"
    # reply_to 0: no type to answer on; logged and counted as dropped.
    client --bad reply0
    assert_success
    client --count 5
    assert_success
    run_program $ch/qctl "$dsock" status
    assert_success
    assert_output --regexp "^running pid $dpid: requests=10 answered=5 errors=4 refused=0 dropped=1 uptime="
    assert_equal "$(grep -c ': bad-size: \|: no-operation: \|: unknown-operation: ' "$logfile")" 4
    grep -q 'no usable return address (reply_to 0): dropped' "$logfile"
    stop_daemon
}

@test "qdaemon: SIGUSR1 writes counters that match what was sent" {
    start_daemon
    client --count 37
    assert_success
    client --bad op0
    client --bad size
    client --bad reply0
    # That one gets no reply, so the client does not wait for the daemon to
    # take it: wait for the daemon's log line before asking for counters.
    wait_for_line "$logfile" 'no usable return address'
    kill -USR1 "$dpid"
    wait_for_line "$logfile" 'counters: '
    grep -qE 'counters: requests=40 answered=37 errors=2 refused=0 dropped=1 uptime=[0-9.]+s$' "$logfile" ||
        fail "counters: $(grep counters: "$logfile")"
    stop_daemon
}

@test "qdaemon: SIGHUP after the log is moved makes it write a new log file" {
    start_daemon
    mv "$logfile" "$logfile.1"
    kill -HUP "$dpid"
    wait_for_line "$logfile" 'SIGHUP: log reopened'
    client --bad op0                 # logged: where?
    wait_for_line "$logfile" 'no-operation'
    ! grep -q 'SIGHUP\|no-operation' "$logfile.1"
    grep -q 'ready:' "$logfile.1"    # the old lines stayed in the old file
    stop_daemon
    grep -q 'stopped:' "$logfile"
}

@test "qdaemon: SIGTERM under load answers or refuses every request, none lost, and leaves nothing" {
    start_daemon
    local i pids=() out sent=0 answered=0 refused=0
    for i in 1 2 3 4; do
        timeout 60 "$(program $ch/qclient)" --count 100000 --timeout-ms 10000 --key key A > "load$i" &
        pids+=($!)
    done
    # Under load: wait until the daemon has served a good number.
    local deadline=$((SECONDS + 20))
    until [[ $("$(program $ch/qctl)" "$dsock" status) =~ answered=([0-9]+) ]] && ((BASH_REMATCH[1] >= 2000)); do
        ((SECONDS < deadline)) || fail "the daemon served too few requests"
        sleep 0.01
    done
    stop_daemon
    for i in "${pids[@]}"; do wait "$i"; done   # exit 0: no wrong reply, no time-out
    for i in 1 2 3 4; do
        out=$(cat "load$i")
        [[ "$(field timeouts "$out") $(field wrong "$out") $(field errors "$out")" == "0 0 0" ]] ||
            fail "client $i: $out"
        # Every request sent was answered, refused, or cut when the queue
        # was removed under it (at most the one in flight): none lost.
        (($(field sent "$out") == $(field answered "$out") + $(field refused "$out") + $(field cut "$out"))) ||
            fail "client $i: $out"
        (($(field cut "$out") <= 1)) || fail "client $i: $out"
        grep -q "the daemon's queue is gone" <<<"$out" || (($(field cut "$out") + $(field refused "$out") == 1)) ||
            fail "client $i was never told the daemon stopped: $out"
        sent=$((sent + $(field sent "$out")))
        answered=$((answered + $(field answered "$out")))
        refused=$((refused + $(field refused "$out")))
    done
    # The daemon's own books: every request it took was answered or refused,
    # and its counts are the clients' counts.
    grep -qE "stopped: requests=$((answered + refused)) answered=$answered errors=0 refused=$refused dropped=0 " "$logfile" ||
        fail "clients: answered=$answered refused=$refused; the daemon: $(grep stopped: "$logfile")"
    ((sent < 400000)) || fail "the clients finished before the SIGTERM: the test tested nothing"
    ! queue_exists "$dqueue"
    [[ ! -e $pidfile && ! -e $dsock && ! -e /dev/mqueue$dmq ]]
}

@test "qdaemon: a client killed mid-request leaves the daemon serving the others" {
    start_daemon
    local victim
    timeout 60 "$(program $ch/qclient)" --count 100000 --key key A > victim.out &
    victim=$!
    local deadline=$((SECONDS + 20))
    until [[ $("$(program $ch/qctl)" "$dsock" status) =~ answered=([0-9]+) ]] && ((BASH_REMATCH[1] >= 500)); do
        ((SECONDS < deadline)) || fail "the victim client never got going"
        sleep 0.01
    done
    kill -KILL "$victim"
    wait "$victim" || true
    client --count 200
    assert_success
    assert_equal "$(field answered "$output")" 200
    run_program $ch/qctl "$dsock" status
    assert_output --regexp '^running pid'
    stop_daemon
}

@test "qdaemon: requests on the POSIX queue are served from the event loop" {
    start_daemon
    client --channel posix --mq "$dmq" --count 300
    assert_success
    assert_equal "$(field answered "$output")" 300
    run_program $ch/qctl "$dsock" status
    assert_output --regexp "answered=300 "
    stop_daemon
}

@test "qdaemon: a PHP script using msg_send is served too" {
    start_daemon
    run timeout 20 php "$IPCLAB_ROOT/chapters/$ch/php/qclient.php" key A "hello from PHP"
    assert_success
    assert_output "reply seq=1 status=ok data=hello from PHP"
    run_program $ch/qctl "$dsock" status
    assert_output --regexp "requests=1 answered=1 "
    stop_daemon
}

# --- the same daemon on plain epoll -------------------------------------------

@test "epoll_loop: the same daemon on epoll + signalfd serves both queues, answers control, SIGTERM removes everything" {
    run_program $ch/epoll_loop --daemon --pid-file "$pidfile" --log "$logfile" --key key A
    assert_success
    parse_ready
    client --count 100
    assert_success
    client --channel posix --mq "$dmq" --count 100
    assert_success
    kill -USR1 "$dpid"
    wait_for_line "$logfile" 'counters: requests=200 answered=200 '
    run_program $ch/qctl "$dsock" status
    assert_output --regexp "^running pid $dpid: requests=200 "
    stop_daemon
    ! queue_exists "$dqueue"
    [[ ! -e $pidfile && ! -e $dsock ]]
    grep -q 'stopping (SIGTERM)' "$logfile"
}

# --- the lost wake-up ---------------------------------------------------------

@test "lost_wakeup --wait naive: a SIGTERM in the gap before msgrcv is only seen at the next event" {
    run_program $ch/lost_wakeup --wait naive --rescue-ms 600
    assert_success
    assert_line --index 0 "SIGTERM arrived in the gap: after the flag was checked, before msgrcv() began"
    assert_line --index 1 --regexp '^msgrcv\(\) returned after [0-9]+ ms: woken by the next event \(SIGUSR1\), not by SIGTERM$'
    assert_line --index 2 --regexp '^result: wait=naive lost=1 stop_seen_ms=[0-9]+ ms=[0-9]+$'
    # The stop came 10 ms in, yet was seen only at the first SIGUSR1.
    (($(result_field stop_seen_ms) >= 600))
}

@test "lost_wakeup --wait thread: the receiver thread is woken by a message, the stop is never lost" {
    run_program $ch/lost_wakeup --wait thread --rescue-ms 5000
    assert_success
    assert_line --index 0 --regexp '^SIGTERM taken by sigwaitinfo\(\) after [0-9]+ ms; waking the receiver$'
    assert_line --index 1 --regexp '^msgrcv\(\) returned after [0-9]+ ms with the wake-up message$'
    assert_line --index 2 --regexp '^result: wait=thread lost=0 stop_seen_ms=[0-9]+ ms=[0-9]+$'
    # Not before the end of the 100 ms gap (msgrcv() began after it), and
    # long before the first SIGUSR1.
    (($(result_field stop_seen_ms) >= 100 && $(result_field stop_seen_ms) < 5000))
}
