# 10-daemon.bash - what both of chapter 10's bats files share (loaded by
# 10-daemon.bats and 10-daemon-service.bats after the leak guard).
# The daemon is started with --daemon, whose parent exits only once the
# daemon is ready, so no test sleeps to wait for it; its exit is awaited by
# polling the pid.

ch=10-daemon

setup() {
    ipclab_setup
    cd "$BATS_TEST_TMPDIR"
    touch key
    pidfile=$BATS_TEST_TMPDIR/qd.pid
    logfile=$BATS_TEST_TMPDIR/qd.log
}

teardown() {
    # A daemon a failed test left running: stop it, so the guard reports
    # the failure, not a pile of leftovers.
    if [[ -n ${dpid:-} ]] && running "$dpid"; then
        kill -TERM "$dpid"
        wait_gone "$dpid" || kill -KILL "$dpid"
    fi
    ipclab_teardown
}

# parse_ready: sets dpid, dqueue (the System V id), dsock and dmq from the
# ready line in $output.
parse_ready() {
    dpid=$(sed -n 's/^ready: pid \([0-9]*\),.*/\1/p' <<<"$output")
    dqueue=$(sed -n 's/.*System V queue \([0-9]*\) .*/\1/p' <<<"$output")
    dsock=$(sed -n 's/.*control socket \([^,]*\),.*/\1/p' <<<"$output")
    dmq=$(sed -n 's/.*POSIX queue \(.*\)$/\1/p' <<<"$output")
}

# start_daemon [ARG]...: starts qdaemon --daemon on --key key A; returns
# once it is ready.  Sets dpid, dqueue, dsock and dmq.
start_daemon() {
    run_program $ch/qdaemon --daemon --pid-file "$pidfile" --log "$logfile" "$@" --key key A
    assert_success
    assert_line --regexp '^ready: pid [0-9]+, System V queue [0-9]+ \(key 0x[0-9a-f]+\), control socket .*, POSIX queue /.*$'
    parse_ready
}

# running PID: the process exists and is not a zombie (a daemon's parent is
# init or a subreaper, which may take its time to reap it).
running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# wait_gone PID: waits (10 s at most) until the process has exited.
wait_gone() {
    local deadline=$((SECONDS + 10))
    while running "$1"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.01
    done
}

# stop_daemon: SIGTERM, then wait until it has exited.
stop_daemon() {
    kill -TERM "$dpid"
    wait_gone "$dpid" || fail "qdaemon (pid $dpid) still runs 10 s after SIGTERM"
    # A detached daemon's stderr is its log: a sanitizer's report lands there.
    ! grep -s 'Sanitizer\|runtime error' "$logfile"
}

queue_exists() { ipcs -q | awk -v id="$1" '$2 == id { found = 1 } END { exit !found }'; }
queue_messages() { ipcs -q | awk -v id="$1" '$2 == id { print $6 }'; }

# wait_for_line FILE PATTERN: waits (10 s at most) for a line matching PATTERN.
wait_for_line() {
    local deadline=$((SECONDS + 10))
    until grep -qE -- "$2" "$1" 2>/dev/null; do
        ((SECONDS < deadline)) || fail "no line /$2/ in $1: $(cat "$1" 2>/dev/null)"
        sleep 0.01
    done
}

# client [ARG]...: qclient on --key key A, with a time limit.
client() { run_program $ch/qclient "$@" --key key A; }

# field NAME TEXT: the value of NAME=... in the result: line of TEXT.
field() { sed -n "s/^result:.* $1=\\([0-9]*\\).*/\\1/p" <<<"$2"; }
