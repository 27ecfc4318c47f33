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
