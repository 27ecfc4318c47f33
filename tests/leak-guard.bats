#!/usr/bin/env bats
# The leak guard must catch what it promises to catch: each test leaves one
# kind of object behind on purpose, runs the guard, and expects it to fail
# and name exactly that object.  In a private IPC namespace the guard then
# removes it; outside one it must leave a System V object where it is (it
# cannot prove the test made it), and the test removes its own object.
# tests/isolation.bats runs this file in both modes, and once with the
# guard's System V check broken, to show these tests can fail.

load 'helpers/ipclab'

# sysv_exists msg|sem|shm ID: the object exists (in this namespace).
sysv_exists() {
    awk -v id="$2" 'NR > 1 && $2 == id { found = 1 } END { exit !found }' "/proc/sysvipc/$1"
}

# make_sysv msg|sem|shm: creates one object with ipcmk, prints its id, and
# fails unless it really exists (an empty id would make every check below
# match anything).
make_sysv() {
    local out id
    case $1 in
        msg) out=$(ipcmk -Q -p 0600) ;;
        sem) out=$(ipcmk -S 1 -p 0600) ;;
        shm) out=$(ipcmk -M 4096 -p 0600) ;;
    esac || return 1
    id=${out##*: }
    [[ $id =~ ^[0-9]+$ ]] && sysv_exists "$1" "$id" || { echo "ipcmk made no $1: '$out'" >&2; return 1; }
    printf '%s\n' "$id"
}

# The first line of the guard's report names the mode it ran in.
assert_guard_header() {
    if ipclab_isolated; then
        assert_line --index 0 "leak guard (private IPC namespace): this test left behind:"
    else
        assert_line --index 0 "leak guard (no namespace: System V by snapshot): this test left behind:"
    fi
}

# assert_leak_count N: the report lists exactly N objects.  Only in a
# private namespace: outside one another program's object may appear too.
assert_leak_count() {
    ipclab_isolated || return 0
    local n
    n=$(grep -c '^  ' <<<"$output")
    ((n == $1)) || fail "the guard reported $n objects, expected $1: $output"
}

# assert_sysv_reported msg|sem|shm ID: the last `run ipclab_teardown`
# reported the object; removed it in a namespace, left it outside one (and
# then this test removes its own object).
assert_sysv_reported() {
    assert_line --regexp "^  System V $1 id $2( \(not removed: .*\))?$"
    if ipclab_isolated; then
        ! sysv_exists "$1" "$2" || fail "the guard did not remove $1 id $2 in its own namespace"
    else
        sysv_exists "$1" "$2" || fail "outside a namespace the guard removed $1 id $2"
        case $1 in msg) ipcrm -q "$2" ;; sem) ipcrm -s "$2" ;; shm) ipcrm -m "$2" ;; esac
    fi
}

@test "leak guard: a clean test passes" {
    run ipclab_teardown
    assert_success
    assert_output ""
    ipclab_setup    # the real teardown runs again after this test
}

@test "leak guard: a System V semaphore set left behind fails the test" {
    local id
    id=$(make_sysv sem)
    run ipclab_teardown
    assert_failure
    assert_guard_header
    assert_sysv_reported sem "$id"
    assert_leak_count 1
    ipclab_setup
}

@test "leak guard: a System V queue and segment left behind fail the test" {
    local q m
    q=$(make_sysv msg)
    m=$(make_sysv shm)
    run ipclab_teardown
    assert_failure
    assert_guard_header
    assert_sysv_reported msg "$q"
    assert_sysv_reported shm "$m"
    assert_leak_count 2
    ipclab_setup
}

@test "leak guard: a POSIX shared memory name with the test's prefix fails the test" {
    : > "/dev/shm/$IPCLAB_PREFIX-leaked-1"
    run ipclab_teardown
    assert_failure
    assert_guard_header
    assert_line "  POSIX object /dev/shm/$IPCLAB_PREFIX-leaked-1"
    assert_leak_count 1
    [[ ! -e /dev/shm/$IPCLAB_PREFIX-leaked-1 ]]
    ipclab_setup
}

@test "leak guard: in a private namespace, any new POSIX name fails the test" {
    ipclab_isolated || skip "not in a private IPC namespace (the guard then sees only the test's prefix)"
    : > /dev/shm/not-the-prefix
    run ipclab_teardown
    assert_failure
    assert_line "  POSIX object /dev/shm/not-the-prefix"
    assert_leak_count 1
    [[ ! -e /dev/shm/not-the-prefix ]]
    ipclab_setup
}

@test "leak guard: a FIFO left in the test's directories fails the test" {
    mkfifo "$TMPDIR/left-behind"
    run ipclab_teardown
    assert_failure
    assert_guard_header
    assert_line "  file $TMPDIR/left-behind (fifo)"
    assert_leak_count 1
    ipclab_setup
}

@test "leak guard: a process the test started and did not stop fails the test" {
    sleep 30 &
    local pid=$!
    run ipclab_teardown
    assert_failure
    assert_guard_header
    assert_line "  process $pid: sleep 30 "
    assert_leak_count 1
    wait "$pid" 2>/dev/null || true   # the guard killed it
    ipclab_setup
}
