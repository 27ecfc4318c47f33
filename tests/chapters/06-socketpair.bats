#!/usr/bin/env bats
# Chapter 06: socketpair, frames, descriptor passing and a poll server
# (chapters/06-socketpair).  The leak guard (teardown) checks that no socket
# file, private directory or process is left, also after SIGINT/SIGTERM.

load '../helpers/ipclab'

ch=06-socketpair

# wait_for_line FILE PATTERN [SECONDS]: waits until a line of FILE matches
# the extended regular expression PATTERN (a background program's output).
wait_for_line() {
    local deadline=$((SECONDS + ${3:-5}))
    until grep -qE -- "$2" "$1" 2>/dev/null; do
        ((SECONDS < deadline)) || { echo "no line /$2/ in $1:" >&2; cat "$1" >&2; return 1; }
        sleep 0.01
    done
}

# start_server [ARG]...: starts uds_server in the background (SIGINT at its
# default, as in a terminal); sets $server (pid), $server_out and $sock.
start_server() {
    server_out=$BATS_TEST_TMPDIR/server.out
    : > "$server_out"      # now: the job's own > happens later, in the job
    env --default-signal=INT "$(program $ch/uds_server)" "$@" > "$server_out" 2>&1 &
    server=$!
    wait_for_line "$server_out" '^listening on '
    sock=$(sed -n 's/^listening on //p' "$server_out")
}

# stop_server SIG: sends SIG and checks the server stopped cleanly (status 0)
# and removed its socket file.
stop_server() {
    local rc=0
    kill -"$1" "$server"
    wait "$server" || rc=$?
    assert_equal "$rc" 0
    [[ ! -e $sock ]] || fail "socket file left: $sock"
    grep -qx "removed $sock" "$server_out" || fail "$(cat "$server_out")"
}

# --- pair_hello ------------------------------------------------------------------

@test "pair_hello: parent and child talk both ways over a socketpair" {
    run_program $ch/pair_hello
    assert_success
    assert_output "parent -> child: Message From Parent.
child got: Message From Parent.
child -> parent: Message From Child.
parent got: Message From Child."
}

@test "pair_hello: each side receives exactly what the other sent" {
    run_program $ch/pair_hello --parent-says "ping 1 2 3" --child-says "pong, with spaces  and more"
    assert_success
    assert_line --index 1 "child got: ping 1 2 3"
    assert_line --index 3 "parent got: pong, with spaces  and more"
}

# --- pair_frames -----------------------------------------------------------------

# buffer_size: the effective SO_SNDBUF from the first line of pair_frames.
buffer_size() { sed -n 's/^socket send buffer: \([0-9]*\) bytes.*/\1/p' <<<"$output"; }

@test "pair_frames: small and large frames arrive whole with the right content" {
    run_program $ch/pair_frames
    assert_success
    assert_equal "$(buffer_size)" 131072
    assert_line --index 1 "frame 1: 5 bytes sent; child: 5 bytes arrived whole, content ok"
    assert_line --index 2 "frame 2: 100000 bytes sent; child: 100000 bytes arrived whole, content ok"
    assert_line --index 3 "frame 3: 1000000 bytes sent; child: 1000000 bytes arrived whole, content ok"
}

@test "pair_frames: without frames one read() returns only part of a large message" {
    run_program $ch/pair_frames --naive 1000000 5
    assert_success
    local buf got
    buf=$(buffer_size)
    got=$(sed -n 's/^message 1: one read() returned \([0-9]*\) of 1000000 bytes, content of this message$/\1/p' <<<"$output")
    [[ -n $got ]] || fail "$output"
    # The proof that the stream split the message: far less than 1000000
    # came with the first read (the buffer holds about $buf bytes).
    (( got > 0 && got < 1000000 )) || fail "one read() returned $got"
    # The next "message" is the middle of the first one.
    assert_line "message 2: one read() returned 5 of 5 bytes, NOT this message's bytes"
    # Nothing was lost, only split: what was read plus what was left is all.
    local left
    left=$(sed -n 's/^after 2 reads, \([0-9]*\) bytes were still unread$/\1/p' <<<"$output")
    assert_equal $((got + 5 + left)) 1000005
}

@test "pair_frames: frames far larger than the socket buffer are split in transit and arrive whole" {
    # 16 MiB is FRAME_MAX; the buffer is 8 KiB: thousands of pieces.
    run_program $ch/pair_frames --sndbuf 4096 16777216 3000000 0 1
    assert_success
    assert_equal "$(buffer_size)" 8192
    assert_line --index 1 "frame 1: 16777216 bytes sent; child: 16777216 bytes arrived whole, content ok"
    assert_line --index 2 "frame 2: 3000000 bytes sent; child: 3000000 bytes arrived whole, content ok"
    assert_line --index 3 "frame 3: 0 bytes sent; child: 0 bytes arrived whole, content ok"
    assert_line --index 4 "frame 4: 1 bytes sent; child: 1 bytes arrived whole, content ok"
    # The same sizes without frames: the first read gets a piece.
    run_program $ch/pair_frames --naive --sndbuf 4096 16777216 3000000
    assert_success
    assert_line --regexp '^message 1: one read\(\) returned [0-9]+ of 16777216 bytes, content of this message$'
    refute_line --regexp '^message 1: one read\(\) returned 16777216 '
}

@test "pair_frames: frames arrive whole while signals interrupt every read and write" {
    # An 8 KiB socket buffer: the 2 MB frame takes hundreds of round trips.
    run_program $ch/pair_frames --interrupt --sndbuf 4096 2000000 7 1000000
    assert_success
    assert_line --index 1 "frame 1: 2000000 bytes sent; child: 2000000 bytes arrived whole, content ok"
    assert_line --index 2 "frame 2: 7 bytes sent; child: 7 bytes arrived whole, content ok"
    assert_line --index 3 "frame 3: 1000000 bytes sent; child: 1000000 bytes arrived whole, content ok"
    # The child pauses 10 ms before each frame while the parent is blocked
    # writing and a SIGALRM comes every 100 us: signals did arrive mid-transfer.
    local parent
    parent=$(sed -n 's/^signals in the parent during transfers: \([0-9]*\)$/\1/p' <<<"$output")
    (( parent > 0 )) || fail "no signal reached the parent: $output"
    local child
    child=$(sed -n 's/^signals in the child during transfers: \([0-9]*\)$/\1/p' <<<"$output")
    (( child > 0 )) || fail "no signal reached the child: $output"
}

# --- pass_fd ---------------------------------------------------------------------

@test "pass_fd: the passed descriptor works in the worker: it serves the client's own connection" {
    run_program $ch/pass_fd --clients 3
    assert_success
    local parent worker client
    parent=$(sed -n '1s/^parent (pid \([0-9]*\)): listening on .*/\1/p' <<<"$output")
    [[ $(sed -n 1p <<<"$output") == "parent (pid $parent): listening on $TMPDIR/ipclab-uds-"*/pass.sock ]] ||
        fail "socket not in a private directory: ${lines[0]}"
    local i=1 base
    for i in 1 2 3; do
        base=$(( (i - 1) * 3 + 1 ))
        [[ ${lines[base]} =~ ^parent\ \(pid\ $parent\):\ accepted\ client\ $i\ as\ descriptor\ ([0-9]+)\;\ passing\ it\ on,\ closing\ it$ ]] ||
            fail "line $base: ${lines[base]}"
        [[ ${lines[base + 1]} =~ ^worker\ \(pid\ ([0-9]+)\):\ client\ $i\ arrived\ as\ descriptor\ ([0-9]+)\;\ its\ peer\ is\ pid\ ([0-9]+)$ ]] ||
            fail "line $((base + 1)): ${lines[base + 1]}"
        worker=${BASH_REMATCH[1]}
        client=${BASH_REMATCH[3]}
        [[ $worker != "$parent" ]] || fail "the parent served the client itself"
        # The client's answer came from the worker, over the connection the
        # parent accepted; the worker saw the client as its peer.
        assert_equal "${lines[base + 2]}" \
            "client (pid $client): client $i got \"HELLO FROM CLIENT $i, served by pid $worker\", then end-of-file"
    done
    assert_equal "${#lines[@]}" 10
}

@test "pass_fd: the parent closes its copy: each client sees end-of-file as soon as the worker closes" {
    # A client waits --timeout-ms for end-of-file after its answer; a copy
    # of the connection left open in the parent (or the worker) would make
    # it give up: "no end-of-file within 5000 ms".
    local t0=$EPOCHREALTIME now
    run_program $ch/pass_fd --clients 3 --timeout-ms 5000
    now=$EPOCHREALTIME
    assert_success
    assert_equal "$(grep -c '^client (pid [0-9]*): client [0-9] got ".*", then end-of-file$' <<<"$output")" 3
    (( (${now/./} - ${t0/./}) / 1000 < 5000 )) || fail "a client waited for its end-of-file: $output"
}

@test "pass_fd: a client that sends nothing gets an answer that says so, and one that vanishes does not stop the worker" {
    run_program $ch/pass_fd --clients 4 --mute 2 --vanish 3
    assert_success
    local worker
    worker=$(sed -n 's/^worker (pid \([0-9]*\)): client 1 .*/\1/p' <<<"$output")
    # Client 2 sent nothing: the answer names the end-of-file and carries
    # nothing else (not client 1's request, not stack bytes).
    assert_line --regexp "^client \(pid [0-9]+\): client 2 got \"\(no request: end-of-file\), served by pid $worker\", then end-of-file$"
    assert_line --regexp '^client \(pid [0-9]+\): client 3 closed its connection at once$'
    # The worker's write to client 3 failed (EPIPE, SIGPIPE ignored) and it
    # went on to serve client 4.
    assert_line --regexp "^client \(pid [0-9]+\): client 4 got \"HELLO FROM CLIENT 4, served by pid $worker\", then end-of-file$"
}

@test "pass_fd: SIGINT or SIGTERM mid-run removes the socket file and stops worker and client" {
    local sig out=$BATS_TEST_TMPDIR/out rc path
    for sig in INT TERM; do
        : > "$out"         # or the wait below could read the last round's output
        env --default-signal=INT "$(program $ch/pass_fd)" --clients 100 --delay-ms 50 > "$out" 2>&1 &
        local pid=$!
        wait_for_line "$out" 'accepted client 2 '
        path=$(sed -n 's/^parent (pid [0-9]*): listening on //p' "$out")
        [[ -S $path ]] || fail "no socket file $path while running"
        kill -$sig $pid
        rc=0
        wait $pid || rc=$?
        assert_equal "$rc" $((128 + $(kill -l $sig)))
        [[ ! -e $path && ! -e ${path%/*} ]] || fail "left: $path"
    done
}

# --- uds_server and uds_client -----------------------------------------------------

@test "uds_server: alone, it stops after --idle-ms, not before, and removes its socket file and directory" {
    local t0=$EPOCHREALTIME now ms
    run_program $ch/uds_server --idle-ms 400
    now=$EPOCHREALTIME
    ms=$(( (${now/./} - ${t0/./}) / 1000 ))
    assert_success
    (( ms >= 400 )) || fail "stopped after $ms ms, before --idle-ms 400"
    (( ms < 400 + 5000 )) || fail "took $ms ms for --idle-ms 400"
    local sock=${lines[0]#listening on }
    [[ $sock == "$TMPDIR"/ipclab-uds-*/server.sock ]] || fail "socket path $sock"
    assert_line --index 1 "no activity for 400 ms: stopping; clients served: 0"
    assert_line --index 2 "removed $sock"
    [[ ! -e ${sock%/*} ]] || fail "directory left: ${sock%/*}"
}

@test "uds_server: the socket file has mode 0600 even under umask 000" {
    umask 000
    start_server --idle-ms 10000
    umask 022
    assert_equal "$(stat -c %a "$sock")" 600
    stop_server TERM
}

@test "uds_server: every line that arrives in one read is answered (pipelined lines)" {
    start_server --idle-ms 10000
    run_program $ch/uds_client --pipeline "$sock" one two three
    assert_success
    assert_output 'sent "one", got "ONE"
sent "two", got "TWO"
sent "three", got "THREE"'
    run_program $ch/uds_client --pipeline --repeat 200 "$sock" a b c d e
    assert_success
    assert_equal "${#lines[@]}" 1000
    stop_server TERM
}

# a_line_of N: N x characters.
a_line_of() { head -c "$1" /dev/zero | tr '\0' x; }

@test "uds_server: a client that stops reading does not stall the others" {
    start_server --idle-ms 10000
    local a_out=$BATS_TEST_TMPDIR/a.out
    # 150 lines of 1000 bytes and never a read: the answers fill the socket
    # (a blocking write would wait there for good) and the server's buffer.
    "$(program $ch/uds_client)" --no-read --repeat 150 --hold-ms 20000 "$sock" "$(a_line_of 1000)" > "$a_out" 2>&1 &
    local a=$!
    wait_for_line "$a_out" '^sent 150 lines in one write\(\); not reading'
    run_program $ch/uds_client --timeout-ms 5000 "$sock" meanwhile "and more"
    assert_success
    assert_output 'sent "meanwhile", got "MEANWHILE"
sent "and more", got "AND MORE"'
    kill -0 $a || fail "client A is gone: the test proves nothing"
    kill -TERM $a
    wait $a || true
    stop_server TERM
}

@test "uds_server: a client that disconnects in the middle of its answers does not kill the server" {
    start_server --idle-ms 10000
    # More answers than the socket holds, then close without reading: the
    # server's next write meets a closed socket (EPIPE, SIGPIPE ignored).
    run_program $ch/uds_client --no-read --repeat 150 --hold-ms 0 "$sock" "$(a_line_of 1000)"
    assert_success
    wait_for_line "$server_out" '^client 1 vanished \(0 connected now\)$'
    kill -0 $server || fail "the server died: $(cat "$server_out")"
    run_program $ch/uds_client "$sock" still
    assert_success
    assert_output 'sent "still", got "STILL"'
    stop_server TERM
}

@test "uds_server: a client that leaves takes its descriptor with it (counted in /proc)" {
    start_server --idle-ms 10000
    local before after k
    before=$(ls /proc/$server/fd | wc -l)
    for k in 1 2 3 4 5; do
        run_program $ch/uds_client "$sock" "c$k"
        assert_success
        wait_for_line "$server_out" "^client $k left \\(0 connected now\\)$"
    done
    after=$(ls /proc/$server/fd | wc -l)
    assert_equal "$after" "$before"
    stop_server TERM
}

@test "uds_server: a client's lines come back in capitals" {
    start_server --idle-ms 10000
    [[ -S $sock ]] || fail "$sock is not a socket"
    run_program $ch/uds_client "$sock" hello "two words" ""
    assert_success
    assert_output 'sent "hello", got "HELLO"
sent "two words", got "TWO WORDS"
sent "", got ""'
    stop_server TERM
    run cat "$server_out"
    assert_line 'client 1: "hello"'
    assert_line 'client 1 left (0 connected now)'
}

@test "uds_server: serves a second client while the first holds its connection open" {
    start_server --idle-ms 10000
    local a_out=$BATS_TEST_TMPDIR/a.out
    "$(program $ch/uds_client)" --hold-ms 10000 "$sock" first second > "$a_out" 2>&1 &
    local a=$!
    wait_for_line "$a_out" '^sent "first", got "FIRST"$'
    # Client A is connected and waiting; B must be served meanwhile.
    run_program $ch/uds_client "$sock" meanwhile
    assert_success
    assert_output 'sent "meanwhile", got "MEANWHILE"'
    kill -0 $a || fail "client A is gone: B was not served while A was connected"
    grep -qx 'client 2 connected (2 connected now)' "$server_out" || fail "$(cat "$server_out")"
    # Stopping the server ends A's held connection: it sees end-of-file.
    stop_server TERM
    local rc=0
    wait $a || rc=$?
    assert_equal "$rc" 1
    assert_equal "$(cat "$a_out")" 'sent "first", got "FIRST"
uds_client: the server closed the connection'
    grep -qx 'SIGTERM: stopping; clients served: 2' "$server_out" || fail "$(cat "$server_out")"
    grep -qx 'client 1 disconnected by the server (0 connected now)' "$server_out" || fail "$(cat "$server_out")"
}

@test "uds_server: five clients at once each get their own answers" {
    start_server --idle-ms 10000
    local i pids=()
    for i in 1 2 3 4 5; do
        "$(program $ch/uds_client)" "$sock" "c$i-a" "c$i-b" "c$i-c" > "$BATS_TEST_TMPDIR/c$i.out" 2>&1 &
        pids+=($!)
    done
    local rc
    for i in 1 2 3 4 5; do
        rc=0
        wait "${pids[i - 1]}" || rc=$?
        assert_equal "$rc" 0
        assert_equal "$(cat "$BATS_TEST_TMPDIR/c$i.out")" "sent \"c$i-a\", got \"C$i-A\"
sent \"c$i-b\", got \"C$i-B\"
sent \"c$i-c\", got \"C$i-C\""
    done
    stop_server INT
    grep -qx 'SIGINT: stopping; clients served: 5' "$server_out" || fail "$(cat "$server_out")"
}

@test "uds_server: SIGINT or SIGTERM stops it cleanly, socket file and directory removed" {
    local sig
    for sig in INT TERM; do
        start_server --idle-ms 60000
        [[ -S $sock ]] || fail "no socket file while running"
        stop_server $sig
        grep -qx "SIG$sig: stopping; clients served: 0" "$server_out" || fail "$(cat "$server_out")"
        [[ ! -e ${sock%/*} ]] || fail "directory left: ${sock%/*}"
    done
}

@test "uds_client: without a server, connect fails with ENOENT" {
    run_program $ch/uds_client "$BATS_TEST_TMPDIR/no-such.sock" hello
    assert_failure 1
    assert_equal "${stderr_lines[0]}" "uds_client: connect $BATS_TEST_TMPDIR/no-such.sock: ENOENT (No such file or directory)"
}

# --- arguments ---------------------------------------------------------------------

@test "bad arguments are refused with exit status 2" {
    run_program $ch/pair_hello --parent-says ""
    assert_usage_error "--parent-says: needs a non-empty value"
    run_program $ch/pair_frames 16777217
    assert_usage_error "SIZE: '16777217' is not a whole number from 0 to 16777216"
    run_program $ch/pair_frames 12abc
    assert_usage_error "SIZE: '12abc' is not a whole number"
    run_program $ch/pair_frames --sndbuf 100
    assert_usage_error "--sndbuf: '100' is not a whole number from 4096 to 4194304"
    run_program $ch/pass_fd --clients 0
    assert_usage_error "--clients: '0' is not a whole number from 1 to 1000"
    run_program $ch/uds_server --max-clients 65
    assert_usage_error "--max-clients: '65' is not a whole number from 1 to 64"
    run_program $ch/uds_server stray
    assert_usage_error "unexpected argument 'stray'"
    run_program $ch/uds_client
    assert_usage_error "expected SOCKET [MESSAGE]..."
    run_program $ch/uds_client "$BATS_TEST_TMPDIR/x.sock" $'two\nlines'
    assert_usage_error "MESSAGE 1 must be one line"
}

# --- a signal while the socket file or its directory is being made -----------

@test "SIGTERM while bind or mkdir returns (slowed by strace) leaves no socket file or directory" {
    command -v strace > /dev/null || skip "strace is not installed"
    a_socket_file() { compgen -G "$TMPDIR/ipclab-uds-*/*.sock" > /dev/null; }
    a_socket_dir() { compgen -G "$TMPDIR/ipclab-uds-*" > /dev/null; }
    local prog want
    for prog in uds_server pass_fd; do
        want=143
        [[ $prog != uds_server ]] || want=0
        term_during_creation $want bind a_socket_file $ch/$prog
        ! a_socket_dir || fail "$prog left $(ls -R "$TMPDIR")"
        term_during_creation $want mkdir a_socket_dir $ch/$prog
        ! a_socket_dir || fail "$prog left $(ls -R "$TMPDIR")"
    done
}

# --- fd_worker: one frame on an inherited descriptor, PHP serialize() form or raw ---

# frame_parts FILE: "LEN PAYLOAD" of the one frame in FILE (LEN from the
# 4-byte big-endian header), and fails unless the header's length is the
# payload's.
frame_parts() {
    local len
    len=$(od -An -tu1 -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
    (( $(stat -c %s "$1") == len + 4 )) || { echo "header says $len, file holds $(stat -c %s "$1")" >&2; return 1; }
    printf '%s %s\n' "$len" "$(tail -c +5 "$1")"
}

@test "fd_worker: answers on the descriptor it inherited, one frame whose payload is a PHP serialize()d string" {
    local out=$BATS_TEST_TMPDIR/frame text len
    run --separate-stderr "$(program $ch/fd_worker)" --fd 3 --job 12 3> "$out"
    assert_success
    assert_output ""                        # nothing on stdout: the answer went to fd 3
    text="12 : 12 squared is 144, from a C worker (pid "
    read -r len payload < <(frame_parts "$out")
    [[ $payload =~ ^s:([0-9]+):\"(.*)\"\;$ ]] || fail "not serialize()d: $payload"
    [[ ${BASH_REMATCH[2]} == "$text"*")" ]] || fail "${BASH_REMATCH[2]}"
    # serialize() counts bytes: the number is the text's length.
    assert_equal "${BASH_REMATCH[1]}" "${#BASH_REMATCH[2]}"
    assert_equal "$stderr" "fd_worker: job 12 answered on fd 3 ($len bytes, php payload)"
}

@test "fd_worker --payload raw: the bare text; by default the frame goes to stdout" {
    local out=$BATS_TEST_TMPDIR/frame payload len
    "$(program $ch/fd_worker)" --payload raw --job 3 > "$out" 2> /dev/null
    read -r len payload < <(frame_parts "$out")
    [[ $payload == "3 : 3 squared is 9, from a C worker (pid "*")" ]] || fail "$payload"
    assert_equal "$len" "${#payload}"
}

@test "fd_worker: a descriptor it did not inherit is EBADF, before any work; bad arguments" {
    local t0=$EPOCHREALTIME
    run_program $ch/fd_worker --fd 9 --work-ms 5000
    assert_failure 1
    assert_equal "$stderr" "fd_worker: fstat fd 9 (was it passed to us?): EBADF (Bad file descriptor)"
    (( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 < 4000 )) || fail "it did the work first"
    run_program $ch/fd_worker --payload json
    assert_usage_error "--payload: 'json' is not one of the choices: php, raw"
    run_program $ch/fd_worker --fd 0
    assert_usage_error "--fd: '0' is not a whole number from 1 to 1023"
}
