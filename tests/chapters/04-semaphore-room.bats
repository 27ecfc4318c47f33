#!/usr/bin/env bats
# Chapter 04: the room a semaphore guards (chapters/04-semaphore-room).
# The many-trial proof that the room overflows without a lock and never with
# one lives in tests/race/checks.txt (make race); these tests check the
# story, the crash, the arguments and the cleanup run by run.

load '../helpers/ipclab'

room=04-semaphore-room/room

# story_of N: the lines of $output about worker N, in order.
story_of() {
    grep "^worker $1 " <<<"$output"
}

@test "room: the story, one at a time: each worker wants in, is in alone, leaves" {
    run_program $room
    assert_success
    assert_line --index 0 "3 workers, 1 visit each, room for 1, lock sysv-sem with SEM_UNDO, window 0, not pinned"
    local w
    for w in 0 1 2; do
        assert_equal "$(story_of $w)" "worker $w wants in
worker $w is in (1 inside)
worker $w left (0 inside)"
    done
    refute_output --partial "over capacity"
    assert_equal "$(result_field capacity)" 1
    assert_equal "$(result_field max_inside)" 1
    assert_equal "$(result_field over)" 0
    assert_equal "$(result_field gave_up)" 0
    assert_equal "$stderr" ""
}

@test "room: without a lock, with the window, every worker is inside at once, pinned or not" {
    local pin
    for pin in --pin ""; do
        # Unusual numbers on purpose: the window holds for any of them.
        run_program $room --lock none $pin --window 1 --visits 2 --stay-us 0 --workers 5 --capacity 3
        assert_success
        if [[ -n $pin ]]; then
            assert_line --regexp '^5 workers, 2 visits each, room for 3, lock none, window 1, all on CPU [0-9]+$'
        else
            assert_line --index 0 "5 workers, 2 visits each, room for 3, lock none, window 1, not pinned"
        fi
        # Everyone looked at an empty room and went in before anyone left.
        assert_equal "$(result_field max_inside)" 5
        assert_equal "$(result_field over)" 2
        assert_line --regexp '^worker [0-4] is in \([4-5] inside, over capacity!\)$'
        # Nobody waited for a place: there is no door.
        assert_equal "$(result_field gave_up)" 0
    done
}

@test "room: the same run with either semaphore never holds more than one" {
    local lock
    for lock in sysv-sem posix-sem; do
        run_program $room --lock $lock --pin --window 1 --visits 3
        assert_success
        [[ $(result_field max_inside) == 1 && $(result_field over) == 0 ]] || fail "$lock: $output"
        refute_output --partial "over capacity"
        # Every worker made every visit: 3 workers x 3 visits.
        assert_equal "$(grep -c ' is in (1 inside)$' <<<"$output")" 9
        assert_equal "$(grep -c ' left (0 inside)$' <<<"$output")" 9
    done
}

@test "room: a counting semaphore admits --capacity at once, never more" {
    local lock
    for lock in sysv-sem posix-sem; do
        # With the window, the first one past the door waits until the door
        # is shut, so the second takes the second place: two inside, certain.
        run_program $room --lock $lock --capacity 2 --workers 4 --visits 2 --pin --window 1
        assert_success
        [[ $(result_field capacity) == 2 && $(result_field max_inside) == 2 ]] || fail "$lock: $output"
        assert_line --regexp '^worker [0-3] is in \(2 inside\)$'
        refute_line --regexp '\([3-9] inside'
    done
}

@test "room: the POSIX semaphore is named, opened by name, and gone afterwards" {
    run_program $room --lock posix-sem --workers 2
    assert_success
    assert_line --index 0 "2 workers, 1 visit each, room for 1, lock posix-sem (named, sem_open), window 0, not pinned"
    assert_equal "$(result_field max_inside)" 1
    # The leak guard (teardown) fails the test if /dev/shm/sem.<prefix>-* is left.
}

@test "room: a worker keeps its place until it has stepped out (unpinned, no window, many visits)" {
    local lock
    for lock in sysv-sem posix-sem; do
        # Giving the place back before stepping out lets the next worker in
        # while the first is still counted: 20 of 20 such runs overfilled.
        run_program $room --lock $lock --workers 4 --capacity 2 --visits 300 --stay-us 0
        assert_success
        [[ $(result_field max_inside) == 2 && $(result_field over) == 0 ]] || fail "$lock: $(tail -n 1 <<<"$output")"
        assert_equal "$(grep -c ' left (' <<<"$output")" 1200
    done
}

@test "room: --crash with SEM_UNDO: the kernel gives the place back, the others get in" {
    run_program $room --crash --workers 3
    assert_success
    assert_line --regexp '^worker [0-2] dies in the room, holding its place$'
    local victim
    victim=$(sed -n 's/^worker \([0-9]\) dies in the room.*/\1/p' <<<"$output")
    # The two others each got in and left.
    assert_equal "$(grep -c ' is in (1 inside)$' <<<"$output")" 3
    assert_equal "$(grep -c ' left (0 inside)$' <<<"$output")" 2
    refute_line "worker $victim left (0 inside)"
    assert_line "the others got in: SEM_UNDO gave the dead worker's place back"
    refute_line --partial "exits with status"
    assert_equal "$(result_field gave_up)" 0
    assert_equal "$(result_field over)" 0
    [[ $stderr == *"worker $victim (pid "*") killed by SIGKILL"* ]] || fail "stderr: $stderr"
}

@test "room: --crash without SEM_UNDO: the others give up after the timeout, and say so" {
    local start=$SECONDS
    run_program $room --crash --no-undo --timeout-ms 200
    assert_failure 1
    assert_line --index 0 "3 workers, 1 visit each, room for 1, lock sysv-sem without SEM_UNDO, window 0, not pinned"
    assert_equal "$(grep -c 'gave up after waiting 200 ms: nobody came out$' <<<"$output")" 2
    assert_line "2 workers gave up: the dead worker's place was never given back (no SEM_UNDO)"
    assert_equal "$(result_field gave_up)" 2
    # It did not hang: far below the test's own time limit.
    (( SECONDS - start < 10 )) || fail "took $((SECONDS - start)) s"
    assert_equal "$(grep -c 'exited with status 3' <<<"$stderr")" 2
    # ...and the output says what that status means.
    assert_line "a worker that gives up exits with status 3: standard error lists them"
    assert_equal "$(grep -c 'killed by SIGKILL' <<<"$stderr")" 1
    # The semaphore, stuck at 0, is still removed: the leak guard checks.
}

@test "room: --crash with the POSIX semaphore: no undo exists, sem_timedwait gives up" {
    run_program $room --crash --lock posix-sem --workers 2 --timeout-ms 200
    assert_failure 1
    assert_line --regexp '^worker [01] gave up after waiting 200 ms: nobody came out$'
    assert_line "1 worker gave up: the dead worker's place was never given back (POSIX semaphores have no undo)"
    assert_equal "$(result_field gave_up)" 1
}

@test "room: --crash in a room for two: the lost place is gone, the other one is enough" {
    run_program $room --crash --lock posix-sem --capacity 2 --workers 3
    assert_success
    assert_line "the others got in through the 1 place left: the dead worker's is lost"
    assert_equal "$(result_field gave_up)" 0
}

@test "room: the result line is machine-readable with a time" {
    run_program $room --workers 2 --stay-us 0
    assert_success
    assert_line --regexp '^result: capacity=1 max_inside=1 over=0 gave_up=0 ms=[0-9]+\.[0-9]{3}$'
}

@test "room: bad arguments are refused with exit status 2" {
    run_program $room --workers 0
    assert_usage_error "--workers: '0' is not a whole number from 1 to 64"
    run_program $room --capacity 65
    assert_usage_error "--capacity: '65' is not a whole number from 1 to 64"
    run_program $room --visits 3x
    assert_usage_error "--visits: '3x' is not a whole number"
    run_program $room --stay-us -1
    assert_usage_error "--stay-us: '-1' is not a whole number from 0 to 1000000"
    run_program $room --timeout-ms 0
    assert_usage_error "--timeout-ms: '0' is not a whole number from 1 to 60000"
    run_program $room --lock mutex
    assert_usage_error "--lock: 'mutex' is not one of the choices"
    run_program $room --lock posix-sem --no-undo
    assert_usage_error "--no-undo applies to --lock sysv-sem only"
    run_program $room --window
    assert_usage_error "--window needs a value"
    run_program $room stray
    assert_usage_error "unexpected argument 'stray'"
    # Every accepted combination is bounded: visits, and stays in turn.
    run_program $room --visits 1000000 --stay-us 1000000
    assert_usage_error "--workers x --visits is 3000000 visits; at most 100000"
    run_program $room --workers 64 --visits 1563
    assert_usage_error "--workers x --visits is 100032 visits; at most 100000"
    run_program $room --visits 100 --stay-us 200001
    assert_usage_error "--workers x --visits x --stay-us / --capacity is 60 s of stays through the door; at most 60 s"
}

@test "room: --help describes the options" {
    run_program $room --help
    assert_success
    assert_line --index 0 --regexp '^Usage: room '
    assert_output --partial "--capacity K"
    assert_output --partial "--no-undo"
    assert_output --partial "--crash"
}

@test "room: SIGINT or SIGTERM mid-run leaves no semaphore, segment or worker behind" {
    local sig lock path
    path=$(program $room)
    for lock in sysv-sem posix-sem; do
        for sig in INT TERM; do
            # Long enough to be interrupted.  A background job starts with
            # SIGINT ignored; env gives it back the default, as a terminal's
            # Ctrl-C would find it.
            : > "$BATS_TEST_TMPDIR/out"   # or the wait below could read the last round's output
            env --default-signal=INT "$path" --lock $lock --workers 3 --visits 20000 \
                > "$BATS_TEST_TMPDIR/out" &
            local pid=$!
            # Wait until a worker is in the room.
            local deadline=$((SECONDS + 5))
            until grep -q ' is in ' "$BATS_TEST_TMPDIR/out"; do
                ((SECONDS < deadline)) || fail "nobody got in: $(cat "$BATS_TEST_TMPDIR/out")"
                sleep 0.01
            done
            kill -$sig $pid
            local rc=0
            wait $pid || rc=$?
            assert_equal "$rc" $((128 + $(kill -l $sig)))
        done
    done
    # The leak guard (teardown) checks that nothing is left.
}

@test "room: output into a closed pipe (room | head -1) leaves nothing behind" {
    local lock path
    path=$(program $room)
    for lock in sysv-sem posix-sem; do
        # head exits after one line; the next write raises SIGPIPE, whose
        # handler removes the semaphore and stops the workers.
        run bash -c "'$path' --lock $lock --workers 3 --visits 20000 | head -n 1"
        assert_success
        assert_output --regexp "^3 workers, 20000 visits each, room for 1, lock $lock"
    done
    # The leak guard (teardown) checks that no semaphore or worker is left.
}

# --- room --key: the door in a set laid out as PHP's sem_get() makes it ---

# sem_row KEY: "perms nsems" of the semaphore set of KEY (0x...), from ipcs.
sem_row() { ipcs -s | awk -v k="$1" '$1 == k { print $4, $5 }'; }

@test "room --key: makes a set of 3 semaphores as PHP does, with --mode, counts itself a user, removes it at exit" {
    local key=$BATS_TEST_TMPDIR/keyfile out=$BATS_TEST_TMPDIR/out hex id
    touch "$key"
    # The first worker dies inside without SEM_UNDO: the set stays busy
    # until the other gives up, long enough to look at it.
    start_background $room --workers 2 --crash --no-undo --timeout-ms 2000 --mode 640 --key "$key" A
    wait_for_output "dies in the room"
    [[ $(head -n 1 "$out") =~ ^door:\ semaphore\ 0\ of\ set\ ([0-9]+)\ \(key\ (0x[0-9a-f]+)\),\ made\ here\;\ 1\ user,\ 1\ free\ place$ ]] ||
        fail "$(head -n 1 "$out")"
    id=${BASH_REMATCH[1]} hex=${BASH_REMATCH[2]}
    assert_equal "$(sem_row "$hex")" "640 3"
    # semaphore 0 the door (taken), 1 the users (room's parent), 2 the setup lock (free).
    assert_equal "$(ipcs -s -i "$id" | awk '$1 ~ /^[012]$/ { printf "%s=%s ", $1, $2 }')" "0=0 1=1 2=0 "
    finish_background
    assert_equal "$status" 1
    assert_line "result: capacity=1 max_inside=1 over=0 gave_up=1 ms=$(result_field ms)"
    assert_equal "$(sem_row "$hex")" ""
}

@test "room --key: joins a set that is there, takes its places as they are, and leaves it" {
    command -v perl > /dev/null || skip "perl is not installed"
    local key=$BATS_TEST_TMPDIR/keyfile id
    touch "$key"
    # A set of 3 with one user still counted (as a PHP script that has it
    # open) and 2 free places: room must not reset the door to --capacity.
    id=$(perl -MIPC::SysV=ftok,IPC_CREAT,IPC_EXCL,SETALL -e \
        'my $k = ftok($ARGV[0], 66) // die; my $id = semget($k, 3, IPC_CREAT | IPC_EXCL | 0600) // die "semget: $!";
         semctl($id, 0, SETALL, pack("s!3", 2, 1, 0)) or die "semctl: $!"; print $id' "$key")
    run_program $room --workers 4 --capacity 1 --window 1 --key "$key" B
    local rc=$status
    local vals
    vals=$(ipcs -s -i "$id" | awk '$1 ~ /^[012]$/ { printf "%s=%s ", $1, $2 }')
    ipcrm -s "$id"
    assert_equal "$rc" 0
    assert_equal "${lines[0]}" "door: semaphore 0 of set $id (key $(printf '0x%08x' "$(perl -MIPC::SysV=ftok -e 'print ftok($ARGV[0], 66)' "$key")")), found there; 2 users, 2 free places"
    # Two places at the door: the window lets two in at once.
    assert_equal "$(result_field max_inside)" 2
    # Left as found: its places back, its user count taken back by SEM_UNDO.
    assert_equal "$vals" "0=2 1=1 2=0 "
}

@test "room --key: a set of 1 semaphore is not PHP's; PROJ goes with --key only; --key needs sysv-sem" {
    command -v perl > /dev/null || skip "perl is not installed"
    local key=$BATS_TEST_TMPDIR/keyfile id
    touch "$key"
    id=$(perl -MIPC::SysV=ftok,IPC_CREAT,IPC_EXCL -e \
        'my $k = ftok($ARGV[0], 67) // die; print semget($k, 1, IPC_CREAT | IPC_EXCL | 0600) // die "semget: $!"' "$key")
    run_program $room --key "$key" C
    ipcrm -s "$id"
    assert_failure 1
    [[ $stderr == "room: the semaphore set of key 0x"*" has fewer than 3 semaphores: not one PHP's sem_get() made" ]] || fail "$stderr"
    run_program $room --key "$key"
    assert_usage_error "--key PATH needs PROJ after the options"
    run_program $room --lock posix-sem --key "$key" A
    assert_usage_error "--key names a System V set: --lock sysv-sem only"
    run_program $room --mode 600
    assert_usage_error "--mode applies to --key only"
    run_program $room --key "$key" AB
    assert_usage_error "PROJ: 'AB' is neither a number from 1 to 255 nor one character"
}
