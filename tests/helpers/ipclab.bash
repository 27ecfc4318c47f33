# ipclab.bash - what every bats file in ipclab loads first:
#
#     load '../helpers/ipclab'      # from tests/chapters/*.bats
#     load 'helpers/ipclab'         # from tests/*.bats
#
# It brings bats-support and bats-assert, helpers to run a chapter's program,
# and the leak guard: setup() and teardown() below snapshot the machine
# before each test and fail the test if it leaves behind
#   - a System V message queue, semaphore set or shared memory segment of
#     this user that did not exist before the test,
#   - a POSIX shared memory object, named semaphore or message queue carrying
#     this test's name prefix ($IPCLAB_PREFIX, which lib/ipc_names.c uses),
#   - a FIFO or socket file in the test's directories (programs make their
#     files under $TMPDIR, which points into the test's own directory),
#   - a process started by the test (each carries $IPCLAB_TEST_TOKEN in its
#     environment, so it is found wherever it was reparented).
# A file that needs its own setup or teardown calls ipclab_setup and
# ipclab_teardown from it.
#
# The System V part and the check of new POSIX names are exact when the
# file runs in its own IPC namespace (scripts/isolate.sh, which
# scripts/run-tests.sh uses for every file): every object there is the
# test's own, so the guard removes what it reports.  Outside one (bats run
# by hand, or IPCLAB_ISOLATION=none) it compares snapshots of every System V
# object of the user, and then only REPORTS new ones: another program may
# have made them, and a test suite never removes what it did not create.
# POSIX names, files and processes carry the test's own prefix, directory or
# token, so those are removed in both modes.

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

IPCLAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IPCLAB_BUILD=${IPCLAB_BUILD:-build}
case $IPCLAB_BUILD in /*) ;; *) IPCLAB_BUILD=$IPCLAB_ROOT/$IPCLAB_BUILD ;; esac

# Longest a single program may run in a test before it counts as hung.
IPCLAB_TIMEOUT=${IPCLAB_TIMEOUT:-20}

# program NN-topic/name: the path of a built program (fails if not built).
program() {
    local path=$IPCLAB_BUILD/chapters/$1
    [[ -x $path ]] || { echo "not built: $path (run make)" >&2; return 1; }
    printf '%s\n' "$path"
}

# run_program NN-topic/name [ARG]...: runs it with a time limit; sets
# $status, $output (stdout) and $stderr, and $lines / $stderr_lines.
run_program() {
    local path
    path=$(program "$1") || return 1
    shift
    run --separate-stderr timeout -k 2 "$IPCLAB_TIMEOUT" "$path" "$@"
}

# assert_usage_error MESSAGE: the last run_program was refused as a bad
# argument: status 2, nothing on stdout, MESSAGE in the first line of stderr
# and the usage after it.
assert_usage_error() {
    assert_equal "$status" 2
    assert_equal "$output" ""
    [[ ${stderr_lines[0]} == *"$1"* ]] ||
        fail "first stderr line '${stderr_lines[0]}' does not contain '$1'"
    [[ ${stderr_lines[1]} == Usage:* ]] ||
        fail "the usage does not follow the error line: '${stderr_lines[1]}'"
}

# result_field NAME: the value of NAME=... in the "result:" line of $output.
result_field() {
    local line
    line=$(grep -m1 '^result:' <<<"$output") || { echo "no result: line in output" >&2; return 1; }
    sed -n "s/.* $1=\\([^ ]*\\).*/\\1/p" <<<"$line"
}

# wait_for_file PATH [SECONDS]: waits until PATH exists (a FIFO or socket a
# background program creates).
wait_for_file() {
    local deadline=$((SECONDS + ${2:-5}))
    until [[ -e $1 ]]; do
        ((SECONDS < deadline)) || return 1
        sleep 0.01
    done
}

# --- a program in the background ------------------------------------------

# start_background NN-topic/NAME [ARG]...: starts a program in the
# background, stdout into $BATS_TEST_TMPDIR/out and stderr into .../err,
# with SIGINT at its default action (a background job inherits it ignored;
# env restores it, as a terminal's Ctrl-C would find it).  Sets $bg_pid.
start_background() {
    local path
    path=$(program "$1") || return 1
    shift
    # Empty the files here: the job's own redirection happens later, and a
    # wait could otherwise read the previous run's output.
    : > "$BATS_TEST_TMPDIR/out"
    : > "$BATS_TEST_TMPDIR/err"
    env --default-signal=INT "$path" "$@" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
    bg_pid=$!
}

# wait_for_output TEXT: waits (5 s at most) until the background program's
# stdout holds TEXT.
wait_for_output() {
    local deadline=$((SECONDS + 5))
    until grep -sqF -- "$1" "$BATS_TEST_TMPDIR/out"; do
        ((SECONDS < deadline)) || fail "no '$1' in the output: $(cat "$BATS_TEST_TMPDIR/out")"
        sleep 0.01
    done
}

# finish_background [SIG]: sends SIG (if given), waits for the program, and
# sets $status, $output and $lines from its stdout, as run does.  A program
# killed by SIG ends with status 128 + SIG's number.
finish_background() {
    [[ -z ${1:-} ]] || kill -"$1" "$bg_pid"
    status=0
    wait "$bg_pid" || status=$?
    output=$(cat "$BATS_TEST_TMPDIR/out")
    mapfile -t lines <<<"$output"
}

# term_during_creation STATUS CALL READY PROGRAM ARG...: runs PROGRAM
# under strace with every CALL held for 500 ms on its way out (the object,
# file or directory exists, but the program has not registered it for
# removal yet), waits until the command READY succeeds (it is there), sends
# SIGTERM to the program and checks that it ended with STATUS (143: killed
# by SIGTERM; a program that turns SIGTERM into a clean stop, 0).  The
# create + register must be one step for the signals
# (cleanup_block_signals), or the caller's own check finds it left behind.
term_during_creation() {
    local want=$1 call=$2 ready=$3 path tracer pid rc=0 deadline=$((SECONDS + 10))
    path=$(program "$4") || return 1
    shift 4
    # LeakSanitizer cannot run under ptrace: an ASan build would fail at exit.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        strace -o /dev/null -e inject="$call":delay_exit=500000 "$path" "$@" > "$BATS_TEST_TMPDIR/slow.out" 2>&1 &
    tracer=$!
    until $ready; do
        ((SECONDS < deadline)) || { kill -KILL $tracer; fail "$path: nothing made after 10 s"; }
        sleep 0.01
    done
    pid=$(cat /proc/$tracer/task/$tracer/children)
    kill -TERM $pid
    wait $tracer || rc=$?
    assert_equal "$rc" "$want"            # strace ends the way the program did
}

# --- the leak guard -------------------------------------------------------

# ipclab_isolated: true when this test runs in a private IPC namespace that
# scripts/isolate.sh made: the namespace it recorded is ours, and it is not
# the one it was called from.  Only then may the guard remove System V
# objects.
ipclab_isolated() {
    [[ ${IPCLAB_ISOLATION:-none} == root || ${IPCLAB_ISOLATION:-none} == user ]] || return 1
    [[ -n ${IPCLAB_IPC_NS:-} && ${IPCLAB_IPC_NS} != "${IPCLAB_OUTER_IPC_NS:-}" ]] || return 1
    [[ $(readlink /proc/self/ns/ipc) == "$IPCLAB_IPC_NS" ]]
}

_ipclab_sysv_ids() {
    local me
    me=$(id -un)
    { ipcs -q; ipcs -s; ipcs -m; } 2>/dev/null | awk -v me="$me" '
        /Message Queues/ { kind = "msg" } /Semaphore Arrays/ { kind = "sem" }
        /Shared Memory/ { kind = "shm" }
        $3 == me && $2 ~ /^[0-9]+$/ { print kind, $2 }' | sort
}

# The processes carrying this test's token.  One grep over every environ
# file (a grep per process costs most of a second under load), itself run
# without the token; a process that ended meanwhile is not counted.
_ipclab_token_pids() {
    local environ pid
    for environ in $(env -u IPCLAB_TEST_TOKEN grep -lszxF "IPCLAB_TEST_TOKEN=$IPCLAB_TEST_TOKEN" /proc/[0-9]*/environ); do
        pid=${environ#/proc/}
        pid=${pid%/environ}
        [[ $pid == "$$" || $pid == "$BASHPID" || ! -e /proc/$pid ]] && continue
        echo "$pid"
    done
}

# Every name in /dev/shm and /dev/mqueue (only read in a private namespace,
# where all of them are the test's).
_ipclab_posix_all() {
    local dir
    for dir in /dev/shm /dev/mqueue; do
        [[ -d $dir ]] && find "$dir" -mindepth 1 -maxdepth 1 2>/dev/null
    done | sort
}

# The POSIX names to report: those with the test's prefix, and in a private
# namespace every name that was not there at setup.
_ipclab_posix_names() {
    local dir
    {
        for dir in /dev/shm /dev/mqueue; do
            [[ -d $dir ]] && find "$dir" -mindepth 1 -maxdepth 1 -name "*$IPCLAB_PREFIX-*" 2>/dev/null
        done
        if ipclab_isolated; then
            comm -13 <(echo "$_IPCLAB_POSIX_BEFORE") <(_ipclab_posix_all)
        fi
    } | sed '/^$/d' | sort -u
}

ipclab_setup() {
    export IPCLAB_PREFIX="ipclabt$$x${BATS_SUITE_TEST_NUMBER:-0}"
    export IPCLAB_TEST_TOKEN="$IPCLAB_PREFIX-$RANDOM$RANDOM"
    export TMPDIR=$BATS_TEST_TMPDIR/tmp
    mkdir -p "$TMPDIR"
    _IPCLAB_SYSV_BEFORE=$(_ipclab_sysv_ids)
    _IPCLAB_POSIX_BEFORE=
    if ipclab_isolated; then _IPCLAB_POSIX_BEFORE=$(_ipclab_posix_all); fi
}

ipclab_teardown() {
    local leaks=() pids pid deadline id kind names files isolated=0 how

    ipclab_isolated && isolated=1

    # Processes get a second to finish dying (a killed child being reaped).
    deadline=$((SECONDS + 2))
    while pids=$(_ipclab_token_pids) && [[ -n $pids ]] && ((SECONDS < deadline)); do
        sleep 0.05
    done
    if [[ -n $pids ]]; then
        for pid in $pids; do
            leaks+=("process $pid: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)")
            kill -KILL "$pid" 2>/dev/null
        done
    fi

    # New System V ids get the same grace: an object a dying process of the
    # test removes on its way out is gone by then (and, outside a namespace,
    # one of a program running elsewhere may be).
    local new_ids
    deadline=$((SECONDS + 2))
    while new_ids=$(comm -13 <(echo "$_IPCLAB_SYSV_BEFORE") <(_ipclab_sysv_ids)) &&
          [[ -n $new_ids ]] && ((SECONDS < deadline)); do
        sleep 0.05
    done
    while read -r kind id; do
        [[ -n $id ]] || continue
        if ((isolated)); then
            leaks+=("System V $kind id $id")
            case $kind in msg) ipcrm -q "$id" ;; sem) ipcrm -s "$id" ;; shm) ipcrm -m "$id" ;; esac 2>/dev/null
        else
            # Reported, not removed: without a namespace nothing proves
            # this test made it.
            leaks+=("System V $kind id $id (not removed: outside a private IPC namespace it may be another program's)")
        fi
    done <<<"$new_ids"

    names=$(_ipclab_posix_names)
    for id in $names; do
        leaks+=("POSIX object $id")
        rm -f "$id"
    done

    files=$( { find "$TMPDIR" -mindepth 1 2>/dev/null;
               find "$BATS_TEST_TMPDIR" \( -type p -o -type s \) 2>/dev/null; } | sort -u)
    for id in $files; do
        leaks+=("file $id ($(stat -c %F "$id" 2>/dev/null))")
    done
    rm -rf "$TMPDIR"

    if ((${#leaks[@]} > 0)); then
        if ((isolated)); then how="private IPC namespace"; else how="no namespace: System V by snapshot"; fi
        printf 'leak guard (%s): this test left behind:\n' "$how" >&2
        printf '  %s\n' "${leaks[@]}" >&2
        return 1
    fi
}

setup() { ipclab_setup; }
teardown() { ipclab_teardown; }
