#!/usr/bin/env bats
# scripts/clean-ipc.sh (`make clean-ipc`): after a kill -9, it finds and
# removes what the program left behind, and nothing else: not another
# program's System V object, not a name whose creator still runs, not a
# directory that is not ipclab's.  Meant for a private IPC namespace (as
# scripts/run-tests.sh runs every file), where every System V object and
# POSIX name is the test's own.

load 'helpers/ipclab'

clean_ipc=$IPCLAB_ROOT/scripts/clean-ipc.sh

sysv_exists() {  # sysv_exists msg|sem|shm ID
    awk -v id="$2" 'NR > 1 && $2 == id { found = 1 } END { exit !found }' "/proc/sysvipc/$1"
}

@test "clean-ipc: removes exactly what a program killed by SIGKILL left, and says so" {
    ipclab_isolated || skip "needs a private IPC namespace: it would see other programs' objects"
    # The leftover: msg_recv's key directory and its queue.
    start_background 03-message-queues/msg_recv --timeout-ms 60000
    wait_for_output "send to it with"
    local q
    q=$(sed -n 's/^queue id \([0-9]*\),.*/\1/p' "$BATS_TEST_TMPDIR/out")
    [[ $q =~ ^[0-9]+$ ]] && sysv_exists msg "$q" || fail "no queue id in: $(cat "$BATS_TEST_TMPDIR/out")"
    finish_background KILL
    assert_equal "$status" 137
    local keydir
    keydir=$(compgen -G "$TMPDIR/ipclab-key-*") || fail "msg_recv left no key directory"

    # What must stay (names carry the prefix programs of this test use,
    # which clean-ipc reads too): a queue ipclab did not make, a POSIX name whose
    # creator (this shell) still runs, a directory that is not ipclab's.
    local foreign
    foreign=$(ipcmk -Q -p 0600)
    foreign=${foreign##*: }
    : > "/dev/shm/$IPCLAB_PREFIX-live-$$-0-abcdef"
    mkdir "$TMPDIR/not-ipclab"
    # And a name whose creator is gone (a pid that has ended).
    sh -c 'exit 0' & local dead=$!
    wait "$dead"
    : > "/dev/shm/$IPCLAB_PREFIX-dead-$dead-0-abcdef"

    run "$clean_ipc" --dry-run
    assert_success
    assert_line "would remove System V message queue id $q (key $(ipcs -q | awk -v id="$q" '$2 == id { print $1 }'), from a leftover key file)"
    assert_line "would remove private directory $keydir with key (file)"
    assert_line "would remove POSIX shared memory /$IPCLAB_PREFIX-dead-$dead-0-abcdef (its creator, pid $dead, is gone)"
    sysv_exists msg "$q" && [[ -d $keydir && -e /dev/shm/$IPCLAB_PREFIX-dead-$dead-0-abcdef ]] ||
        fail "--dry-run removed something"

    run "$clean_ipc"
    assert_success
    assert_equal "$(grep -c '^removed ' <<<"$output")" 3
    assert_line "removed private directory $keydir with key (file)"
    assert_line "in use by running process $$, left alone: /dev/shm/$IPCLAB_PREFIX-live-$$-0-abcdef"
    assert_line "clean-ipc: removed 3; 1 in use, 0 not attributable"
    ! sysv_exists msg "$q" || fail "the leftover queue is still there"
    [[ ! -e $keydir && ! -e /dev/shm/$IPCLAB_PREFIX-dead-$dead-0-abcdef ]] || fail "a leftover is still there"
    sysv_exists msg "$foreign" || fail "clean-ipc removed a queue ipclab did not make"
    [[ -d $TMPDIR/not-ipclab && -e /dev/shm/$IPCLAB_PREFIX-live-$$-0-abcdef ]] || fail "clean-ipc removed what is not a leftover"

    ipcrm -q "$foreign"
    rm -rf "/dev/shm/$IPCLAB_PREFIX-live-$$-0-abcdef" "$TMPDIR/not-ipclab"
}

@test "clean-ipc: an IPC_PRIVATE queue is listed as not attributable, and kept" {
    ipclab_isolated || skip "needs a private IPC namespace: it would see other programs' objects"
    # perl's built-in msgget (perl-base is always there); key 0 is
    # IPC_PRIVATE, 01600 is IPC_CREAT | 0600.
    local id
    id=$(perl -e 'my $id = msgget(0, 01600); defined $id or die "msgget: $!\n"; print "$id\n"')
    sysv_exists msg "$id"
    run "$clean_ipc"
    assert_success
    assert_line "cannot attribute (IPC_PRIVATE: no key or name ties it to ipclab): System V message queue id $id; if it is a leftover: ipcrm -q $id"
    assert_line "clean-ipc: removed 0; 0 in use, 1 not attributable"
    sysv_exists msg "$id" || fail "clean-ipc removed an object it cannot attribute"
    ipcrm -q "$id"
}

@test "clean-ipc: a bad argument is refused with the usage, exit 2" {
    run --separate-stderr "$clean_ipc" --now
    assert_equal "$status" 2
    assert_equal "${stderr_lines[0]}" "clean-ipc.sh: unknown argument '--now'"
    assert_equal "${stderr_lines[1]}" "Usage: clean-ipc.sh [--dry-run]"
}
