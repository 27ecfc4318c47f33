#!/usr/bin/env bats
# The leak guard must catch what it promises to catch: each test leaves one
# kind of object behind on purpose, runs the guard, and expects it to fail
# and name the object.  (The guard also removes what it found, so the real
# teardown after each test passes.)

load 'helpers/ipclab'

@test "leak guard: a clean test passes" {
    run ipclab_teardown
    assert_success
    ipclab_setup    # the real teardown runs again after this test
}

@test "leak guard: a System V semaphore set left behind fails the test" {
    local id
    id=$(ipcmk -S 1 -p 0600 | grep -o '[0-9]*$')
    run ipclab_teardown
    assert_failure
    assert_output --partial "System V sem id $id"
    # The guard removed it.
    run ipcs -s
    refute_output --regexp "^0x[0-9a-f]+ +$id "
    ipclab_setup
}

@test "leak guard: a System V queue and segment left behind fail the test" {
    local q m
    q=$(ipcmk -Q -p 0600 | grep -o '[0-9]*$')
    m=$(ipcmk -M 4096 -p 0600 | grep -o '[0-9]*$')
    run ipclab_teardown
    assert_failure
    assert_output --partial "System V msg id $q"
    assert_output --partial "System V shm id $m"
    ipclab_setup
}

@test "leak guard: a POSIX shared memory name with the test's prefix fails the test" {
    : > "/dev/shm/$IPCLAB_PREFIX-leaked-1"
    run ipclab_teardown
    assert_failure
    assert_output --partial "POSIX object /dev/shm/$IPCLAB_PREFIX-leaked-1"
    [[ ! -e /dev/shm/$IPCLAB_PREFIX-leaked-1 ]]
    ipclab_setup
}

@test "leak guard: a FIFO left in the test's directories fails the test" {
    mkfifo "$TMPDIR/left-behind"
    run ipclab_teardown
    assert_failure
    assert_output --partial "left-behind"
    assert_output --partial "fifo"
    ipclab_setup
}

@test "leak guard: a process the test started and did not stop fails the test" {
    sleep 30 &
    local pid=$!
    run ipclab_teardown
    assert_failure
    assert_output --partial "process $pid: sleep 30"
    wait "$pid" 2>/dev/null || true   # the guard killed it
    ipclab_setup
}
