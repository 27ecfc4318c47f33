#!/usr/bin/env bats
# Chapter 03: System V and POSIX message queues (chapters/03-message-queues).
# Each test checks what a program prints against what the kernel must do;
# the leak guard (teardown) checks that no queue, key file or process is
# left, also after the SIGINT/SIGTERM tests.

load '../helpers/ipclab'

ch=03-message-queues

# wait_for_line FILE PATTERN [SECONDS]: waits until a line of FILE matches
# the extended regular expression PATTERN (a background program's output).
wait_for_line() {
    local deadline=$((SECONDS + ${3:-5}))
    until grep -qE -- "$2" "$1" 2>/dev/null; do
        ((SECONDS < deadline)) || { echo "no line /$2/ in $1:" >&2; cat "$1" >&2; return 1; }
        sleep 0.01
    done
}

# queue_exists ID: a System V queue with this id exists (ipcs -q -i exits 0
# either way, so read the table).
queue_exists() { ipcs -q | awk -v id="$1" '$2 == id { found = 1 } END { exit !found }'; }

# The "order:" line of msg_types.
order() { sed -n 's/^order: //p' <<<"$output"; }

# --- msg_types -------------------------------------------------------------------

@test "msg_types: four messages go in with types 1, 2, 3, 1" {
    run_program $ch/msg_types
    assert_success
    assert_line --index 0 "sent #1 type=1"
    assert_line --index 1 "sent #2 type=2"
    assert_line --index 2 "sent #3 type=3"
    assert_line --index 3 "sent #4 type=1"
}

@test "msg_types: by type, the two type-1 messages come out together, then 2, then 3" {
    run_program $ch/msg_types --receive by-type
    assert_success
    assert_equal "$(order)" "#1 #4 #2 #3"
    # Together: the second type-1 message comes right after the first, by the
    # same msgtyp 1 call loop, before anything of type 2.
    assert_equal "$(grep -A3 '^msgrcv(msgtyp 1,' <<<"$output" | sed -n 2,4p)" \
"  received #1 type=1
  received #4 type=1
  ENOMSG: nothing left that msgtyp 1 selects"
    assert_line "  received #2 type=2"
    assert_line "  received #3 type=3"
    assert_line "left on the queue: 0 messages"
}

@test "msg_types: msgtyp 0 gives arrival order" {
    run_program $ch/msg_types --receive arrival
    assert_success
    assert_equal "$(order)" "#1 #2 #3 #4"
    assert_line "msgrcv(msgtyp 0, IPC_NOWAIT):"
}

@test "msg_types: a negative msgtyp gives the lowest type first, in one receive loop" {
    run_program $ch/msg_types --receive lowest
    assert_success
    assert_equal "$(order)" "#1 #4 #2 #3"
    assert_equal "$(grep -c '^msgrcv' <<<"$output")" 1
    assert_line "msgrcv(msgtyp -3, IPC_NOWAIT):"
}

@test "msg_types: IPC_NOWAIT on an empty queue fails with ENOMSG instead of waiting" {
    local how
    for how in by-type arrival lowest; do
        run_program $ch/msg_types --receive $how
        assert_success
        # The last receive ran on the empty queue.
        assert_equal "$(grep -E '^  ENOMSG' <<<"$output" | tail -n 1 | cut -c1-8)" "  ENOMSG"
        assert_line "left on the queue: 0 messages"
    done
}

# --- msg_full --------------------------------------------------------------------

@test "msg_full: IPC_STAT counts messages and bytes; the default limit is msgmnb" {
    run_program $ch/msg_full
    assert_success
    assert_line --index 0 "new queue: msg_qbytes=$(cat /proc/sys/kernel/msgmnb) (the default limit)"
    assert_line --index 1 "lowered with IPC_SET: msg_qnum=0 msg_cbytes=0 msg_qbytes=256"
    local k
    for k in 1 2 3 4; do
        assert_line --index $((k + 1)) \
            "send #$k (64 bytes, IPC_NOWAIT): ok, msg_qnum=$k msg_cbytes=$((64 * k)) msg_qbytes=256"
    done
}

@test "msg_full: a full queue with IPC_NOWAIT answers EAGAIN" {
    run_program $ch/msg_full
    assert_success
    assert_line --index 6 "send #5 (IPC_NOWAIT): EAGAIN: the queue is full, 4 messages, 256 of 256 bytes"
    assert_equal "${#lines[@]}" 7
    run_program $ch/msg_full --limit 1000 --size 100
    assert_success
    assert_line "send #11 (IPC_NOWAIT): EAGAIN: the queue is full, 10 messages, 1000 of 1000 bytes"
}

@test "msg_full: a blocking send on a full queue returns only after a reader made room" {
    run_program $ch/msg_full --block --delay-ms 50
    assert_success
    assert_line --index 7 "send #5 (blocking): waits for room..."
    assert_line --index 8 --regexp '^reader \(pid [0-9]+\): takes one message after 50 ms$'
    assert_line --index 9 --regexp '^send #5 returned after [0-9]+ ms: msg_qnum=4 msg_cbytes=256 msg_qbytes=256$'
}

@test "msg_full: a message larger than the limit is refused as a usage error" {
    run_program $ch/msg_full --limit 100 --size 200
    assert_usage_error "--size 200 is larger than --limit 100"
}

# --- msg_toobig ------------------------------------------------------------------

@test "msg_toobig: E2BIG leaves the message queued; MSG_NOERROR delivers it cut short" {
    run_program $ch/msg_toobig
    assert_success
    assert_equal "$output" \
'sent one message of 40 bytes; still queued: 1 message, 40 bytes
msgrcv(16-byte buffer): E2BIG; still queued: 1 message, 40 bytes
msgrcv(16-byte buffer, MSG_NOERROR): 16 bytes "ABCDEFGHIJKLMNOP"; still queued: 0 messages, 0 bytes'
    run_program $ch/msg_toobig --size 100 --buffer 30
    assert_success
    assert_line 'msgrcv(30-byte buffer, MSG_NOERROR): 30 bytes "ABCDEFGHIJKLMNOPQRSTUVWXYZABCD"; still queued: 0 messages, 0 bytes'
    run_program $ch/msg_toobig --size 10 --buffer 10
    assert_usage_error "--buffer 10 must be smaller than --size 10"
}

# --- msg_children ----------------------------------------------------------------

@test "msg_children: five children each send one message to the parent" {
    run_program $ch/msg_children
    assert_success
    assert_line --index 0 "5 children send one message each, typed with their pid"
    local got
    got=$(sed -nE 's/^msgtyp 0: type=[0-9]+ \(child ([0-9]+)\) "hello from child ([0-9]+)"$/\1 \2/p' <<<"$output" | sort -n)
    assert_equal "$got" "1 1
2 2
3 3
4 4
5 5"
    assert_line --index 6 "received 5 messages from 5 children, each once; every child exited 0"
}

@test "msg_children: with msgtyp = a child's pid the parent takes them child by child" {
    run_program $ch/msg_children --in-order --children 8
    assert_success
    local i line
    for i in 1 2 3 4 5 6 7 8; do
        line=${lines[$i]}
        [[ $line =~ ^msgtyp\ ([0-9]+):\ type=([0-9]+)\ \(child\ $i\)\ \"hello\ from\ child\ $i\"$ ]] ||
            fail "line $i: $line"
        assert_equal "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    done
    assert_line "received 8 messages from 8 children, each once; every child exited 0"
}

# --- msg_recv and msg_send -----------------------------------------------------

@test "msg_send and msg_recv meet through ftok on a path and project id given on the command line" {
    local key=$BATS_TEST_TMPDIR/keyfile out=$BATS_TEST_TMPDIR/recv.out rc=0
    touch "$key"
    "$(program $ch/msg_recv)" --count 3 --timeout-ms 10000 "$key" 42 > "$out" 2>&1 &
    local pid=$!
    wait_for_line "$out" '^send to it with: '
    assert_equal "$(sed -n 2p "$out")" "send to it with: msg_send $key 42 TEXT..."
    run_program $ch/msg_send "$key" 42 one two
    assert_success
    assert_output $'sent type=1 "one"\nsent type=1 "two"'
    run_program $ch/msg_send --type 7 "$key" 42 three
    assert_success
    wait $pid || rc=$?
    assert_equal "$rc" 0
    run cat "$out"
    assert_line --index 0 --regexp "^queue id [0-9]+, key 0x[0-9a-f]{8} from ftok\(\"$key\", 42\)$"
    assert_line --index 2 'received type=1 "one"'
    assert_line --index 3 'received type=1 "two"'
    assert_line --index 4 'received type=7 "three"'
    assert_line --index 5 'received 3 messages; removing the queue'
    # The receiver owned the queue and removed it: a sender now finds nothing,
    # and the user's key file is still there.
    run_program $ch/msg_send "$key" 42 late
    assert_failure 1
    [[ ${stderr_lines[0]} == "msg_send: msgget key 0x"*" (ftok $key 42): ENOENT"* ]] || fail "$stderr"
    [[ -f $key ]] || fail "the receiver removed the user's key file"
}

@test "msg_recv: by default it makes a private key file and prints the sender's command" {
    local out=$BATS_TEST_TMPDIR/recv.out rc=0
    "$(program $ch/msg_recv)" --count 1 --timeout-ms 10000 > "$out" 2>&1 &
    local pid=$!
    wait_for_line "$out" '^send to it with: '
    local path proj
    read -r path proj < <(sed -n 's/^send to it with: msg_send \([^ ]*\) \([0-9]*\) TEXT\.\.\.$/\1 \2/p' "$out")
    [[ $path == "$TMPDIR"/ipclab-key-*/key && -f $path ]] || fail "key file '$path'"
    run_program $ch/msg_send "$path" "$proj" "private hello"
    assert_success
    wait $pid || rc=$?
    assert_equal "$rc" 0
    grep -qx 'received type=1 "private hello"' "$out" || fail "$(cat "$out")"
    # The key file and its directory went with the receiver.
    [[ ! -e $path && ! -e ${path%/key} ]] || fail "key file left: $path"
}

@test "msg_recv: a receive is bounded: with no sender it stops after --timeout-ms" {
    run_program $ch/msg_recv --timeout-ms 50
    assert_success
    assert_line "no message for 50 ms: stopping"
    assert_line "received 0 messages; removing the queue"
    # Waiting for a number of messages that never come is a failure.
    run_program $ch/msg_recv --count 2 --timeout-ms 50
    assert_failure 1
    assert_equal "${stderr_lines[0]}" "msg_recv: no message for 50 ms: received 0 of 2"
}

@test "msg_recv: msgtyp selects which messages it takes" {
    local key=$BATS_TEST_TMPDIR/keyfile out=$BATS_TEST_TMPDIR/recv.out rc=0
    touch "$key"
    "$(program $ch/msg_recv)" --type 2 --count 1 --timeout-ms 10000 "$key" 9 > "$out" 2>&1 &
    local pid=$!
    wait_for_line "$out" '^send to it with: '
    run_program $ch/msg_send --type 1 "$key" 9 skipped
    assert_success
    run_program $ch/msg_send --type 2 "$key" 9 taken
    assert_success
    wait $pid || rc=$?
    assert_equal "$rc" 0
    run cat "$out"
    assert_line 'received type=2 "taken"'
    refute_line --partial 'skipped'
}

@test "msg_recv: a second receiver on the same key is refused with EEXIST, not silently shared" {
    local key=$BATS_TEST_TMPDIR/keyfile out=$BATS_TEST_TMPDIR/recv.out rc=0
    touch "$key"
    "$(program $ch/msg_recv)" --count 1 --timeout-ms 10000 "$key" 5 > "$out" 2>&1 &
    local pid=$!
    wait_for_line "$out" '^send to it with: '
    run_program $ch/msg_recv "$key" 5
    assert_failure 1
    [[ ${stderr_lines[0]} == "msg_recv: msgget key 0x"*": EEXIST"* ]] || fail "$stderr"
    run_program $ch/msg_send "$key" 5 bye
    assert_success
    wait $pid || rc=$?
    assert_equal "$rc" 0
}

@test "msg_send: with no receiver, msgget fails with ENOENT and nothing is created" {
    local key=$BATS_TEST_TMPDIR/keyfile
    touch "$key"
    run_program $ch/msg_send "$key" 3 hello
    assert_failure 1
    assert_equal "$output" ""
    [[ ${stderr_lines[0]} == "msg_send: msgget key 0x"*": ENOENT (No such file or directory)" ]] || fail "$stderr"
    run_program $ch/msg_send "$BATS_TEST_TMPDIR/missing" 3 hello
    assert_failure 1
    [[ ${stderr_lines[0]} == "msg_send: ftok $BATS_TEST_TMPDIR/missing: ENOENT"* ]] || fail "$stderr"
}

@test "msg_send: a sender waiting on a full queue learns when the receiver removes the queue" {
    local key=$BATS_TEST_TMPDIR/keyfile out=$BATS_TEST_TMPDIR/recv.out send_out=$BATS_TEST_TMPDIR/send.out
    touch "$key"
    # The receiver only takes type 99, so the sender's type-1 messages fill
    # the queue (msgmnb bytes) and the sender blocks.
    "$(program $ch/msg_recv)" --type 99 --count 1 --timeout-ms 10000 "$key" 11 > "$out" 2>&1 &
    local recv=$!
    wait_for_line "$out" '^send to it with: '
    local text texts=() n=$(( $(cat /proc/sys/kernel/msgmnb) / 512 + 4 ))
    text=$(printf '%512s' '' | tr ' ' x)
    for ((i = 0; i < n; i++)); do texts+=("$text"); done
    "$(program $ch/msg_send)" --timeout-ms 10000 "$key" 11 "${texts[@]}" > "$send_out" 2> "$send_out.err" &
    local send=$!
    # Wait until the queue is full: msgmnb / 512 messages sent, no more.
    local full=$(( $(cat /proc/sys/kernel/msgmnb) / 512 ))
    local deadline=$((SECONDS + 5))
    until (( $(wc -l < "$send_out") >= full )); do
        ((SECONDS < deadline)) || fail "the sender sent only $(wc -l < "$send_out")"
        sleep 0.01
    done
    kill -TERM $recv
    local rc=0
    wait $recv || rc=$?
    assert_equal "$rc" $((128 + 15))
    rc=0
    wait $send || rc=$?
    assert_equal "$rc" 1
    assert_equal "$(wc -l < "$send_out")" "$full"
    run cat "$send_out.err"
    # EIDRM if the queue went while msgsnd() waited; EINVAL in the rare case
    # that it went between two of the sender's timed waits.
    assert_output --regexp '^msg_send: msgsnd: the receiver removed the queue: (EIDRM \(Identifier removed\)|EINVAL \(Invalid argument\))$'
}

# --- POSIX queues ------------------------------------------------------------------

@test "mq_prio: the highest priority comes first, equal priorities in sending order" {
    run_program $ch/mq_prio
    assert_success
    assert_equal "$(sed -n 's/^received //p' <<<"$output")" \
'priority 9 "urgent A"
priority 9 "urgent B"
priority 5 "normal"
priority 1 "low"
priority 0 "lowest"'
}

@test "mq_prio: a buffer smaller than mq_msgsize fails with EMSGSIZE" {
    run_program $ch/mq_prio
    assert_success
    assert_line "mq_receive into 63 bytes, mq_msgsize is 64: EMSGSIZE"
}

@test "mq_prio: mq_timedreceive on the empty queue gives up with ETIMEDOUT" {
    run_program $ch/mq_prio --timeout-ms 30
    assert_success
    assert_line --index 11 "mq_timedreceive: ETIMEDOUT after 30 ms: the queue is empty"
    assert_equal "${#lines[@]}" 12
}

@test "mq_poll: poll() wakes for the queue descriptor and for the pipe" {
    run_program $ch/mq_poll --count 6 --interval-ms 5
    assert_success
    assert_equal "$(sed -n 's/^poll: queue readable: "\(.*\)" (priority 0)$/\1/p' <<<"$output")" \
        "$(printf 'job %d\n' 1 2 3 4 5 6)"
    assert_equal "$(sed -n 's/^poll: pipe readable: "\(.*\)"$/\1/p' <<<"$output")" \
        "$(printf 'log %d\n' 1 2 3 4 5 6)"
    assert_line --index 12 "received 6 jobs from the queue and 6 lines from the pipe"
}

@test "mq_poll: the queue is a name under /dev/mqueue while it runs" {
    [[ -d /dev/mqueue ]] && grep -qs ' /dev/mqueue mqueue ' /proc/mounts || skip "/dev/mqueue is not mounted"
    local out=$BATS_TEST_TMPDIR/out
    "$(program $ch/mq_poll)" --count 100 --interval-ms 10 > "$out" 2>&1 &
    local pid=$!
    wait_for_line "$out" '^poll: queue readable'
    local names
    names=$(find /dev/mqueue -name "$IPCLAB_PREFIX-poll-*")
    [[ -n $names ]] || fail "no queue named $IPCLAB_PREFIX-poll-* in /dev/mqueue"
    assert_equal "$(stat -c %a $names)" 600
    kill -TERM $pid
    wait $pid || true
    [[ -z $(find /dev/mqueue -name "$IPCLAB_PREFIX-poll-*") ]] || fail "queue left after SIGTERM"
}

# --- arguments ---------------------------------------------------------------------

@test "bad arguments are refused with exit status 2" {
    run_program $ch/msg_types --receive newest
    assert_usage_error "--receive: 'newest' is not one of the choices"
    run_program $ch/msg_full --limit 0
    assert_usage_error "--limit: '0' is not a whole number from 1 to 16384"
    run_program $ch/msg_full --size 12abc
    assert_usage_error "--size: '12abc' is not a whole number"
    run_program $ch/msg_children --children 65
    assert_usage_error "--children: '65' is not a whole number from 1 to 64"
    run_program $ch/msg_recv only-a-path
    assert_usage_error "expected PATH and PROJ_ID together, or neither"
    run_program $ch/msg_recv "$BATS_TEST_TMPDIR" 0
    assert_usage_error "PROJ_ID: '0' is not a whole number from 1 to 255"
    run_program $ch/msg_recv "$BATS_TEST_TMPDIR" 256
    assert_usage_error "PROJ_ID: '256' is not a whole number from 1 to 255"
    run_program $ch/msg_send "$BATS_TEST_TMPDIR"
    assert_usage_error "expected PATH PROJ_ID [TEXT]..."
    run_program $ch/msg_send "$BATS_TEST_TMPDIR" x1
    assert_usage_error "PROJ_ID: 'x1' is not a whole number"
    run_program $ch/msg_send "$BATS_TEST_TMPDIR" 1 "$(printf '%513s' '')"
    assert_usage_error "TEXT 1 is longer than 512 bytes"
    run_program $ch/mq_prio --timeout-ms -1
    assert_usage_error "--timeout-ms: '-1' is not a whole number"
    run_program $ch/mq_poll --count
    assert_usage_error "--count needs a value"
    run_program $ch/msg_toobig stray
    assert_usage_error "unexpected argument 'stray'"
}

# --- nothing left behind -------------------------------------------------------------

# start_and_signal SIG FILE PATTERN PROGRAM ARG...: starts PROGRAM in the
# background, waits for PATTERN in its output, sends SIG, and checks that it
# died of SIG.  Leaves its output in FILE.
start_and_signal() {
    local sig=$1 out=$2 pattern=$3 path
    path=$(program "$4") || return 1
    shift 4
    : > "$out"             # or the wait below could read an earlier run's output
    env --default-signal=INT "$path" "$@" > "$out" 2>&1 &
    local pid=$! rc=0
    wait_for_line "$out" "$pattern" || { kill -KILL $pid; return 1; }
    kill -$sig $pid
    wait $pid || rc=$?
    assert_equal "$rc" $((128 + $(kill -l $sig)))
}

@test "msg_recv: SIGINT or SIGTERM while it waits removes the queue and the key file" {
    local sig out=$BATS_TEST_TMPDIR/out id
    for sig in INT TERM; do
        start_and_signal $sig "$out" '^send to it with' $ch/msg_recv --timeout-ms 60000
        id=$(sed -n 's/^queue id \([0-9]*\),.*/\1/p' "$out")
        [[ -n $id ]] || fail "no queue id: $(cat "$out")"
        ! queue_exists "$id" || fail "queue $id left after SIG$sig"
    done
}

@test "msg_recv: the queue exists while it waits (the test above is not vacuous)" {
    local out=$BATS_TEST_TMPDIR/out id
    "$(program $ch/msg_recv)" --timeout-ms 60000 > "$out" 2>&1 &
    local pid=$!
    wait_for_line "$out" '^send to it with'
    id=$(sed -n 's/^queue id \([0-9]*\),.*/\1/p' "$out")
    queue_exists "$id" || fail "queue $id does not exist while msg_recv runs"
    kill -TERM $pid
    wait $pid || true
    ! queue_exists "$id" || fail "queue $id left after SIGTERM"
}

@test "msg_full --block: SIGINT or SIGTERM while the sender is blocked removes the queue and the reader" {
    local sig out=$BATS_TEST_TMPDIR/out
    for sig in INT TERM; do
        start_and_signal $sig "$out" 'waits for room' $ch/msg_full --block --delay-ms 10000 --timeout-ms 60000
    done
}

@test "mq_poll: SIGINT or SIGTERM mid-run unlinks the queue and stops both children" {
    local sig out=$BATS_TEST_TMPDIR/out
    for sig in INT TERM; do
        start_and_signal $sig "$out" '^poll: queue readable' $ch/mq_poll --count 1000 --interval-ms 10
    done
}
