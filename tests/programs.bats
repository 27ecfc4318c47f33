#!/usr/bin/env bats
# What every program in chapters/ must do, checked for all of them at once,
# so a new program is held to the rules without anyone listing it.

load 'helpers/ipclab'

all_programs() {
    local source
    for source in "$IPCLAB_ROOT"/chapters/*/*.c; do
        source=${source#"$IPCLAB_ROOT"/chapters/}
        printf '%s\n' "${source%.c}"
    done
}

@test "every chapter program is built" {
    local name missing=()
    for name in $(all_programs); do
        [[ -x $IPCLAB_BUILD/chapters/$name ]] || missing+=("$name")
    done
    ((${#missing[@]} == 0)) || fail "not built: ${missing[*]}"
}

@test "every program: --help prints the usage on stdout and exits 0" {
    local name
    for name in $(all_programs); do
        run_program "$name" --help
        ((status == 0)) || fail "$name --help: status $status"
        [[ ${lines[0]} == "Usage: ${name##*/} "* ]] || fail "$name --help: first line '${lines[0]}'"
        [[ -z $stderr ]] || fail "$name --help wrote to stderr: $stderr"
    done
}

@test "every program: an unknown option is one line and the usage on stderr, exit 2" {
    local name
    for name in $(all_programs); do
        run_program "$name" --no-such-option
        ((status == 2)) || fail "$name: status $status for an unknown option"
        [[ -z $output ]] || fail "$name wrote to stdout for an unknown option"
        [[ ${stderr_lines[0]} == "${name##*/}: unknown option '--no-such-option'" ]] ||
            fail "$name: first stderr line '${stderr_lines[0]}'"
        [[ ${stderr_lines[1]} == "Usage: ${name##*/} "* ]] || fail "$name: no usage after the error"
    done
}

@test "every program starts with a comment: the lesson, how to run it, what you should see" {
    local name source bad=()
    for name in $(all_programs); do
        source=$IPCLAB_ROOT/chapters/$name.c
        # The first comment block, up to its closing */.
        local head
        head=$(sed -n '1,/\*\//p' "$source")
        [[ $head == "/* ${name##*/}.c - "* ]] || { bad+=("$name: first line"); continue; }
        grep -q 'Run:' <<<"$head" || bad+=("$name: no 'Run:'")
        grep -qi 'you should see' <<<"$head" || bad+=("$name: no 'You should see'")
    done
    ((${#bad[@]} == 0)) || fail "$(printf '%s\n' "${bad[@]}")"
}

# Programs that still leave something behind when stdout is a pipe closed
# early: their chapters are being fixed (SIGPIPE handling).  Each is listed
# by the test below with what it left; remove a name once its fix is in.
sigpipe_pending=()

# Programs whose default run waits for another process: they get a shorter
# wait here, where no other process comes.  msg_recv waits 30 s for a sender
# by default (long enough to paste the msg_send command it prints);
# ipc_bench's full run lasts 30-40 s; one mechanism in --quick, well under
# a second, reaches the same exit path (its report is printed at the end).
declare -A sigpipe_args=(
    [03-message-queues/msg_recv]="--timeout-ms 1000"
    [02-fifo/fifo_lines]="--timeout-ms 1000"
    [13-ipc-benchmark/ipc_bench]="--quick --mech pipe"
)

# sigpipe_check NAME: runs NAME with its default arguments, stdout piped
# into `head -n 1`, so its next write gets SIGPIPE.  Prints what went wrong
# (nothing if all is well): a run past the time bound, or what the leak
# guard found.  Sets the guard up again for the next program.
sigpipe_check() {
    local name=$1 rc=0 start=$SECONDS report
    (
        set -o pipefail
        # shellcheck disable=SC2086  # the extra arguments are words
        env --default-signal=PIPE timeout -k 2 "$IPCLAB_TIMEOUT" "$IPCLAB_BUILD/chapters/$name" \
            ${sigpipe_args[$name]:-} 2>/dev/null |
            head -n 1 > /dev/null
    ) || rc=$?
    if ((rc == 124 || rc == 137)); then
        echo "$name: still running after ${IPCLAB_TIMEOUT}s (stopped, status $rc)"
    fi
    report=$(ipclab_teardown 2>&1) || echo "$name (after $((SECONDS - start))s, status $rc): $report"
    ipclab_setup
}

@test "every program: stdout piped into head -n 1 (SIGPIPE) leaves nothing behind and ends in time" {
    local name problems=()
    for name in $(all_programs); do
        [[ " ${sigpipe_pending[*]} " == *" $name "* ]] && continue
        problems+=("$(sigpipe_check "$name")")
    done
    local text
    text=$(printf '%s\n' "${problems[@]}" | sed '/^$/d')
    [[ -z $text ]] || fail "$text"
}

@test "SIGPIPE fixes pending in chapters (listed here until they are in)" {
    ((${#sigpipe_pending[@]} > 0)) || skip "none pending"
    skip "pending: ${sigpipe_pending[*]} (each leaves an object behind when its stdout is closed early; see the list above)"
}
