#!/usr/bin/env bats
# Chapter 05: the shared-memory counter race (chapters/05-shm-counter-race).
# The many-trial proof that the race is certain without a lock and absent
# with one lives in tests/race/checks.txt (make race); these tests check the
# program's behaviour run by run.

load '../helpers/ipclab'

counter=05-shm-counter-race/shm_counter

# wait_for_children PID N: waits (5 s at most) until PID has N children.
wait_for_children() {
    local deadline=$((SECONDS + 5)) kids
    while :; do
        kids=()
        read -ra kids < "/proc/$1/task/$1/children" || :   # no newline at its end
        ((${#kids[@]} >= $2)) && return 0
        ((SECONDS < deadline)) || fail "$1 has ${#kids[@]} children, not $2"
        sleep 0.01
    done
}

@test "shm_counter: without a lock, pinned with a window, updates are lost" {
    run_program $counter --lock none --pin --window 100 --iters 10000
    assert_success
    assert_line --index 0 --regexp '^2 processes x 10000 increments, lock none, sysv shared memory, window 100, all on CPU [0-9]+$'
    assert_equal "$(result_field expected)" 20000
    (( $(result_field lost) >= 5000 )) || fail "lost only $(result_field lost): $output"
    # The verdict adds up.
    assert_equal $(( $(result_field counted) + $(result_field lost) )) 20000
}

@test "shm_counter: every lock, with both kinds of shared memory, loses nothing" {
    local lock shm
    for shm in sysv posix; do
        for lock in sysv-sem posix-sem mutex atomic; do
            run_program $counter --lock $lock --shm $shm --pin --window 100 --iters 2000 --procs 3
            assert_success
            [[ $(result_field lost) == 0 && $(result_field counted) == 6000 ]] ||
                fail "lock $lock, shm $shm: $output"
        done
    done
}

@test "shm_counter: a worker killed holding the System V semaphore: SEM_UNDO gives it back, the others go on" {
    run_program $counter --lock sysv-sem --crash --procs 3 --iters 2000 --pin --window 100
    assert_success
    assert_line "worker 0 was killed after 1000 increments, holding the semaphore;"
    assert_line "SEM_UNDO gave it back and the others finished their increments"
    # Two workers x 2000, plus the 1000 the dead one made: none lost.
    assert_equal "$(result_field expected)" 5000
    assert_equal "$(result_field counted)" 5000
    assert_equal "$(result_field lost)" 0
    [[ $stderr == *"worker 0 (pid "*") killed by SIGKILL"* ]] || fail "stderr: $stderr"
    # Without SEM_UNDO the others would wait 10 s and exit with status 3.
    [[ $stderr != *"exited with status"* ]] || fail "stderr: $stderr"
}

@test "shm_counter: the result line is machine-readable with a time" {
    run_program $counter --lock atomic --iters 100
    assert_success
    assert_line --regexp '^result: expected=200 counted=200 lost=0 ms=[0-9]+\.[0-9]{3}$'
}

@test "shm_counter: the work line times the increments inside the workers, without fork and exit" {
    run_program $counter --lock mutex --procs 2 --iters 50000
    assert_success
    assert_line --regexp '^work: ms=[0-9]+\.[0-9]{3} ns_per_increment=[0-9]+\.[0-9] \(inside the workers\)$'
    local work per total
    work=$(sed -n 's/^work: ms=\([0-9.]*\) .*/\1/p' <<<"$output")
    per=$(sed -n 's/.* ns_per_increment=\([0-9.]*\) .*/\1/p' <<<"$output")
    total=$(result_field ms)
    # Inside the run's own time, and the two numbers agree (100,000 increments).
    awk -v w="$work" -v t="$total" -v p="$per" 'BEGIN {
        exit !(w > 0 && w <= t && (p * 100000 / 1e6 - w)^2 < (w / 100 + 0.001)^2) }' ||
        fail "work ms=$work, per increment $per ns, run ms=$total"
}

@test "shm_counter: bad arguments are refused with exit status 2" {
    run_program $counter --procs 12abc
    assert_usage_error "--procs: '12abc' is not a whole number from 1 to 64"
    run_program $counter --procs 0
    assert_usage_error "--procs: '0' is not a whole number from 1 to 64"
    run_program $counter --procs -3
    assert_usage_error "--procs: '-3' is not a whole number from 1 to 64"
    run_program $counter --iters ''
    assert_usage_error "--iters: '' is not a whole number"
    run_program $counter --lock spinlock
    assert_usage_error "--lock: 'spinlock' is not one of the choices"
    run_program $counter --window
    assert_usage_error "--window needs a value"
    run_program $counter stray
    assert_usage_error "unexpected argument 'stray'"
    run_program $counter --crash --lock mutex
    assert_usage_error "--crash needs --lock sysv-sem and at least 2 --procs"
    run_program $counter --crash --lock sysv-sem --procs 1
    assert_usage_error "--crash needs --lock sysv-sem and at least 2 --procs"
    # Every accepted combination is bounded.
    run_program $counter --procs 64 --iters 100000000
    assert_usage_error "--procs x --iters is 6400000000 increments; at most 100000000 with --lock none"
    run_program $counter --lock sysv-sem --procs 2 --iters 5000001
    assert_usage_error "--procs x --iters is 10000002 increments; at most 10000000 with --lock sysv-sem"
    run_program $counter --pin --window 1 --iters 500001
    assert_usage_error "--procs x --iters / --window is 1000002 yields; at most 1000000"
}

@test "shm_counter: SIGINT or SIGTERM mid-run leaves no semaphore, segment or worker behind" {
    local sig
    for sig in INT TERM; do
        # Long enough to be interrupted: System V semaphore, many increments.
        start_background $counter --lock sysv-sem --iters 5000000 --procs 2
        wait_for_output processes      # the header, printed as the workers start
        wait_for_children $bg_pid 2    # and both workers are running
        finish_background $sig
        # Killed by the signal (re-raised after cleanup): 128 + its number.
        assert_equal "$status" $((128 + $(kill -l $sig)))
    done
    # The leak guard (teardown) checks that nothing is left.
}

# --- shm_counter --key: the counter in a segment a PHP peer can name ---

@test "shm_counter --key: a segment and a sem_get-style set made here are used under the key and removed at exit" {
    local key=$BATS_TEST_TMPDIR/keyfile
    touch "$key"
    run_program $counter --lock sysv-sem --procs 2 --iters 500 --key "$key" A
    assert_success
    assert_line "the counter in the segment went from 0 to 1000"
    assert_equal "$(result_field counted)" 1000
    refute_line --partial "joined"
    # The lock is a set laid out as PHP's sem_get() lays it out, made here.
    assert_line --regexp '^lock: semaphore 0 of the sem_get set of key 0x[0-9a-f]+ \(id [0-9]+\), made here: removed at exit; 1 user$'
    # The leak guard (teardown) checks that the segment is gone.
}

@test "shm_counter --key: joins a segment that is there, adds to what it holds, and leaves it" {
    command -v perl > /dev/null || skip "perl is not installed"
    local key=$BATS_TEST_TMPDIR/keyfile id value
    touch "$key"
    # 4096 bytes holding 5 in the first long, as a PHP shmop_open()/shmop_write() peer leaves it.
    id=$(perl -MIPC::SysV=ftok,IPC_CREAT,IPC_EXCL -e \
        'my $k = ftok($ARGV[0], 65) // die; my $id = shmget($k, 4096, IPC_CREAT | IPC_EXCL | 0600) // die "shmget: $!";
         shmwrite($id, pack("q", 5), 0, 8) or die "shmwrite: $!"; print $id' "$key")
    run_program $counter --lock sysv-sem --procs 3 --iters 100 --key "$key" 65
    value=$(perl -e 'shmread($ARGV[0], my $b, 0, 8) or die "shmread: $!"; print unpack("q", $b)' "$id")
    ipcrm -m "$id"
    assert_success
    assert_line "joined the segment of key $(printf '0x%08x' "$(perl -MIPC::SysV=ftok -e 'print ftok($ARGV[0], 65)' "$key")") (id $id): it stays when we exit"
    assert_line "the counter in the segment went from 5 to 305"
    assert_equal "$(result_field counted)" 300
    assert_equal "$value" 305
}

@test "shm_counter --key: a segment too small is refused; --key takes sysv memory and lock none or sysv-sem" {
    command -v perl > /dev/null || skip "perl is not installed"
    local key=$BATS_TEST_TMPDIR/keyfile id
    touch "$key"
    id=$(perl -MIPC::SysV=ftok,IPC_CREAT,IPC_EXCL -e \
        'my $k = ftok($ARGV[0], 66) // die; print shmget($k, 8, IPC_CREAT | IPC_EXCL | 0600) // die "shmget: $!"' "$key")
    run_program $counter --key "$key" B
    ipcrm -m "$id"
    assert_failure 1
    [[ $stderr == "shm_counter: the segment of key 0x"*" is 8 bytes; shm_counter needs "*" (4096 will do)" ]] || fail "$stderr"
    run_program $counter --lock mutex --key "$key" B
    assert_usage_error "--key: --shm sysv, and --lock none or sysv-sem"
    run_program $counter --shm posix --key "$key" B
    assert_usage_error "--key: --shm sysv, and --lock none or sysv-sem"
    run_program $counter --key "$key"
    assert_usage_error "--key PATH needs PROJ after the options"
    run_program $counter --key "$key" 0
    assert_usage_error "PROJ: '0' is neither a number from 1 to 255 nor one character"
}

cost=05-shm-counter-race/lock_cost

# Whether a lock works is proven by the race checks (shm_counter's certain
# window); lock_cost runs without a window, so a broken lock may lose
# nothing here.  This test checks what lock_cost reports, and that its
# counting under a lock adds up.
@test "lock_cost: every lock alone and contended, medians of the rounds, counts that add up under a lock" {
    run_program $cost --iters 5000 --sysv-iters 500 --rounds 3
    assert_success
    local lock n=0
    for lock in none sysv-sem posix-sem mutex atomic; do
        # Alone: one worker, always running by itself, never losing.
        assert_line --regexp "^lock=$lock workers=1 ns_per_increment=[0-9]+\\.[0-9] overlap=100% lost=0\$"
        assert_line --regexp "^lock=$lock workers=2 ns_per_increment=[0-9]+\\.[0-9] overlap=[0-9]+% lost=[0-9]+\$"
        if [[ $lock != none ]]; then
            assert_line --regexp "^lock=$lock workers=2 .* lost=0\$"
        fi
    done
    assert_equal "${#lines[@]}" 10
    # How much dearer one lock is than another is a figure of the book's
    # run (Figure 5.3), never a timed assertion here.
}

@test "lock_cost: one lock, more workers; too much work and bad arguments are refused" {
    run_program $cost --lock mutex --procs 3 --iters 2000 --rounds 1
    assert_success
    assert_equal "${#lines[@]}" 2
    assert_line --index 1 --regexp '^lock=mutex workers=3 ns_per_increment=[0-9.]+ overlap=[0-9]+% lost=0$'

    run_program $cost --procs 1
    assert_failure 2
    [[ $stderr == *"--procs"* ]] || fail "stderr: $stderr"
    run_program $cost --rounds 9 --procs 8 --iters 10000000
    assert_failure 2
    [[ $stderr == *"too much work"* ]] || fail "stderr: $stderr"
}

@test "lock_cost: SIGTERM mid-run leaves no semaphore, segment or worker behind" {
    start_background $cost --lock sysv-sem --sysv-iters 600000 --rounds 1 --procs 2
    wait_for_children $bg_pid 1        # a worker is running its loop
    finish_background TERM
    assert_equal "$status" $((128 + 15))
    # The leak guard (teardown) checks that nothing is left.
}
