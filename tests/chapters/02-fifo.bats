#!/usr/bin/env bats
# Chapter 02: pipes and FIFOs (chapters/02-fifo): a pipe to a child, a
# child's output read back (popen by hand), a two-pipe coprocess, a FIFO
# rendezvous, a FIFO server with several clients, and PIPE_BUF atomicity.

load '../helpers/ipclab'

to_child=02-fifo/pipe_to_child
child_output=02-fifo/read_child_output
coprocess=02-fifo/coprocess
rendezvous=02-fifo/fifo_rendezvous
server=02-fifo/fifo_server
client=02-fifo/fifo_client
atomicity=02-fifo/pipe_buf_atomicity

# now_ms: the wall clock in milliseconds, to measure how long a wait lasted.
now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
}

# --- pipe_to_child ----------------------------------------------------------

@test "pipe_to_child: the child reads every line in order, then end-of-file" {
    run_program $to_child
    assert_success
    local i
    for i in 1 2 3 4 5; do
        assert_line --regexp "^child: line $i: message $i of 5 from parent [0-9]+$"
    done
    assert_line "child: end-of-file after 5 lines"
    assert_line --regexp '^parent: wrote 5 lines \([0-9]+ bytes\) and closed the write end$'
    assert_equal "$(result_field received)" 5
    assert_equal "$(result_field eof)" 1
    assert_equal "$(result_field lines_ok)" 1
}

@test "pipe_to_child: far more than the pipe holds arrives whole (the writer blocks while it is full)" {
    run_program $to_child --lines 20000
    assert_success
    assert_equal "$(result_field received)" 20000
    assert_equal "$(result_field lines_ok)" 1
    assert_equal "$(result_field eof)" 1
    (($(result_field bytes) > 65536)) || fail "too little to fill a pipe: $output"
}

@test "pipe_to_child: a child that keeps its own write end open never sees end-of-file" {
    local t0 t1
    t0=$(now_ms)
    run_program $to_child --keep-write-end --eof-timeout-ms 300
    t1=$(now_ms)
    assert_success
    ((t1 - t0 >= 300)) || fail "the wait for end-of-file lasted $((t1 - t0)) ms, not 300"
    assert_line "child: no data and no end-of-file for 300 ms: a write end is still open (my own)"
    refute_line --partial "end-of-file after"
    assert_equal "$(result_field received)" 5
    assert_equal "$(result_field eof)" 0
}

@test "pipe_to_child: bad arguments are refused with exit status 2" {
    run_program $to_child --lines 0
    assert_usage_error "--lines: '0' is not a whole number from 1 to 1000000"
    run_program $to_child --eof-timeout-ms abc
    assert_usage_error "--eof-timeout-ms: 'abc' is not a whole number"
    run_program $to_child --keep-write-end=1
    assert_usage_error "--keep-write-end takes no value"
}

# --- read_child_output ------------------------------------------------------

@test "read_child_output: the parent reads the command's output and its exit status" {
    run_program $child_output
    assert_success
    assert_line "parent: line 1: one"
    assert_line "parent: line 2: two"
    assert_line "parent: line 3: three"
    assert_line "parent: waitpid: exited with status 0"
    assert_line "result: lines=3 bytes=14 exit_status=0 signal=none timeout=0"
}

@test "read_child_output: only stdout is captured; the exit status comes through" {
    run_program $child_output 'echo captured; echo not-captured >&2; exit 3'
    assert_success
    assert_line "parent: line 1: captured"
    refute_line --regexp "^parent: line .*not-captured"
    [[ $stderr == *not-captured* ]] || fail "the command's stderr did not pass through: $stderr"
    assert_line "parent: waitpid: exited with status 3"
    assert_equal "$(result_field exit_status)" 3
    assert_equal "$(result_field signal)" none
    assert_equal "$(result_field lines)" 1
}

@test "read_child_output: output larger than a pipe, byte for byte as popen() reads it" {
    run_program $child_output --compare-popen 'seq 100000'
    assert_success
    assert_equal "$(result_field lines)" 100000
    assert_equal "$(result_field bytes)" "$(seq 100000 | wc -c)"
    assert_equal "$(result_field popen_same)" 1
    assert_line --regexp '^popen: read [0-9]+ bytes, the same bytes; pclose: exited with status 0$'
}

@test "read_child_output: a command that does not finish is stopped at the timeout, with its children" {
    local t0 t1
    t0=$(now_ms)
    IPCLAB_TIMEOUT=10 run_program $child_output --timeout-ms 300 'sleep 30; echo never'
    t1=$(now_ms)
    assert_success
    ((t1 - t0 >= 300 && t1 - t0 < 5000)) || fail "the timeout lasted $((t1 - t0)) ms, not 300"
    assert_line "parent: no end-of-file within 300 ms; stopping the command"
    assert_line "parent: waitpid: killed by SIGKILL (the SIGKILL we sent at the timeout)"
    assert_equal "$(result_field timeout)" 1
    assert_equal "$(result_field exit_status)" none
    assert_equal "$(result_field signal)" SIGKILL
    # The leak guard fails the test if the sleep survived.
}

@test "read_child_output: SIGTERM mid-run stops the command and everything it started" {
    start_background $child_output --timeout-ms 60000 'sleep 30; echo never'
    wait_for_output "with its stdout a pipe"
    sleep 0.05
    finish_background TERM
    assert_equal "$status" 143
}

@test "read_child_output: bad arguments are refused with exit status 2" {
    run_program $child_output 'echo a' 'echo b'
    assert_usage_error "expected [COMMAND]"
    run_program $child_output --timeout-ms 0
    assert_usage_error "--timeout-ms: '0' is not a whole number from 1 to 600000"
}

# --- coprocess --------------------------------------------------------------

@test "coprocess: every request gets its answer through the second pipe" {
    run_program $coprocess
    assert_success
    assert_line 'parent: asked "1 100", child answered "101"'
    assert_line 'parent: asked "2 200", child answered "202"'
    assert_line 'parent: asked "3 300", child answered "303"'
    assert_line "result: requests=3 asked=3 answered=3 correct=3 timeout=0 late=0"
}

@test "coprocess: thousands of requests, each answered at once" {
    run_program $coprocess --requests 5000
    assert_success
    assert_line "result: requests=5000 asked=5000 answered=5000 correct=5000 timeout=0 late=0"
}

@test "coprocess: a fully buffered child deadlocks; the answer comes only after its input closes" {
    local t0 t1
    t0=$(now_ms)
    run_program $coprocess --child-buffering full --timeout-ms 300
    t1=$(now_ms)
    assert_success
    ((t1 - t0 >= 300)) || fail "the wait for an answer lasted $((t1 - t0)) ms, not 300"
    assert_line --partial 'parent: asked "1 100", no answer within 300 ms'
    assert_line "parent: 1 of 3 requests asked; not asking the rest"
    assert_line 'parent: after closing the child'"'"'s input, a late answer: "101"'
    assert_line "result: requests=3 asked=1 answered=0 correct=0 timeout=1 late=1"
}

@test "coprocess: bad arguments are refused with exit status 2" {
    run_program $coprocess --child-buffering none
    assert_usage_error "--child-buffering: 'none' is not one of the choices"
    run_program $coprocess --requests 100001
    assert_usage_error "--requests: '100001' is not a whole number from 1 to 100000"
}

# --- fifo_rendezvous --------------------------------------------------------

@test "fifo_rendezvous: the reader's open returns only after the writer calls open" {
    run_program $rendezvous --delay-ms 50
    assert_success
    assert_line --regexp '^\[ *[0-9.]+ ms\] reader  open\(O_RDONLY\) called: waits for a writer$'
    assert_line --regexp '^\[ *[0-9.]+ ms\] writer  open\(O_WRONLY\) called$'
    assert_line --regexp '^\[ *[0-9.]+ ms\] writer  write\("hello through the FIFO"\) called$'
    assert_line --regexp '^\[ *[0-9.]+ ms\] reader  read returned "hello through the FIFO"$'
    assert_equal "$(result_field first)" reader
    assert_equal "$(result_field after_partner)" 1
    assert_equal "$(result_field timeout)" 0
    # The timeline is in time order: the writer's open call comes before the
    # reader's open returns.
    local called returned
    called=$(grep -n 'writer  open(O_WRONLY) called' <<<"$output" | cut -d: -f1)
    returned=$(grep -n 'reader  open returned' <<<"$output" | cut -d: -f1)
    ((called < returned)) || fail "$output"
    # And a write is stamped when called, a read when it returns: the write
    # shows before the read that received it, every time.
    local wrote read
    for _ in 1 2 3 4 5; do
        run_program $rendezvous --delay-ms 0
        assert_success
        wrote=$(grep -n 'writer  write(' <<<"$output" | cut -d: -f1)
        read=$(grep -n 'reader  read returned' <<<"$output" | cut -d: -f1)
        ((wrote < read)) || fail "the read shows before its write: $output"
    done
    assert_line --partial 'a "called" line is stamped just before'
}

@test "fifo_rendezvous: a writer probing with O_NONBLOCK gets ENXIO, then waits for the reader" {
    run_program $rendezvous --first writer --delay-ms 50
    assert_success
    assert_line --regexp 'writer  open\(O_WRONLY \| O_NONBLOCK\) returned ENXIO: no reader yet$'
    assert_line --regexp 'writer  open\(O_WRONLY\) called: waits for a reader$'
    assert_line --regexp 'reader  read returned "hello through the FIFO"$'
    assert_equal "$(result_field after_partner)" 1
    assert_equal "$(result_field timeout)" 0
}

@test "fifo_rendezvous: with nobody on the other side, the timer ends the open (EINTR)" {
    local role
    for role in reader writer; do
        IPCLAB_TIMEOUT=10 run_program $rendezvous --first $role --no-partner --timeout-ms 100
        assert_success
        assert_line --regexp "$role  open interrupted \\(EINTR\\) by the timer after [0-9.]+ ms: nobody came$"
        assert_equal "$(result_field timeout)" 1
        assert_equal "$(result_field after_partner)" 0
        # The open waited the timer's length at least.
        local waited
        waited=$(result_field waited_ms)
        ((${waited%.*} >= 100)) || fail "the open gave up after $waited ms: $output"
    done
}

@test "fifo_rendezvous: a partner that comes too late is a failure, exit status 1" {
    IPCLAB_TIMEOUT=10 run_program $rendezvous --delay-ms 300 --timeout-ms 50
    assert_failure 1
    assert_equal "$(result_field timeout)" 1
}

@test "fifo_rendezvous: the FIFO is mode 0600 in a private directory, removed after SIGTERM or SIGINT" {
    local sig fifo
    for sig in TERM INT; do
        start_background $rendezvous --no-partner --timeout-ms 60000
        wait_for_output "(mode 0600)"
        fifo=$(sed -n 's/^FIFO \(.*\) (mode 0600).*/\1/p' "$BATS_TEST_TMPDIR/out")
        [[ $fifo == "$TMPDIR"/ipclab-rendezvous-*/fifo ]] || fail "FIFO at $fifo"
        assert_equal "$(stat -c '%F %a' "$fifo")" "fifo 600"
        assert_equal "$(stat -c '%a' "$(dirname "$fifo")")" 700
        finish_background $sig
        assert_equal "$status" $((128 + $(kill -l $sig)))
        [[ ! -e $fifo && ! -e $(dirname "$fifo") ]] || fail "left behind: $fifo"
    done
}

@test "fifo_rendezvous: SIGTERM while the partner sleeps takes the partner down too" {
    start_background $rendezvous --delay-ms 30000 --timeout-ms 60000
    wait_for_output "(mode 0600)"
    sleep 0.1
    finish_background TERM
    assert_equal "$status" 143
    # The leak guard checks that the partner and the FIFO are gone.
}

@test "fifo_rendezvous: bad arguments are refused with exit status 2" {
    run_program $rendezvous --first both
    assert_usage_error "--first: 'both' is not one of the choices"
    run_program $rendezvous --delay-ms -5
    assert_usage_error "--delay-ms: '-5' is not a whole number from 0 to 60000"
}

# --- fifo_server and fifo_client --------------------------------------------

@test "fifo_server: three clients, two requests each: every request served once, every reply to its sender" {
    run_program $server
    assert_success
    assert_line --regexp '^fifo_server: listening on .*/ipclab-server-[^/]+/requests$'
    assert_equal "$(grep -c '^fifo_server: request [12] from client [0-9]*: hello [12] from [0-9]*$' <<<"$output")" 6
    local i seq pid
    for i in 0 1 2; do
        pid=$(sed -n "s/^client $i (pid \\([0-9]*\\)): reply to request 1: .*/\\1/p" <<<"$output")
        [[ -n $pid ]] || fail "client $i got no reply to request 1: $output"
        for seq in 1 2; do
            # The reply carries the text of this client's own request.
            assert_line --regexp "^client $i \\(pid $pid\\): reply to request $seq: served [1-6]: hello $seq from $pid$"
        done
    done
    # The server numbered the six requests 1..6, each once.
    assert_equal "$(sed -n 's/.*: served \([0-9]*\): .*/\1/p' <<<"$output" | sort -n | tr '\n' ' ')" "1 2 3 4 5 6 "
    assert_line --regexp '^result: clients=3 requests=6 served=6 answered=6 clients_ok=3 ms=[0-9.]+$'
}

@test "fifo_server: twenty clients at once, their requests never mixed" {
    run_program $server --clients 20 --each 25
    assert_success
    assert_equal "$(result_field served)" 500
    assert_equal "$(result_field clients_ok)" 20
    assert_equal "$(grep -c ': reply to request ' <<<"$output")" 500
}

@test "fifo_client: talks to a running fifo_server through the FIFO path it printed" {
    start_background $server --clients 0 --requests 3 --idle-ms 5000
    wait_for_output "listening on"
    local fifo
    fifo=$(sed -n 's/^fifo_server: listening on //p' "$BATS_TEST_TMPDIR/out")
    run_program $client --requests 3 "$fifo"
    assert_success
    assert_line --regexp '^client \(pid [0-9]+\): reply to request 3: served 3: hello 3 from [0-9]+$'
    assert_line "result: requests=3 replies=3"
    finish_background
    assert_equal "$status" 0
    assert_equal "$(result_field served)" 3
    [[ ! -e $fifo && ! -e $(dirname "$fifo") ]] || fail "the server left $fifo"
}

@test "fifo_client: no server: ENOENT for a missing FIFO, ENXIO when nobody reads it" {
    run_program $client "$TMPDIR/no-such-fifo"
    assert_failure 1
    [[ ${stderr_lines[0]} == "fifo_client: open $TMPDIR/no-such-fifo: ENOENT (No such file or directory)" ]] ||
        fail "$stderr"
    mkfifo -m 600 "$BATS_TEST_TMPDIR/lonely"
    run_program $client "$BATS_TEST_TMPDIR/lonely"
    rm -f "$BATS_TEST_TMPDIR/lonely"
    assert_failure 1
    [[ $stderr == *"no server is reading $BATS_TEST_TMPDIR/lonely (ENXIO)"* ]] || fail "$stderr"
}

@test "fifo_server: with no clients it stops when idle, not before, and removes its FIFO" {
    local t0 t1
    t0=$(now_ms)
    run_program $server --clients 0 --idle-ms 300
    t1=$(now_ms)
    assert_success
    ((t1 - t0 >= 300)) || fail "stopped after $((t1 - t0)) ms, idle time 300 ms"
    assert_line "fifo_server: no request for 300 ms; stopping"
    assert_equal "$(result_field served)" 0
    [[ -z $(find "$TMPDIR" -mindepth 1) ]] || fail "left: $(find "$TMPDIR")"
}

# start_server [ARG]...: a fifo_server with --clients 0 in the background;
# sets $fifo to the path it listens on.
start_server() {
    start_background $server --clients 0 "$@"
    wait_for_output "listening on"
    fifo=$(sed -n 's/^fifo_server: listening on //p' "$BATS_TEST_TMPDIR/out")
}

# fake_client_dir: a directory of the protocol's shape (mode 0700, in
# $TMPDIR, named like a client's), made by the test; prints its path.
fake_client_dir() {
    local dir=$TMPDIR/ipclab-client-Test01
    mkdir -m 700 "$dir" && echo "$dir"
}

@test "fifo_server: a request naming a regular file as its reply FIFO: the file is untouched, the server says why and goes on" {
    local dir victim before
    start_server --requests 3 --idle-ms 5000
    # A file where a reply FIFO would be, and one anywhere else.
    dir=$(fake_client_dir)
    printf 'precious %.0s' {1..100} > "$dir/reply"
    victim=$BATS_TEST_TMPDIR/victim
    printf 'precious %.0s' {1..100} > "$victim"
    before=$(cksum < "$victim")
    run_program $client --reply-path "$dir/reply" "$fifo"
    assert_success
    run_program $client --reply-path "$victim" "$fifo"
    assert_success
    # Then an honest client is still served.
    run_program $client "$fifo"
    assert_success
    assert_line "result: requests=1 replies=1"
    finish_background
    assert_equal "$status" 0
    assert_line "fifo_server: request 1 not answered: reply path $dir/reply refused: it is a regular file, not a FIFO"
    assert_line "fifo_server: request 1 not answered: reply path $victim refused: it is not in a client directory of this server's \$TMPDIR"
    assert_equal "$(result_field served)" 3
    assert_equal "$(result_field answered)" 1
    assert_equal "$(cksum < "$dir/reply")" "$before"
    assert_equal "$(cksum < "$victim")" "$before"
    rm -r "$dir"
}

@test "fifo_server: a client gone before its reply (its FIFO has no reader) does not block the server" {
    local dir t0 t1
    start_server --requests 2 --idle-ms 5000
    dir=$(fake_client_dir)
    mkfifo -m 600 "$dir/reply"           # nobody will ever open it for reading
    run_program $client --reply-path "$dir/reply" "$fifo"
    assert_success
    # A blocking open of that FIFO would hang the server here, and this
    # client would get no reply within its second.
    t0=$(now_ms)
    run_program $client --timeout-ms 1000 "$fifo"
    t1=$(now_ms)
    assert_success
    assert_line "result: requests=1 replies=1"
    finish_background
    assert_equal "$status" 0
    assert_line "fifo_server: request 1 not answered: reply path $dir/reply refused: nobody reads it (ENXIO): the client went away"
    assert_equal "$(result_field answered)" 1
    rm -r "$dir"
}

@test "fifo_client: a SERVER_FIFO that is a regular file is refused and left as it was" {
    local file=$BATS_TEST_TMPDIR/not-a-fifo before
    printf 'keep me %.0s' {1..100} > "$file"
    before=$(cksum < "$file")
    run_program $client "$file"
    assert_failure 1
    [[ $stderr == *"$file is a regular file, not a FIFO: nothing written to it"* ]] || fail "$stderr"
    assert_equal "$(cksum < "$file")" "$before"
}

@test "fifo_server | head -1: SIGPIPE stops the server, and it leaves no FIFO, directory or client" {
    local statuses
    run bash -c "'$(program $server)' --clients 3 --each 200 | head -1; echo \"\${PIPESTATUS[*]}\""
    assert_line --regexp '^fifo_server: listening on '
    statuses=${lines[-1]}
    assert_equal "$statuses" "141 0"
    [[ -z $(find "$TMPDIR" -mindepth 1) ]] || fail "left: $(find "$TMPDIR")"
}

@test "fifo_server: SIGTERM at random moments while clients start leaves no client directory (20 trials)" {
    local trial left
    for trial in $(seq 20); do
        start_background $server --clients 20 --each 1000 --timeout-ms 5000
        wait_for_output "listening on"
        # Not to wait for anything: to vary where the signal lands, from
        # before the first client is forked to clients mid-request.
        sleep "0.00$((RANDOM % 10))"
        finish_background TERM
        assert_equal "$status" 143
        left=$(find "$TMPDIR" -mindepth 1)
        [[ -z $left ]] || fail "trial $trial (status $status) left: $left"
    done
}

# with_slow_call CALL PATTERN PROGRAM [ARG]...: runs PROGRAM under strace
# with every CALL held back 1 s on its way out, waits until a path matching
# PATTERN exists (the call has done its work), sends SIGTERM to PROGRAM
# during the held-back return, and sets $status.
with_slow_call() {
    local call=$1 pattern=$2 path spid pid deadline
    shift 2
    path=$(program "$1") || return 1
    shift
    strace -o /dev/null -e trace="$call" -e inject="$call":delay_exit=1000000 \
        "$path" "$@" > "$BATS_TEST_TMPDIR/out" 2>&1 &
    spid=$!
    deadline=$((SECONDS + 10))
    until compgen -G "$pattern" > /dev/null; do
        ((SECONDS < deadline)) || fail "no $pattern from $*"
        sleep 0.01
    done
    pid=$(pgrep -P "$spid")
    [[ -n $pid ]] || fail "no traced process"
    kill -TERM "$pid"
    status=0
    wait "$spid" || status=$?
}

@test "FIFO programs: SIGTERM while mkdtemp or mkfifo returns leaves nothing behind (strace delays the call)" {
    command -v strace > /dev/null || skip "strace is not installed"
    strace -o /dev/null -e inject=getpid:delay_exit=1 true 2>/dev/null ||
        skip "strace cannot inject here (ptrace not allowed)"
    local prog args left
    while read -r prog args; do
        with_slow_call mkdir "$TMPDIR/ipclab-*" $prog $args
        assert_equal "$status" 143
        left=$(find "$TMPDIR" -mindepth 1)
        [[ -z $left ]] || fail "$prog, SIGTERM in mkdir: left $left"
        with_slow_call mknodat "$TMPDIR/ipclab-*/*" $prog $args
        assert_equal "$status" 143
        left=$(find "$TMPDIR" -mindepth 1)
        [[ -z $left ]] || fail "$prog, SIGTERM in mkfifo: left $left"
    done <<EOF_PROGRAMS
$server --clients 0 --idle-ms 60000
$rendezvous --no-partner --timeout-ms 60000
$client --timeout-ms 60000 $BATS_TEST_TMPDIR/no-server
EOF_PROGRAMS
}

@test "fifo_server: SIGTERM or SIGINT mid-run removes the FIFO and its directory" {
    local sig fifo
    for sig in TERM INT; do
        start_background $server --clients 0 --idle-ms 60000
        wait_for_output "listening on"
        fifo=$(sed -n 's/^fifo_server: listening on //p' "$BATS_TEST_TMPDIR/out")
        assert_equal "$(stat -c '%F %a' "$fifo")" "fifo 600"
        finish_background $sig
        assert_equal "$status" $((128 + $(kill -l $sig)))
        [[ ! -e $fifo && ! -e $(dirname "$fifo") ]] || fail "left behind: $fifo"
    done
}

@test "fifo_server, fifo_client: bad arguments are refused with exit status 2" {
    run_program $server --clients 21
    assert_usage_error "--clients: '21' is not a whole number from 0 to 20"
    run_program $server --each 0
    assert_usage_error "--each: '0' is not a whole number from 1 to 1000"
    run_program $client
    assert_usage_error "expected SERVER_FIFO"
    run_program $client --requests 0 x
    assert_usage_error "--requests: '0' is not a whole number from 1 to 100000"
}

# --- pipe_buf_atomicity -----------------------------------------------------

@test "pipe_buf_atomicity: records of at most PIPE_BUF bytes never tear" {
    local pipe_buf size
    run_program $atomicity --records 1
    pipe_buf=$(result_field pipe_buf)
    ((pipe_buf >= 512)) || fail "PIPE_BUF $pipe_buf"
    for size in 1 100 512 "$pipe_buf"; do
        run_program $atomicity --writers 8 --records 500 --size "$size"
        assert_success
        refute_output --partial "damaged"
        assert_equal "$(result_field torn)" 0
        assert_equal "$(result_field intact)" 4000
        assert_equal "$(result_field size)" "$size"
    done
}

@test "pipe_buf_atomicity: records larger than PIPE_BUF tear when the writers share one CPU" {
    # Pinned, each writer fills the pipe and sleeps mid-record while the
    # next one writes: records of twice the pipe's capacity tear (make race
    # runs the same configuration many times).
    run_program $atomicity --writers 4 --records 20 --size 131072 --pin
    assert_success
    refute_output --partial "damaged"
    local torn
    torn=$(result_field torn)
    ((torn >= 20)) || fail "only $torn of 80 records torn: $output"
}

@test "pipe_buf_atomicity: too much work for one run is refused with a usage error" {
    run_program $atomicity --records 100000
    assert_usage_error "--writers x --records x --size is 1638400000 bytes; at most 67108864 (64 MiB) per run"
    run_program $atomicity --writers 26 --records 1000000 --size 4194304
    assert_usage_error "at most 67108864 (64 MiB) per run"
    run_program $atomicity --read-size 1
    assert_usage_error "--read-size 1: 16384000 bytes take 16384000 reads; at most 1048576 per run"
    # The largest run accepted finishes in seconds, not minutes.
    IPCLAB_TIMEOUT=15 run_program $atomicity --records 4096
    assert_success
    assert_equal "$(result_field intact)" 16384
}

@test "pipe_buf_atomicity: the checker counts torn records exactly (--check on a made-up stream)" {
    local stream expected
    while read -r stream expected; do
        run bash -c "printf '%s' '$stream' | '$(program $atomicity)' --check --size 4"
        assert_success
        assert_equal "$(result_field intact)/$(result_field torn)" "$expected"
        # The writers are the letters the stream holds, not an option's value.
        assert_equal "$(result_field writers)" "$(printf '%s' "$stream" | fold -w1 | sort -u | wc -l)"
    done <<'EOF_STREAMS'
AAAABBBB 2/0
AABBBBAA 1/1
AABBAABB 0/2
ABABABAB 0/2
AAAAAAAABBBBCCCC 4/0
CCAAAACC 1/1
EOF_STREAMS
    run bash -c "printf 'AAAAB' | '$(program $atomicity)' --check --size 4"
    assert_output --partial "the stream is damaged: 0 stray bytes, 1 in unfinished records"
}

@test "pipe_buf_atomicity: SIGTERM mid-run leaves no writer behind" {
    # A million small reads: a couple of seconds, long enough to land in.
    start_background $atomicity --records 4096 --size 4096 --read-size 64
    wait_for_output "into one pipe"
    finish_background TERM
    assert_equal "$status" 143
}

@test "pipe_buf_atomicity: bad arguments are refused with exit status 2" {
    run_program $atomicity --writers 1
    assert_usage_error "--writers: '1' is not a whole number from 2 to 26"
    run_program $atomicity --writers 27
    assert_usage_error "--writers: '27' is not a whole number from 2 to 26"
    run_program $atomicity --size 0
    assert_usage_error "--size: '0' is not a whole number from 1 to 4194304"
}

# --- fifo_lines: text lines from a FIFO, whoever writes them ---------------

lines_prog=02-fifo/fifo_lines

# fifo_lines_path: the FIFO the background fifo_lines announced.
fifo_lines_path() { sed -n 's/^ready: write lines to //p' "$BATS_TEST_TMPDIR/out"; }

@test "fifo_lines: a line in pieces comes out whole, two writers' pieces join, the last line has no newline" {
    local fifo
    start_background $lines_prog --timeout-ms 10000
    wait_for_output "ready: write lines to "
    fifo=$(fifo_lines_path)
    [[ -p $fifo ]] || fail "no FIFO at '$fifo'"
    # One writer keeps the FIFO open while another writes: a line split
    # across two writes, two lines in one, and no newline at the very end.
    {
        printf 'first li'
        printf 'ne\nsecond\nthi'
        printf 'rd\n' > "$fifo"           # a second writer, in between
        printf 'last'
    } > "$fifo"
    finish_background
    assert_equal "$status" 0
    assert_equal "${lines[1]}" "line 1: first line"
    assert_equal "${lines[2]}" "line 2: second"
    # Bytes, not lines: the other writer's "rd" finished our "thi".
    assert_equal "${lines[3]}" "line 3: third"
    assert_equal "${lines[4]}" "line 4: last (no newline at the end)"
    assert_equal "${lines[5]}" "4 lines; every writer has closed the FIFO"
    [[ ! -e $fifo ]] || fail "the FIFO is still there"
}

@test "fifo_lines --fifo: reads a FIFO someone else made and leaves it; a file is not a FIFO" {
    local fifo=$BATS_TEST_TMPDIR/made-by-php
    mkfifo -m 600 "$fifo"
    start_background $lines_prog --fifo "$fifo" --count 1
    wait_for_output "ready: write lines to $fifo"
    # fifo_lines closes after its one line: if this write comes in two
    # pieces, the second may meet no reader (SIGPIPE, EPIPE).  What it read
    # counts.  The write runs in a subshell that ignores SIGPIPE: printf is
    # a builtin, and the signal would otherwise kill the test's own shell.
    (trap '' PIPE; printf 'hello\nnot read\n' > "$fifo") 2>/dev/null || true
    finish_background
    assert_equal "$status" 0
    assert_equal "${lines[1]}" "line 1: hello"
    assert_equal "${lines[2]}" "1 line read, as --count asked"
    [[ -p $fifo ]] || fail "fifo_lines removed a FIFO it did not make"
    rm "$fifo"
    touch "$BATS_TEST_TMPDIR/plain"
    run_program $lines_prog --fifo "$BATS_TEST_TMPDIR/plain"
    assert_failure 1
    assert_equal "$stderr" "fifo_lines: $BATS_TEST_TMPDIR/plain is not a FIFO"
}

@test "fifo_lines: with no writer it gives up after --timeout-ms, not before, and removes its FIFO" {
    local t0=$EPOCHREALTIME ms
    run_program $lines_prog --timeout-ms 300
    ms=$(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 ))
    assert_failure 1
    assert_equal "$stderr" "fifo_lines: nothing came for 300 ms (0 lines so far)"
    ((ms >= 300)) || fail "gave up after $ms ms"
    run_program $lines_prog --timeout-ms 0
    assert_usage_error "--timeout-ms: '0' is not a whole number from 1 to 600000"
}
