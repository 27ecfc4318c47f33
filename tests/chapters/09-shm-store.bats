#!/usr/bin/env bats
# Chapter 09: a shared-memory store and a file through shared memory
# (chapters/09-shm-store).  A store outlives the process on purpose: every
# test destroys what it creates, and the leak guard checks that it did.
# The many-trial race proof is in tests/race/checks.txt (make race).

load '../helpers/ipclab'

prog=09-shm-store/shm_store

setup() {
    ipclab_setup
    keyfile=$BATS_TEST_TMPDIR/store.key
    : > "$keyfile"
    pname=/$IPCLAB_PREFIX-store
}

# store ARG...: shm_store on the System V store of $keyfile, project A.
store() { run_program $prog --key "$keyfile" A "$@"; }
pstore() { run_program $prog --posix "$pname" "$@"; }

# ipcs_row: the line of `ipcs -m` for the segment of ftok($keyfile, 'A'),
# the key computed here as glibc's ftok does: proj, device, inode bits.
ipcs_row() {
    local key ino dev
    ino=$(stat -c %i "$keyfile")
    dev=$(stat -c %d "$keyfile")
    printf -v key '0x%08x' $(( (65 << 24) | ((dev & 0xff) << 16) | (ino & 0xffff) ))
    ipcs -m | awk -v k="$key" '$1 == k'
}

@test "shm_store: put, get, list, stat, del and destroy; values outlive each run" {
    store create
    assert_success
    assert_output --regexp '^created a store of 64 entries in System V shared memory, key 0x[0-9a-f]{8}, [0-9]+ bytes, mode 0600$'
    # The segment exists between runs, 0600, owned by us.
    [[ $(ipcs_row | awk '{ print $4 }') == 600 ]] || fail "ipcs: $(ipcs -m)"
    store put greeting 'hello, world'
    assert_success
    assert_output "stored 'greeting' (12 bytes)"
    store put other x
    store get greeting
    assert_success
    assert_output 'hello, world'
    store put greeting 'hi'          # a new value replaces the old
    store get greeting
    assert_output 'hi'
    store list
    assert_output $'greeting\nother'
    store stat
    assert_line --index 1 'entries: 2 of 64'
    assert_line --index 2 'bytes used: 16 (keys and values)'   # greeting+hi, other+x
    assert_line --index 3 'free: 62 entries of up to 4096 bytes'
    store del other
    assert_output "deleted 'other'"
    store get other
    assert_failure 1
    assert_equal "$stderr" "shm_store: no key 'other' in the store"
    store check
    assert_output 'the store is consistent: 1 entries'
    store destroy
    assert_success
    assert_output 'removed the store'
    [[ -z $(ipcs_row) ]] || fail "still there: $(ipcs_row)"
    store get greeting
    assert_failure 1
    [[ $stderr == *"no store:"*"does not exist"* ]] || fail "$stderr"
}

@test "shm_store: values are binary-safe, from stdin, byte for byte" {
    local path
    path=$(program $prog)
    store create
    printf 'a\0b\nc\377' > "$BATS_TEST_TMPDIR/value"
    run "$path" --key "$keyfile" A put bin < "$BATS_TEST_TMPDIR/value"
    assert_output "stored 'bin' (6 bytes)"
    "$path" --key "$keyfile" A get bin > "$BATS_TEST_TMPDIR/got"
    cmp "$BATS_TEST_TMPDIR/value" "$BATS_TEST_TMPDIR/got"
    # An empty value is a value.
    run "$path" --key "$keyfile" A put empty < /dev/null
    assert_output "stored 'empty' (0 bytes)"
    run "$path" --key "$keyfile" A get empty
    assert_success
    assert_output ''
    store destroy
}

@test "shm_store: PROJ as a character or its number names the same segment" {
    run_program $prog --key "$keyfile" A create
    run_program $prog --key "$keyfile" 65 put k v
    assert_success
    run_program $prog --key "$keyfile" B get k
    assert_failure 1          # another project: another key, no store
    run_program $prog --key "$keyfile" A get k
    assert_output v
    store destroy
}

@test "shm_store: --mode sets the permission bits, 0600 by default (System V and POSIX)" {
    run_program $prog --mode 640 --key "$keyfile" A create
    assert_output --partial 'mode 0640'
    [[ $(ipcs_row | awk '{ print $4 }') == 640 ]] || fail "ipcs: $(ipcs_row)"
    store destroy
    pstore create
    assert_success
    assert_output --regexp "^created a store of 64 entries in POSIX shared memory $pname, [0-9]+ bytes, mode 0600$"
    assert_equal "$(stat -c %a /dev/shm/"${pname#/}")" 600
    pstore put k v
    pstore get k
    assert_output v
    pstore destroy
    [[ ! -e /dev/shm/${pname#/} ]]
    (umask 077; run_program $prog --mode 644 --posix "$pname" create)
    assert_equal "$(stat -c %a /dev/shm/"${pname#/}")" 644     # not narrowed by the umask
    pstore destroy
}

@test "shm_store: creating a store twice fails, the first one untouched" {
    store create
    store put k v
    store create
    assert_failure 1
    [[ $stderr == *"already exists"* ]] || fail "$stderr"
    store get k
    assert_output v
    store destroy
}

@test "shm_store: a segment that is not a store, of another version, or cut short is refused in one line" {
    local f=/dev/shm/${pname#/}
    head -c 4096 /dev/urandom > "$f"
    pstore get k
    assert_failure 1
    assert_equal "$stderr" "shm_store: POSIX shared memory $pname is not a store (no \"IPCLABKV\" at its start)"
    pstore destroy                      # destroy removes only a store
    assert_failure 1
    [[ -e $f ]] || fail "destroy removed a segment that is not a store"
    printf 'IPCLAB' > "$f"
    pstore list
    assert_failure 1
    [[ $stderr == *"is 6 bytes, too short to hold a store header"* ]] || fail "$stderr"
    rm -f "$f"

    run_program $prog --entries 4 --posix "$pname" create
    cp "$f" "$BATS_TEST_TMPDIR/good"
    printf '\007' | dd of="$f" bs=1 seek=8 conv=notrunc status=none    # version 7
    pstore list
    assert_failure 1
    assert_equal "$stderr" "shm_store: POSIX shared memory $pname has store layout version 7; this program reads version 1"
    cp "$BATS_TEST_TMPDIR/good" "$f"
    truncate -s 1000 "$f"
    pstore get k
    assert_failure 1
    [[ $stderr == *"is cut short: its header says"*"the segment has 1000"* ]] || fail "$stderr"
    assert_output ''
    cp "$BATS_TEST_TMPDIR/good" "$f"
    pstore destroy
    assert_success
}

@test "shm_store: a full store refuses a new key with exit 1 and keeps everything; replacing still works" {
    run_program $prog --entries 2 --key "$keyfile" A create
    store put a 1
    store put b 2
    store put c 3
    assert_failure 1
    assert_equal "$stderr" "shm_store: the store is full (2 entries): nothing was written; del a key first"
    store list
    assert_output $'a\nb'
    store put a 'one'
    assert_success
    store get a
    assert_output one
    store check
    assert_success
    store destroy
}

@test "shm_store: keys and values over the limits, an empty key, a missing key: exit 1, not 2" {
    local path k64 v4096
    path=$(program $prog)
    k64=$(printf 'k%.0s' {1..64})
    v4096=$(head -c 4096 /dev/zero | tr '\0' v)
    store create
    store put "$k64" v
    assert_success
    store put "${k64}k" v
    assert_failure 1
    assert_equal "$stderr" "shm_store: the key is 65 bytes, more than the 64 a key may have"
    store put '' v
    assert_failure 1
    assert_equal "$stderr" "shm_store: the key is empty: a key has 1 to 64 bytes"
    store put "$(printf 'a\nb')" v
    assert_failure 1
    store put big "$v4096"
    assert_success
    store put big "${v4096}v"
    assert_failure 1
    assert_equal "$stderr" "shm_store: the value is 4097 bytes, more than the 4096 an entry holds"
    run --separate-stderr "$path" --key "$keyfile" A put big2 < <(printf '%s' "${v4096}v")
    assert_failure 1
    [[ $stderr == *"more than 4096 bytes"* ]] || fail "$stderr"
    store del nothing
    assert_failure 1
    assert_equal "$stderr" "shm_store: no key 'nothing' in the store"
    store list
    assert_output "big"$'\n'"$k64"     # nothing half-written by the refusals
    store destroy
}

@test "shm_store: bad command lines are usage errors, exit 2" {
    run_program $prog list
    assert_usage_error "exactly one of --key PATH PROJ and --posix NAME"
    run_program $prog --key "$keyfile" --posix /x list
    assert_usage_error "exactly one of"
    run_program $prog --key "$keyfile" AB list
    assert_usage_error "'AB' is neither a number from 1 to 255 nor one character"
    run_program $prog --key "$keyfile" 0 list
    assert_usage_error "'0' is neither"
    run_program $prog --key "$keyfile" A
    assert_usage_error "needs PROJ and a command"
    run_program $prog --key "$keyfile" A fetch k
    assert_usage_error "'fetch' is not a command"
    run_program $prog --key "$keyfile" A get
    assert_usage_error "get takes one operand, KEY"
    run_program $prog --key "$keyfile" A list extra
    assert_usage_error "list takes no operand"
    run_program $prog --mode 640 --key "$keyfile" A list
    assert_usage_error "--mode and --entries apply to create only"
    run_program $prog --mode 8 --key "$keyfile" A create
    assert_equal "$status" 2
    run_program $prog --hold-ms 5 --key "$keyfile" A get k
    assert_usage_error "--hold-ms applies to put only"
    run_program $prog --posix noslash list
    assert_usage_error "is not a name like /mystore"
    run_program $prog --entries 0 --key "$keyfile" A create
    assert_usage_error "--entries: '0' is not a whole number from 1 to 4096"
}

@test "shm_store: a writer killed holding the lock: the next run repairs, says so, and every other entry survives" {
    store create
    store put one 1
    store put two 'the old value'
    store put three 3
    # The writer stops mid-put, half of the new value written, holding the lock.
    start_background $prog --hold-ms 20000 --key "$keyfile" A put two 'a new value never finished'
    wait_for_output 'holding the store'
    kill -KILL "$bg_pid"
    finish_background
    assert_equal "$status" 137
    # The next process inherits the lock: EOWNERDEAD, repair, consistent.
    store get two
    assert_success
    assert_output 'the old value'
    [[ $stderr == *"the previous holder of the store's lock died mid-operation; rolled back its half-written entry; 3 entries remain"* ]] ||
        fail "no repair message: '$stderr'"
    store get one
    assert_output 1
    assert_equal "$stderr" ""            # repaired once, then a normal lock
    store check
    assert_output 'the store is consistent: 3 entries'
    store list
    assert_output $'one\nthree\ntwo'
    store put four 4                     # and it keeps working
    assert_success
    store stat
    assert_line --index 1 'entries: 4 of 64'
    store destroy
}

@test "shm_store: --hold-ms that is not killed finishes the put" {
    store create
    run_program $prog --hold-ms 1 --key "$keyfile" A put k v
    assert_success
    assert_line --index 0 'holding the store'"'"'s lock mid-put for 1 ms'
    store get k
    assert_output v
    store destroy
}

@test "store_race: without the lock, pinned with a window, entries are lost and the check fails" {
    run_program 09-shm-store/store_race --lock none --pin --window 1
    assert_success
    assert_line --index 0 --partial '2 processes x 100 keys, lock none, window 1, all on CPU'
    assert_line --index 1 --partial 'check: inconsistent: '
    assert_equal "$(result_field expected)" 200
    (( $(result_field lost) >= 50 )) || fail "lost only $(result_field lost): $output"
    assert_equal $(( $(result_field counted) + $(result_field lost) )) 200
}

@test "store_race: with the store's mutex every key is there and the check passes" {
    run_program 09-shm-store/store_race --lock mutex --pin --window 1 --procs 4 --keys 50
    assert_success
    assert_line --index 1 'check: consistent'
    assert_equal "$(result_field counted)" 200
    assert_equal "$(result_field lost)" 0
    run_program 09-shm-store/store_race --procs 64
    assert_usage_error "--procs: '64' is not a whole number from 1 to 16"
    run_program 09-shm-store/store_race --procs 16 --keys 300
    assert_usage_error "more than the 4096 entries a store holds"
}

# --- PHP as a peer (php-cli with shmop and sysvshm, from scripts/deps.sh) ---

php_dir=$IPCLAB_ROOT/chapters/09-shm-store/php

@test "PHP: a PHP script reads, through the same ftok key and shmop, the exact value shm_store put" {
    store create
    store put greeting 'hello from C'
    printf 'two\nlines\0and a NUL' > "$BATS_TEST_TMPDIR/value"
    run "$(program $prog)" --key "$keyfile" A put bin < "$BATS_TEST_TMPDIR/value"
    run --separate-stderr php "$php_dir/store_get.php" "$keyfile" A greeting
    assert_success
    assert_output 'hello from C'
    php "$php_dir/store_get.php" "$keyfile" 65 bin > "$BATS_TEST_TMPDIR/got"   # 65 is 'A'
    cmp "$BATS_TEST_TMPDIR/value" "$BATS_TEST_TMPDIR/got"
    run --separate-stderr php "$php_dir/store_get.php" "$keyfile" A missing
    assert_failure 1
    assert_equal "$stderr" "store_get.php: no key 'missing' in the store"
    store destroy
    run --separate-stderr php "$php_dir/store_get.php" "$keyfile" A greeting
    assert_failure 1
    [[ $stderr == "store_get.php: no segment with key 0x"* ]] || fail "$stderr"
}

@test "PHP: a segment in PHP's shm_put_var format is not a store, for shm_store and for the PHP reader" {
    local key
    key=$(php "$php_dir/php_put_var.php" "$keyfile" A 'hello from PHP')
    store get x
    assert_failure 1
    assert_equal "$stderr" "shm_store: the segment of key ($keyfile, 65) is not a store (no \"IPCLABKV\" at its start)"
    store destroy                                # refuses to remove it
    assert_failure 1
    run --separate-stderr php "$php_dir/store_get.php" "$keyfile" A x
    assert_equal "$stderr" "store_get.php: the segment is not a store"
    # What is there: sysvshm's header, then the value serialize()d.
    run php -r '$s = shmop_open((int)$argv[1], "a", 0, 0); echo substr(shmop_read($s, 0, 6), 0, 6), " ", shmop_read($s, 64, 22);' "$((key))"
    assert_output 'PHP_SM s:14:"hello from PHP";'
    ipcrm -M "$key"
}

# --- shm_file: a file through the ring --------------------------------------

file_prog=09-shm-store/shm_file

@test "shm_file: 0 bytes, 1 byte, one slot, one slot + 1 and 64 MiB arrive intact (cmp and md5sum)" {
    local d=$BATS_TEST_TMPDIR size
    head -c 64M /dev/urandom > "$d/random"
    for size in 0 1 65536 65537 67108864; do
        head -c "$size" "$d/random" > "$d/in"
        run_program $file_prog "$d/in" "$d/out"
        assert_success
        assert_output --regexp "^copied $size bytes through 8 slots of 65536 bytes in [0-9]+ slots: [0-9.]+ ms, [0-9.]+ MiB/s$"
        cmp "$d/in" "$d/out"
        assert_equal "$(md5sum < "$d/out")" "$(md5sum < "$d/in")"
    done
    # 64 MiB through 8 x 64 KiB: the file is 128 times the ring.
    assert_output --partial "in 1024 slots"
    # A ring of one 1-byte slot still gets it right.
    head -c 1000 "$d/random" > "$d/in"
    run_program $file_prog --slots 1 --slot-size 1 "$d/in" "$d/out"
    assert_success
    cmp "$d/in" "$d/out"
}

@test "shm_file: the reader killed mid-transfer: the writer says so, exit 1, no output file" {
    local d=$BATS_TEST_TMPDIR
    head -c 4M /dev/urandom > "$d/in"
    run_program $file_prog --crash reader --crash-after 3 "$d/in" "$d/out"
    assert_failure 1
    [[ $stderr =~ ^shm_file:\ writer:\ the\ reader\ \(pid\ [0-9]+\)\ killed\ by\ SIGKILL\ mid-transfer ]] ||
        fail "$stderr"
    [[ ! -e $d/out ]] || fail "the incomplete output is still there"
}

@test "shm_file: the writer killed mid-transfer: the reader gives up with a clear error, no output file" {
    local d=$BATS_TEST_TMPDIR
    head -c 4M /dev/urandom > "$d/in"
    # run returns when the orphaned reader, which holds stdout too, is done.
    run_program $file_prog --crash writer --crash-after 3 "$d/in" "$d/out"
    assert_equal "$status" 137
    [[ $stderr == *"shm_file: reader: the writer (pid "*") died after 196608 bytes; removed the incomplete $d/out"* ]] ||
        fail "$stderr"
    [[ ! -e $d/out ]] || fail "the incomplete output is still there"
}

@test "shm_file: a reader alive but stuck: the writer gives up after --timeout-ms, not before" {
    local d=$BATS_TEST_TMPDIR start elapsed
    head -c 4M /dev/urandom > "$d/in"
    start=$(date +%s%N)
    run_program $file_prog --timeout-ms 700 --crash reader-stops --crash-after 2 "$d/in" "$d/out"
    elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
    assert_failure 1
    [[ $stderr == "shm_file: writer: no free slot for 700 ms after 655360 bytes; gave up and removed the incomplete $d/out" ]] ||
        fail "$stderr"
    (( elapsed >= 700 )) || fail "gave up after $elapsed ms"
    [[ ! -e $d/out ]]
    # The stopped reader was killed by the writer's cleanup (the leak guard checks).
}

@test "shm_file: SIGTERM mid-transfer removes the incomplete output and stops the reader" {
    local d=$BATS_TEST_TMPDIR
    head -c 4M /dev/urandom > "$d/in"
    # (not "out": start_background keeps the program's stdout there)
    # One-byte slots: millions of semaphore round trips, seconds of work.
    start_background $file_prog --slot-size 1 "$d/in" "$d/copy"
    wait_for_file "$d/copy" || fail "no output file"
    finish_background TERM
    assert_equal "$status" 143
    [[ ! -e $d/copy ]] || fail "the incomplete output is still there"
    # The leak guard checks that the reader is gone too.
}

@test "shm_file: bad arguments and a missing input" {
    run_program $file_prog only-one
    assert_usage_error "expected IN OUT"
    run_program $file_prog --slots 1024 --slot-size 1048576 a b
    assert_usage_error "more than 64 MiB"
    run_program $file_prog --crash sideways a b
    assert_usage_error "--crash: 'sideways' is not one of the choices"
    run_program $file_prog "$BATS_TEST_TMPDIR/absent" "$BATS_TEST_TMPDIR/out"
    assert_failure 1
    [[ $stderr == "shm_file: open $BATS_TEST_TMPDIR/absent: ENOENT"* ]] || fail "$stderr"
}
