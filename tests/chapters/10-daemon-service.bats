#!/usr/bin/env bats
# Chapter 10: the daemon as a service (chapters/10-daemon): one instance, the
# take-over after kill -9, the settings file reread on SIGHUP, readiness
# for systemd (Type=notify, without systemd), the control socket, and the
# arguments.  Serving and signals are in 10-daemon.bats.

load '../helpers/ipclab'
load '10-daemon'

@test "qdaemon: a second instance is refused while the first keeps serving" {
    start_daemon
    run_program $ch/qdaemon --pid-file "$pidfile" --key key A
    assert_failure 1
    assert_equal "${stderr_lines[0]}" "qdaemon: already running as pid $dpid ($pidfile is locked)"
    # With --daemon, the readiness pipe carries the refusal back to the shell.
    run_program $ch/qdaemon --daemon --pid-file "$pidfile" --key key A
    assert_failure 1
    assert_equal "$output" ""
    assert_equal "${stderr_lines[0]}" "qdaemon: already running as pid $dpid ($pidfile is locked)"
    # Without a pid file the queue itself is found taken.
    run_program $ch/qdaemon --key key A
    assert_failure 1
    [[ ${stderr_lines[0]} == "qdaemon: a queue already exists for key 0x"*"(id $dqueue)"* ]] ||
        fail "${stderr_lines[0]}"
    assert_equal "$(cat "$pidfile")" "$dpid"
    client --count 10
    assert_success
    stop_daemon
}

@test "qdaemon: after kill -9 a new daemon takes over the stale pid file, recreates the queue and removes the socket directory and POSIX queue left" {
    start_daemon
    local old=$dpid oldq=$dqueue oldsock=$dsock oldmq=$dmq
    # qstop waits until the lock is free: the process is dead.
    run_program $ch/qstop --signal KILL "$pidfile"
    assert_success
    assert_output --regexp "^stopped pid $old \(SIGKILL; gone after [0-9]+ ms\)$"
    wait_gone "$old"         # reaped, or a zombie: no longer running
    # What SIGKILL leaves: the pid file, the queue, the socket, the POSIX
    # queue, and the file that names the last two.
    assert_equal "$(cat "$pidfile")" "$old"
    queue_exists "$oldq"
    [[ -S $oldsock && -e /dev/mqueue$oldmq ]] || fail "the killed daemon left no socket or POSIX queue"
    assert_equal "$(cat "$pidfile.objects")" "pid $old
socket-dir $(dirname "$oldsock")
posix-queue $oldmq"
    client --bad reply0      # a message nobody will take, left in the old queue
    assert_equal "$(queue_messages "$oldq")" 1
    start_daemon
    [[ $dpid != "$old" ]]
    assert_equal "$(cat "$pidfile")" "$dpid"
    grep -q "took over the stale pid file $pidfile (pid $old no longer holds it)" "$logfile"
    grep -q "removing the leftover queue id $oldq (1 messages) of a daemon that died" "$logfile"
    grep -q "removed the control socket directory $(dirname "$oldsock") of pid $old" "$logfile"
    grep -q "removed the POSIX queue $oldmq of pid $old" "$logfile"
    ! queue_exists "$oldq"
    [[ ! -e $(dirname "$oldsock") && ! -e /dev/mqueue$oldmq ]] || fail "leftovers of pid $old remain"
    assert_equal "$(head -n 1 "$pidfile.objects")" "pid $dpid"
    assert_equal "$(queue_messages "$dqueue")" 0
    client --count 20
    assert_success
    stop_daemon
    [[ ! -e $pidfile && ! -e $pidfile.objects ]]
}

@test "qdaemon: the objects file of a daemon that still runs is left alone" {
    start_daemon
    local first=$dpid firstsock=$dsock firstmq=$dmq
    # Someone deletes the pid file of a running daemon by hand: a second
    # daemon gets the pid file, but must not take the first one's objects.
    rm "$pidfile"
    run_program $ch/qdaemon --daemon --pid-file "$pidfile" --log "$logfile" --key key B
    assert_success
    parse_ready
    grep -q "qd.pid.objects names pid $first, which still runs: removing nothing" "$logfile"
    [[ -S $firstsock && -e /dev/mqueue$firstmq ]] || fail "the running daemon lost its objects"
    stop_daemon
    dpid=$first
    stop_daemon
    [[ ! -e $firstsock && ! -e /dev/mqueue$firstmq ]]
}

@test "qstop: signals the holder of the pid file's lock and returns once the daemon is gone" {
    start_daemon
    run_program $ch/qstop "$pidfile"
    assert_success
    assert_output --regexp "^stopped pid $dpid \(SIGTERM; gone after [0-9]+ ms\)$"
    # Its pid file went last: everything else is gone already.
    ! queue_exists "$dqueue"
    [[ ! -e $dsock && ! -e /dev/mqueue$dmq ]]
    grep -q 'stopped: requests=0' "$logfile"
    # A stale file, a pid that now belongs to someone else: nobody is signalled.
    echo $$ > "$pidfile"
    run_program $ch/qstop "$pidfile"
    assert_failure 1
    assert_equal "${stderr_lines[0]}" "qstop: $pidfile is not locked: no daemon is running (a stale file is taken over by the next start)"
    rm "$pidfile"
    wait_gone "$dpid"
}

@test "qdaemon: the control socket answers status and stop; stop removes everything" {
    start_daemon
    run_program $ch/qctl "$dsock" status
    assert_success
    assert_output --regexp "^running pid $dpid: requests=0 answered=0 errors=0 refused=0 dropped=0 uptime=[0-9.]+s$"
    run_program $ch/qctl "$dsock" reboot
    assert_output "unknown command 'reboot' (status, reload, stop)"
    run_program $ch/qctl "$dsock" stop
    assert_output "stopping pid $dpid"
    wait_gone "$dpid"
    ! queue_exists "$dqueue"
    [[ ! -e $pidfile && ! -e $dsock ]]
    grep -q 'stopping (control socket: stop)' "$logfile"
}

@test "qdaemon, qclient: bad arguments are refused before anything is created" {
    run_program $ch/qdaemon --key key AB
    assert_usage_error "--key PROJ: 'AB' is neither a number from 1 to 255 nor one character"
    run_program $ch/qdaemon
    assert_usage_error "--key PATH PROJ is required: the System V key is ftok(PATH, PROJ)"
    run_program $ch/qdaemon --key key --daemon
    assert_usage_error "--key: PROJ missing after PATH (--key PATH PROJ, as --key key A)"
    run_program $ch/qclient --key key 0
    assert_usage_error "--key PROJ: '0' is neither a number from 1 to 255 nor one character"
    run_program $ch/qdaemon --key key A extra
    assert_usage_error "unexpected argument 'extra'"
    run_program $ch/qdaemon --daemon --foreground --key key A
    assert_usage_error "--daemon and --foreground exclude each other"
    run_program $ch/qclient --op checksum --key key A
    assert_usage_error "--op checksum needs --data PATH"
    run_program $ch/qclient --count 0 --key key A
    assert_usage_error "--count: '0' is not a whole number from 1 to 100000"
    client --count 1
    assert_failure 1
    [[ ${stderr_lines[0]} == "qclient: msgget key 0x"*"(is qdaemon running?): ENOENT"* ]] || fail "${stderr_lines[0]}"
}


@test "qdaemon --key: PROJ as a number or a character, --key=PATH too, and an option value reading --key is a value" {
    start_daemon
    # 'A' is 65: the same key, so the same queue.
    client --count 2 --key key 65
    assert_success
    client --count 2 --key=key A
    assert_success
    run_program $ch/qclient --data --key --print-values --key key A
    assert_success
    assert_line "reply 0: ok: --key"
    stop_daemon
}

# --- the settings file --------------------------------------------------------

@test "qdaemon --config: SIGHUP rereads it; the new reply delay and log level are what it serves with" {
    printf '# settings\nlog-level = info\nreply-delay-ms = 0\n' > qd.conf
    start_daemon --config qd.conf
    grep -q 'settings: log-level=info reply-delay-ms=0 max-request-bytes=1040 max-file-bytes=16777216$' "$logfile"
    client --count 3
    assert_success
    (($(field p50_us "$output") < 150000)) || fail "slow before any delay: $output"
    printf 'log-level = debug\n  reply-delay-ms=200  \n\nmax-request-bytes = 40\n' > qd.conf
    kill -HUP "$dpid"
    wait_for_line "$logfile" 'SIGHUP: settings reread from .*qd.conf: log-level=debug reply-delay-ms=200 max-request-bytes=40 '
    # Each reply now waits at least 200 ms, and each request is logged.
    client --count 3 --data 'short'
    assert_success
    (($(field p50_us "$output") >= 200000)) || fail "no delay: $output"
    assert_equal "$(grep -c 'sysv: served seq [0-9]* from pid [0-9]*: echo, ok$' "$logfile")" 3
    # 16 + 25 bytes is more than 40.
    client --count 1 --data 'twenty-five bytes of data' --print-values
    assert_failure 1
    assert_line 'reply 0: bad-size: a request of 41 bytes is larger than max-request-bytes (40)'
    # max-file-bytes: a checksum of a larger file is refused.
    printf 'max-file-bytes = 10\n' > qd.conf
    run_program $ch/qctl "$dsock" reload
    assert_output --regexp '^reloaded: .* max-file-bytes=10$'
    head -c 100 /dev/zero > data
    client --op checksum --data "$BATS_TEST_TMPDIR/data" --print-values
    assert_failure 1
    assert_line "reply 0: failed: the file is larger than max-file-bytes"
    # A setting the file no longer names goes back to its start value; the
    # control command reload does what SIGHUP does, and answers.
    printf 'log-level = info\n' > qd.conf
    run_program $ch/qctl "$dsock" reload
    assert_success
    assert_output "reloaded: log reopened; settings reread: log-level=info reply-delay-ms=0 max-request-bytes=1040 max-file-bytes=16777216"
    printf 'log-level = verbose\n' > qd.conf
    run_program $ch/qctl "$dsock" reload
    assert_output "reload refused: log reopened; $BATS_TEST_TMPDIR/qd.conf refused: line 1: log-level: 'verbose' is neither info nor debug; keeping log-level=info reply-delay-ms=0 max-request-bytes=1040 max-file-bytes=16777216"
    stop_daemon
}

@test "qdaemon --config: a bad file on SIGHUP is refused with one line, the old settings stay, it keeps serving" {
    printf 'reply-delay-ms = 150\n' > qd.conf
    start_daemon --config qd.conf
    local bad why
    while IFS='|' read -r bad why; do
        printf "$bad" > qd.conf
        : > "$logfile"
        kill -HUP "$dpid"
        wait_for_line "$logfile" 'SIGHUP: .*qd.conf refused'
        grep -qF "qd.conf refused: $why; keeping log-level=info reply-delay-ms=150 " "$logfile" ||
            fail "for '$bad': $(grep refused "$logfile")"
    done <<'EOF_BAD'
reply-delay-ms = 0\ncolour = blue\n|line 2: unknown setting 'colour' (log-level, reply-delay-ms, max-request-bytes, max-file-bytes)
reply-delay-ms = 0\nreply-delay-ms = 1\n|line 2: reply-delay-ms is set twice
reply-delay-ms = 5000\n|line 1: reply-delay-ms: '5000' is not a whole number from 0 to 1000
reply-delay-ms = 12ms\n|line 1: reply-delay-ms: '12ms' is not a whole number from 0 to 1000
log-level = loud\n|line 1: log-level: 'loud' is neither info nor debug
reply-delay-ms 0\n|line 1: 'reply-delay-ms 0' is not 'name = value'
max-request-bytes = 8\n|line 1: max-request-bytes: '8' is not a whole number from 16 to 1040
EOF_BAD
    rm qd.conf
    kill -HUP "$dpid"
    wait_for_line "$logfile" 'qd.conf refused: cannot open it: No such file or directory; keeping .*reply-delay-ms=150 '
    # Still serving, still with the old delay.
    client --count 2
    assert_success
    (($(field p50_us "$output") >= 150000)) || fail "the old delay is gone: $output"
    stop_daemon
}

@test "qdaemon --config: a bad file at start is refused before anything is created" {
    printf 'max-file-bytes = -1\n' > qd.conf
    run_program $ch/qdaemon --daemon --pid-file "$pidfile" --config qd.conf --key key A
    assert_failure 1
    assert_equal "${stderr_lines[0]}" "qdaemon: $BATS_TEST_TMPDIR/qd.conf: line 1: max-file-bytes: '-1' is not a whole number from 0 to 1073741824"
    [[ ! -e $pidfile ]]
    mkfifo fifo
    run_program $ch/qdaemon --config fifo --key key A
    assert_failure 1
    assert_equal "${stderr_lines[0]}" "qdaemon: $BATS_TEST_TMPDIR/fifo: not a regular file"
    rm fifo
}

# --- readiness for systemd, without systemd -----------------------------------

@test "qdaemon under Type=notify: READY=1 comes from the daemon once its queue exists, then RELOADING=1, READY=1 and STOPPING=1" {
    start_background $ch/notify_peer --socket "$BATS_TEST_TMPDIR/notify" --key key A
    wait_for_output "listening on $BATS_TEST_TMPDIR/notify"
    local peer=$bg_pid
    NOTIFY_SOCKET=$BATS_TEST_TMPDIR/notify start_daemon
    local daemon=$dpid
    kill -HUP "$daemon"
    wait_for_line "$logfile" 'SIGHUP: log reopened'
    # The peer looks for the queue when it reads READY=1: let it read the
    # reload's READY=1 before the daemon stops and removes the queue.
    wait_for_output 'READY=1 STATUS=serving (settings reread)'
    stop_daemon
    dpid=$peer
    finish_background
    assert_success
    assert_equal "${#lines[@]}" 6
    # The order of one sender's datagrams is kept: READY=1 after the
    # status sent once the queue exists is certain proof, not a race
    # against the daemon (the [queue ...] check alone could be late).
    assert_line --index 1 "from pid $daemon: STATUS=System V queue $dqueue created"
    assert_line --index 2 "from pid $daemon: READY=1 MAINPID=$daemon STATUS=serving System V queue $dqueue [queue of the key: exists]"
    assert_line --index 3 --regexp "^from pid $daemon: RELOADING=1 MONOTONIC_USEC=[0-9]+\$"
    assert_line --index 4 "from pid $daemon: READY=1 STATUS=serving (settings reread) [queue of the key: exists]"
    assert_line --index 5 "from pid $daemon: STOPPING=1 STATUS=stopping (SIGTERM)"
}

@test "qdaemon under Type=notify: an abstract \$NOTIFY_SOCKET (@name) works too; a bad one is logged, not fatal" {
    local name="@ipclab-notify-$$-$RANDOM"
    start_background $ch/notify_peer --socket "$name" --until READY=1
    wait_for_output "listening on $name"
    local peer=$bg_pid
    NOTIFY_SOCKET=$name start_daemon
    local daemon=$dpid
    dpid=$peer
    finish_background
    assert_success
    assert_line --index 2 --regexp "^from pid $daemon: READY=1 MAINPID=$daemon "
    dpid=$daemon
    stop_daemon
    : > "$logfile"
    NOTIFY_SOCKET=relative/path start_daemon
    grep -q 'could not notify systemd: Invalid argument' "$logfile"
    client --count 2
    assert_success
    stop_daemon
}
