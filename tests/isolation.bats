#!/usr/bin/env bats
# Test runs kept apart from the rest of the machine (scripts/isolate.sh):
# a System V object another program makes during a run fails nothing and is
# never removed; two runs at once each blame only their own leaks; and the
# leak guard's own self-tests hold in both modes and can fail.  Each test
# runs bats again, on tests/leak-guard.bats or on a small fixture file
# written into the test's directory, and reads its TAP output.

load 'helpers/ipclab'

isolate=$IPCLAB_ROOT/scripts/isolate.sh

need_namespace() {
    [[ $("$isolate" --mode) != none ]] || skip "this machine allows no private IPC namespace"
}

sysv_exists() {  # sysv_exists msg|sem|shm ID
    awk -v id="$2" 'NR > 1 && $2 == id { found = 1 } END { exit !found }' "/proc/sysvipc/$1"
}

# A fixture bats file: FILE gets the load line of the real helpers, then
# the body on stdin, where a test starts with "%test" (bats would take a
# literal one in this file's here-documents for a test of this file).
write_fixture() {
    {
        printf "load '%s/tests/helpers/ipclab'\n" "$IPCLAB_ROOT"
        sed 's/^%test /@test /'
    } > "$1"
}

# nested isolated|fallback FILE: runs bats on FILE in a new namespace, or
# with the fallback forced, as scripts/run-tests.sh would; its TAP output
# goes to stdout.  It gets none of this run's BATS_ variables nor its fd 3
# (bats' own TAP stream), and its files live outside this test's TMPDIR.
nested() {
    local how=$1 var unset=()
    shift
    mkdir -p "$BATS_TEST_TMPDIR/nested"
    for var in $(compgen -e); do
        [[ $var == BATS_* ]] && unset+=(-u "$var")
    done
    [[ $how == fallback ]] && unset+=(IPCLAB_ISOLATION=none)
    env "${unset[@]}" TMPDIR="$BATS_TEST_TMPDIR/nested" \
        timeout -k 5 180 "$isolate" bats --tap "$@" 3>&-
}

# count_lines PATTERN: how many lines of $output match the extended regex.
count_lines() { grep -cE -- "$1" <<<"$output" || true; }

# The fixture test that waits (30 s at most) until a file appears.
waiting_fixture() {
    write_fixture "$BATS_TEST_TMPDIR/foreign.bats" <<'EOF'
%test "a test that runs while a queue appears outside it" {
    : > "$FIXTURE_DIR/started"
    local deadline=$((SECONDS + 60))
    until [[ -e $FIXTURE_DIR/made ]]; do
        ((SECONDS < deadline)) || fail "no queue was made"
        sleep 0.01
    done
}
EOF
}

# foreign_queue_during isolated|fallback: runs the waiting fixture, makes a
# System V queue here (outside the run's namespace, or in the same one for
# the fallback) while it runs, and sets $output, $status and $q.
foreign_queue_during() {
    export FIXTURE_DIR=$BATS_TEST_TMPDIR/sync
    mkdir -p "$FIXTURE_DIR"
    waiting_fixture
    nested "$1" "$BATS_TEST_TMPDIR/foreign.bats" > "$BATS_TEST_TMPDIR/run.out" 2>&1 &
    local run_pid=$!
    wait_for_file "$FIXTURE_DIR/started" 60 || fail "the fixture run did not start"
    q=$(ipcmk -Q -p 0600)
    q=${q##*: }
    [[ $q =~ ^[0-9]+$ ]] && sysv_exists msg "$q" || fail "ipcmk made no queue: $q"
    : > "$FIXTURE_DIR/made"
    local rc=0
    wait "$run_pid" || rc=$?
    run cat "$BATS_TEST_TMPDIR/run.out"
    status=$rc
}

@test "isolation: a System V queue made outside a run's namespace fails nothing and stays" {
    need_namespace
    foreign_queue_during isolated
    sysv_exists msg "$q" || fail "the run removed a queue it did not make"
    ipcrm -q "$q"
    assert_equal "$status" 0
    assert_line "ok 1 a test that runs while a queue appears outside it"
    refute_output --partial "leak guard"
}

@test "isolation: without a namespace, the guard reports a foreign queue and does not remove it" {
    foreign_queue_during fallback
    sysv_exists msg "$q" || fail "the guard removed a queue it did not make"
    ipcrm -q "$q"
    assert_equal "$status" 1
    assert_line "not ok 1 a test that runs while a queue appears outside it"
    assert_output --partial "System V msg id $q (not removed: outside a private IPC namespace"
}

@test "isolation: two runs at once, each in its own namespace, blame only their own leaks" {
    need_namespace
    export FIXTURE_DIR=$BATS_TEST_TMPDIR/sync
    mkdir -p "$FIXTURE_DIR"
    # Each run leaks LEAK_COUNT objects of its kind and a POSIX name of its
    # tag, and waits until the other has made its own: both sets exist at
    # the same moment.
    write_fixture "$BATS_TEST_TMPDIR/leaky.bats" <<'EOF'
%test "leaks on purpose" {
    local i deadline=$((SECONDS + 60))
    for ((i = 0; i < LEAK_COUNT; i++)); do
        ipcmk $LEAK_IPCMK -p 0600 > /dev/null
    done
    : > "/dev/shm/leak-$LEAK_TAG"
    : > "$FIXTURE_DIR/ready-$LEAK_TAG"
    until [[ -e $FIXTURE_DIR/ready-$LEAK_OTHER ]]; do
        ((SECONDS < deadline)) || fail "the other run never got ready"
        sleep 0.01
    done
}
EOF
    LEAK_TAG=A LEAK_OTHER=B LEAK_COUNT=1 LEAK_IPCMK=-Q \
        nested isolated "$BATS_TEST_TMPDIR/leaky.bats" > "$BATS_TEST_TMPDIR/a.out" 2>&1 &
    local a=$!
    LEAK_TAG=B LEAK_OTHER=A LEAK_COUNT=2 LEAK_IPCMK='-S 1' \
        nested isolated "$BATS_TEST_TMPDIR/leaky.bats" > "$BATS_TEST_TMPDIR/b.out" 2>&1 &
    local b=$!
    wait "$a" || true
    wait "$b" || true

    run cat "$BATS_TEST_TMPDIR/a.out"
    assert_line "not ok 1 leaks on purpose"
    assert_line "# leak guard (private IPC namespace): this test left behind:"
    assert_equal "$(count_lines '^#   System V msg id')" 1
    assert_equal "$(count_lines '^#   System V sem id')" 0
    assert_line "#   POSIX object /dev/shm/leak-A"
    refute_output --partial "leak-B"

    run cat "$BATS_TEST_TMPDIR/b.out"
    assert_line "not ok 1 leaks on purpose"
    assert_equal "$(count_lines '^#   System V sem id')" 2
    assert_equal "$(count_lines '^#   System V msg id')" 0
    assert_line "#   POSIX object /dev/shm/leak-B"
    refute_output --partial "leak-A"
    # Nothing of theirs reached this test's namespace (the guard of this
    # test checks it too) or this test's /dev/shm.
    [[ ! -e /dev/shm/leak-A && ! -e /dev/shm/leak-B ]]
}

@test "isolation: the leak guard's self-tests pass in a private namespace" {
    need_namespace
    run nested isolated "$IPCLAB_ROOT/tests/leak-guard.bats"
    assert_success
    refute_line --regexp '^not ok'
    refute_line --regexp '# skip'
    assert_equal "$(count_lines '^ok ')" "$(sed -n 's/^1\.\.//p' <<<"$output")"
}

@test "isolation: the leak guard's self-tests pass in the fallback mode" {
    run nested fallback "$IPCLAB_ROOT/tests/leak-guard.bats"
    assert_success
    refute_line --regexp '^not ok'
    # Only the namespace-only test skips.
    assert_equal "$(count_lines '# skip')" 1
}

@test "isolation: the guard's System V self-tests fail when the guard misses System V objects" {
    # In a namespace of its own: the self-tests that fail leave their
    # objects there, and they go with it.
    need_namespace
    # The same file, with the guard's System V snapshot made blind.
    {
        printf "load '%s/tests/helpers/ipclab'\n" "$IPCLAB_ROOT"
        echo '_ipclab_sysv_ids() { :; }'
        sed "/^load 'helpers\/ipclab'/d" "$IPCLAB_ROOT/tests/leak-guard.bats"
    } > "$BATS_TEST_TMPDIR/blind.bats"
    run nested isolated "$BATS_TEST_TMPDIR/blind.bats"
    assert_failure
    assert_line --regexp '^not ok 2 leak guard: a System V semaphore set left behind fails the test'
    assert_line --regexp '^not ok 3 leak guard: a System V queue and segment left behind fail the test'
    assert_equal "$(count_lines '^not ok')" 2
}
