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

# elapsed_ms T0: milliseconds since T0, a value of $EPOCHREALTIME.
elapsed_ms() {
    local now=$EPOCHREALTIME
    echo $(( (${now/./} - ${1/./}) / 1000 ))
}

# The "order:" line of msg_types.
order() { sed -n 's/^order: //p' <<<"$output"; }

# --- msg_types -------------------------------------------------------------------

@test "msg_types: every message comes out with the type it was sent with" {
    run_program $ch/msg_types --receive arrival
    assert_success
    # The "received" pairs come from the kernel (mtext and mtype of each
    # msgrcv), the "sent" pairs from the program's table.
    local sent received
    sent=$(sed -n 's/^sent \(#[0-9]\) type=\([0-9]*\)$/\1 \2/p' <<<"$output" | sort)
    received=$(sed -n 's/^  received \(#[0-9]\) type=\([0-9]*\)$/\1 \2/p' <<<"$output" | sort)
    assert_equal "$(wc -l <<<"$sent")" 4
    assert_equal "$received" "$sent"
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
    assert_line --index 3 'received type=1 "one"'
    assert_line --index 4 'received type=1 "two"'
    assert_line --index 5 'received type=7 "three"'
    assert_line --index 6 'received 3 messages; removing the queue'
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

@test "msg_recv: a receive is bounded: with no sender it stops after --timeout-ms, not before" {
    local t0=$EPOCHREALTIME
    run_program $ch/msg_recv --timeout-ms 400
    local ms=$(elapsed_ms "$t0")
    assert_success
    assert_line "no message for 400 ms: stopping"
    assert_line "received 0 messages; removing the queue"
    (( ms >= 400 )) || fail "stopped after $ms ms, before its 400 ms timeout"
    (( ms < 400 + 5000 )) || fail "took $ms ms for a 400 ms timeout"
    # Waiting for a number of messages that never come is a failure.
    t0=$EPOCHREALTIME
    run_program $ch/msg_recv --count 2 --timeout-ms 300
    ms=$(elapsed_ms "$t0")
    assert_failure 1
    assert_equal "${stderr_lines[0]}" "msg_recv: no message for 300 ms: received 0 of 2"
    (( ms >= 300 )) || fail "gave up after $ms ms, before its 300 ms timeout"
}

@test "msg_recv: a message longer than 512 bytes arrives whole and the queue keeps the rest" {
    local key=$BATS_TEST_TMPDIR/keyfile out=$BATS_TEST_TMPDIR/recv.out rc=0 max
    max=$(cat /proc/sys/kernel/msgmax)
    touch "$key"
    "$(program $ch/msg_recv)" --count 3 --timeout-ms 10000 "$key" 12 > "$out" 2>&1 &
    local pid=$!
    wait_for_line "$out" '^ready: '
    local long
    long=$(head -c "$max" /dev/zero | tr '\0' y)
    run_program $ch/msg_send "$key" 12 first "$long" last
    assert_success
    wait $pid || rc=$?
    assert_equal "$rc" 0
    run cat "$out"
    assert_line 'received type=1 "first"'
    assert_line "received type=1 \"$long\" ($max bytes)"
    assert_line 'received type=1 "last"'
    assert_line 'received 3 messages; removing the queue'
    # Longer than msgmax: the sender refuses it before sending anything.
    run_program $ch/msg_send "$key" 12 "${long}y"
    assert_usage_error "TEXT 1 is longer than msgmax, $max bytes"
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
    local id
    id=$(sed -n 's/^queue id \([0-9]*\),.*/\1/p' "$out")
    run_program $ch/msg_recv "$key" 5
    assert_failure 1
    [[ ${stderr_lines[0]} == "msg_recv: msgget key 0x"*": EEXIST"* ]] || fail "$stderr"
    assert_equal "${stderr_lines[1]}" "msg_recv: the key is taken by queue id $id, owner uid $(id -u), mode 0600; if it is left from a receiver"
    assert_equal "${stderr_lines[2]}" "that was killed (kill -9), remove it with: ipcrm -q $id"
    run_program $ch/msg_send "$key" 5 bye
    assert_success
    wait $pid || rc=$?
    assert_equal "$rc" 0
}

@test "msg_recv without arguments waits long enough to paste the command it prints" {
    # Stopped by timeout(1) after 2 s: it was still waiting (30 s by default).
    run --separate-stderr timeout 2 "$(program $ch/msg_recv)"
    assert_equal "$status" 124
    assert_line --index 1 --regexp '^send to it with: msg_send .*/ipclab-key-[^/]*/key 1 TEXT\.\.\.$'
    assert_line --index 2 --regexp '^ready: waiting up to 30000 ms for each message of up to [0-9]+ bytes$'
}

@test "README: msg_recv in the background and msg_send at once meet every time" {
    # As pasted from the README: no wait between the two commands; msg_send
    # looks for the queue again until --wait-ms.
    local i rc
    cd "$BATS_TEST_TMPDIR"
    touch mykey
    for i in 1 2 3 4 5; do
        "$(program $ch/msg_recv)" --count 2 mykey 7 > recv.out 2>&1 &
        run_program $ch/msg_send mykey 7 hello world
        assert_success
        rc=0
        wait $! || rc=$?
        assert_equal "$rc" 0
        run cat recv.out
        assert_line 'received type=1 "hello"'
        assert_line 'received 2 messages; removing the queue'
    done
    # The late sender of the README waits --wait-ms, then ENOENT.
    local t0=$EPOCHREALTIME
    run_program $ch/msg_send --wait-ms 300 mykey 7 late
    local ms=$(elapsed_ms "$t0")
    assert_failure 1
    [[ ${stderr_lines[0]} == "msg_send: msgget key 0x"*" (ftok mykey 7): ENOENT"* ]] || fail "$stderr"
    (( ms >= 300 )) || fail "gave up after $ms ms, before --wait-ms 300"
}

@test "msg_recv after kill -9: the next run finds the stale queue under a reused key and takes another key file" {
    # kill -9 leaves the queue (no cleanup can run) and its key file; once
    # the key file is deleted, the next key file may get the same inode, so
    # ftok gives the old key.  Try a few times until that happens.
    local round out=$BATS_TEST_TMPDIR/out out2=$BATS_TEST_TMPDIR/out2 hit=0 stale=() key oldkey id rc
    local recv
    recv=$(program $ch/msg_recv)
    for round in 1 2 3 4 5; do
        : > "$out2"        # made now: a file made after the kill could take the inode
        : > "$out"         # or the wait below could read the last round's output
        "$recv" --timeout-ms 60000 > "$out" 2>&1 &
        local pid=$!
        wait_for_line "$out" '^ready: '
        oldkey=$(sed -n 's/^queue id [0-9]*, key \(0x[0-9a-f]*\) .*/\1/p' "$out")
        stale+=("$(sed -n 's/^queue id \([0-9]*\),.*/\1/p' "$out")")
        kill -KILL $pid
        wait $pid || true
        rm -rf "$TMPDIR"/ipclab-key-*
        rc=0
        "$recv" --timeout-ms 50 > "$out2" 2>&1 || rc=$?
        run cat "$out2"
        assert_equal "$rc" 0
        assert_line "received 0 messages; removing the queue"
        key=$(sed -n 's/^queue id [0-9]*, key \(0x[0-9a-f]*\) .*/\1/p' <<<"$output")
        [[ $key != "$oldkey" ]] || fail "it shares the stale queue's key $oldkey: $output"
        if grep -q "^key $oldkey from .* is taken (queue id ${stale[-1]}, owner uid $(id -u), mode 0600, probably left by a receiver\$" <<<"$output"; then
            assert_line "killed with SIGKILL): trying another key file"
            hit=1
            break
        fi
    done
    for id in "${stale[@]}"; do ipcrm -q "$id"; done
    ((hit)) || skip "the file system never gave a new key file the old inode in 5 rounds"
}

@test "msg_send refuses a queue that is not a receiver's of ours (another owner, or open to others)" {
    command -v perl > /dev/null || skip "perl is not installed"
    local key=$BATS_TEST_TMPDIR/keyfile id
    touch "$key"
    # Someone made a queue under our key first, readable by anyone.
    id=$(perl -MIPC::SysV=ftok,IPC_CREAT,IPC_EXCL -e \
        'my $k = ftok($ARGV[0], 8) // die "ftok"; my $id = msgget($k, IPC_CREAT | IPC_EXCL | 0666) // die "msgget: $!"; print $id' "$key")
    run_program $ch/msg_send "$key" 8 secret
    local refused=("$status" "${stderr_lines[0]}" "${stderr_lines[1]}")
    # Owned by another user, mode 0600 (as root the test can give it away).
    local other=""
    if (( $(id -u) == 0 )); then
        # IPC::Msg->set is msgctl(IPC_STAT), then IPC_SET with new fields.
        perl -MIPC::Msg -e 'my $q = bless \(my $i = $ARGV[0]), "IPC::Msg"; $q->set(uid => 65534, mode => 0600) or die "set: $!"' "$id" &&
            other=yes
    fi
    if [[ -n $other ]]; then
        run_program $ch/msg_send "$key" 8 secret
        local given=("$status" "${stderr_lines[0]}")
    fi
    ipcrm -q "$id"
    assert_equal "${refused[0]}" 1
    [[ ${refused[1]} == "msg_send: refusing to send: the queue under key 0x"*" (id $id) is owned by uid $(id -u)," ]] || fail "${refused[1]}"
    assert_equal "${refused[2]}" "created by uid $(id -u), mode 0666; msg_recv makes its queue as uid $(id -u), mode 0600"
    [[ -z $other ]] || {
        assert_equal "${given[0]}" 1
        [[ ${given[1]} == *" (id $id) is owned by uid 65534," ]] || fail "${given[1]}"
    }
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

@test "mq_prio: a buffer smaller than mq_msgsize fails with EMSGSIZE and takes nothing" {
    run_program $ch/mq_prio
    assert_success
    assert_line "mq_receive into 63 bytes, mq_msgsize is 64: EMSGSIZE; still queued: 5 messages"
    assert_equal "$(grep -c '^received ' <<<"$output")" 5
}

@test "mq_prio: mq_timedreceive on the empty queue waits its timeout (a CLOCK_REALTIME deadline), then ETIMEDOUT" {
    # A deadline taken from CLOCK_MONOTONIC would lie decades in the past
    # for mq_timedreceive, which reads CLOCK_REALTIME: ETIMEDOUT at once.
    local t0=$EPOCHREALTIME
    run_program $ch/mq_prio --timeout-ms 700
    local ms=$(elapsed_ms "$t0") waited
    assert_success
    assert_line --index 11 --regexp '^mq_timedreceive: ETIMEDOUT: the queue stayed empty; the wait lasted [0-9]+ ms$'
    waited=$(sed -n 's/.*the wait lasted \([0-9]*\) ms$/\1/p' <<<"$output")
    (( waited >= 700 )) || fail "the timed receive gave up after $waited ms, before its 700 ms"
    (( waited < 700 + 5000 )) || fail "the timed receive took $waited ms for 700"
    (( ms >= 700 )) || fail "the whole run took $ms ms, less than the 700 ms wait"
    assert_equal "${#lines[@]}" 12
}

@test "mq_prio | head -1: SIGPIPE runs the cleanup, no queue is left" {
    [[ -d /dev/mqueue ]] && grep -qs ' /dev/mqueue mqueue ' /proc/mounts || skip "/dev/mqueue is not mounted"
    local first
    # head exits after the first line; the line after the 1 s wait then
    # meets a closed pipe.
    first=$("$(program $ch/mq_prio)" --timeout-ms 1000 | head -1; echo "status ${PIPESTATUS[0]}")
    assert_equal "$first" 'sent     priority 1 "low"
status 141'
    [[ -z $(find /dev/mqueue -name "$IPCLAB_PREFIX-prio-*") ]] || fail "queue left after SIGPIPE"
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
    assert_usage_error "PROJ_ID: '0' is neither a number from 1 to 255 nor one character"
    run_program $ch/msg_recv "$BATS_TEST_TMPDIR" 256
    assert_usage_error "PROJ_ID: '256' is neither a number from 1 to 255 nor one character"
    run_program $ch/msg_send "$BATS_TEST_TMPDIR"
    assert_usage_error "expected PATH PROJ_ID [TEXT]..."
    run_program $ch/msg_send "$BATS_TEST_TMPDIR" x1
    assert_usage_error "PROJ_ID: 'x1' is neither a number from 1 to 255 nor one character"
    run_program $ch/mq_poll --count 1000 --interval-ms 100
    assert_usage_error "--count 1000 x --interval-ms 100 is 100 s of sending; at most 60 s"
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

# --- a signal while the object is being created ----------------------------------

# queue_count: the System V queues in the table (this test's namespace, or
# the machine's; compared before and after, so others' queues do not matter).
queue_count() { ipcs -q | grep -c '^0x' || true; }

@test "SIGTERM while msgget or mq_open returns (slowed by strace) leaves no queue" {
    command -v strace > /dev/null || skip "strace is not installed"
    [[ -d /dev/mqueue ]] && grep -qs ' /dev/mqueue mqueue ' /proc/mounts || skip "/dev/mqueue is not mounted"
    local before prog
    before=$(queue_count)
    more_queues() { (( $(queue_count) > before )); }
    a_posix_queue() { compgen -G "/dev/mqueue/$IPCLAB_PREFIX-*" > /dev/null; }
    for prog in msg_types msg_full msg_toobig msg_children msg_recv; do
        term_during_creation 143 msgget more_queues $ch/$prog
        (( $(queue_count) == before )) || fail "$prog left its queue: $(ipcs -q)"
    done
    for prog in mq_prio mq_poll; do
        term_during_creation 143 mq_open a_posix_queue $ch/$prog
        ! a_posix_queue || fail "$prog left $(ls /dev/mqueue)"
    done
}

@test "SIGTERM while msg_recv makes its private key directory (slowed by strace) leaves nothing" {
    command -v strace > /dev/null || skip "strace is not installed"
    a_key_dir() { compgen -G "$TMPDIR/ipclab-key-*" > /dev/null; }
    term_during_creation 143 mkdir a_key_dir $ch/msg_recv
    ! a_key_dir || fail "left: $(ls -d "$TMPDIR"/ipclab-key-*)"
}

# --- send now, receive later: msg_send --create, msg_recv --attach, --mode, --php ---

# queue_mode KEY: the permission bits ipcs shows for the queue of KEY (0x...).
queue_mode() { ipcs -q | awk -v k="$1" '$1 == k { print $4 }'; }

@test "msg_send --create leaves a queue with its messages; msg_recv --attach takes them and leaves it, --remove removes it" {
    local key=$BATS_TEST_TMPDIR/keyfile id hex
    touch "$key"
    run_program $ch/msg_send --create "$key" A early
    assert_success
    [[ ${lines[0]} =~ ^created\ queue\ id\ ([0-9]+),\ key\ (0x[0-9a-f]+),\ mode\ 0600:\ it\ stays\ after\ we\ exit$ ]] || fail "${lines[0]}"
    id=${BASH_REMATCH[1]} hex=${BASH_REMATCH[2]}
    assert_equal "${lines[2]}" "left the new queue id $id for a receiver; remove it with: ipcrm -q $id"
    queue_exists "$id" || fail "the sender took its queue with it"
    assert_equal "$(queue_mode "$hex")" 600
    # A second --create finds it and adds to it; PROJ 65 is 'A'.
    run_program $ch/msg_send --create --type 2 "$key" 65 second
    assert_success
    assert_equal "${lines[1]}" "left the queue id $id for a receiver; remove it with: ipcrm -q $id"
    run_program $ch/msg_recv --attach --count 2 --timeout-ms 1000 "$key" A
    assert_success
    assert_equal "${lines[0]}" "attached to queue id $id, key $hex from ftok(\"$key\", 65)"
    assert_line 'received type=1 "early"'
    assert_line 'received type=2 "second"'
    assert_line "received 2 messages; leaving the queue"
    queue_exists "$id" || fail "--attach removed the queue"
    run_program $ch/msg_send "$key" A third
    run_program $ch/msg_recv --attach --remove --count 1 --timeout-ms 1000 "$key" A
    assert_success
    assert_line 'received type=1 "third"'
    assert_line "received 1 message; removing the queue"
    ! queue_exists "$id" || fail "--remove left the queue"
}

@test "msg_recv --attach with no queue there is ENOENT, and creates none" {
    local key=$BATS_TEST_TMPDIR/keyfile
    touch "$key"
    run_program $ch/msg_recv --attach --timeout-ms 200 "$key" A
    assert_failure 1
    [[ $stderr == "msg_recv: msgget key 0x"*" (ftok $key 65): no queue to attach to: ENOENT (No such file or directory)" ]] || fail "$stderr"
    assert_equal "$(ipcs -q | grep -c '^0x')" 0
}

@test "--mode: msg_send --create and msg_recv make the queue with the mode asked; msg_send accepts no more than its --mode" {
    local key=$BATS_TEST_TMPDIR/keyfile out=$BATS_TEST_TMPDIR/recv.out hex id
    touch "$key"
    run_program $ch/msg_send --create --mode 0640 "$key" B shared
    assert_success
    [[ ${lines[0]} =~ key\ (0x[0-9a-f]+),\ mode\ 0640: ]] || fail "${lines[0]}"
    hex=${BASH_REMATCH[1]}
    assert_equal "$(queue_mode "$hex")" 640
    # Without --mode the sender wants 0600: a queue open to the group is refused.
    run_program $ch/msg_send "$key" B hello
    assert_failure 1
    assert_equal "${stderr_lines[1]}" "created by uid $(id -u), mode 0640; msg_recv makes its queue as uid $(id -u), mode 0600"
    run_program $ch/msg_recv --attach --remove --count 1 --timeout-ms 1000 "$key" B
    assert_line 'received type=1 "shared"'
    # The receiver's own queue, mode 0660, while it waits.
    "$(program $ch/msg_recv)" --mode 660 --count 1 --timeout-ms 10000 "$key" C > "$out" 2>&1 &
    wait_for_line "$out" '^ready:'
    hex=$(sed -n 's/^queue id [0-9]*, key \(0x[0-9a-f]*\) .*/\1/p' "$out")
    assert_equal "$(queue_mode "$hex")" 660
    run_program $ch/msg_send --mode 660 "$key" C bye
    assert_success
    wait
    run_program $ch/msg_send --create --mode 0800 "$key" C x
    assert_usage_error "--mode: '0800' is not an octal mode"
    run_program $ch/msg_recv --attach --mode 600 "$key" C
    assert_usage_error "--attach needs PATH and PROJ_ID, and takes no --mode"
    run_program $ch/msg_recv --remove "$key" C
    assert_usage_error "--remove goes with --attach"
}

@test "msg_recv --php prints PHP serialize()d strings and integers as values, anything else as it is" {
    local key=$BATS_TEST_TMPDIR/keyfile
    touch "$key"
    # The bytes PHP's msg_send() puts in a message by default.
    run_program $ch/msg_send --create "$key" A 's:15:"message, type 1";' 'i:-42;' 's:9:"short";' 'raw text' 's:0:"";'
    run_program $ch/msg_recv --attach --php --count 5 --timeout-ms 1000 "$key" A
    assert_success
    assert_equal "${lines[3]}" 'received type=1 "message, type 1" (PHP serialize()d string, 15 bytes)'
    assert_equal "${lines[4]}" 'received type=1 -42 (PHP serialize()d integer)'
    assert_equal "${lines[5]}" 'received type=1 "s:9:"short";"'       # the length is wrong: not PHP's
    assert_equal "${lines[6]}" 'received type=1 "raw text"'
    assert_equal "${lines[7]}" 'received type=1 "" (PHP serialize()d string, 0 bytes)'
    # Without --php, the same bytes as they are.
    run_program $ch/msg_send "$key" A 's:5:"hello";'
    run_program $ch/msg_recv --attach --remove --count 1 --timeout-ms 1000 "$key" A
    assert_line 'received type=1 "s:5:"hello";"'
}
