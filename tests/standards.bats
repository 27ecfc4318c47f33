#!/usr/bin/env bats
# The project's written rules (DEVELOPERS.md, ../shared/STYLE.md), checked.

load 'helpers/ipclab'

c_sources() {
    find "$IPCLAB_ROOT/lib" "$IPCLAB_ROOT/chapters" "$IPCLAB_ROOT/tests" \
        -name '*.[ch]' -not -path '*/build/*'
}

@test "no atoi, atol, sprintf, strcpy or gets in C sources" {
    run grep -nE '\b(atoi|atol|atoll|sprintf|vsprintf|strcpy|strcat|gets)\(' $(c_sources)
    assert_failure 1
}

@test "no world-writable mode (0666, 0777) given to any call" {
    # A mask such as (st_mode & 0777) in a test is not a mode; anything else is.
    run bash -c 'grep -nE "\b0+(666|777)\b" "$@" | grep -vE "&[[:space:]]*0+777\b"' _ $(c_sources)
    assert_output ""
}

@test "no fixed System V key: every key is IPC_PRIVATE or comes from ftok" {
    # shmget/semget/msgget whose first argument is a number literal.
    run grep -nE '\b(shm|sem|msg)get\( *(0x[0-9a-fA-F]+|[1-9][0-9]*) *,' $(c_sources)
    assert_failure 1
}

@test "no side effect hidden in assert()" {
    run grep -nE '\bassert\(.*\b(fork|pthread_[a-z_]+|sem_[a-z]+|semop|shmget|msgsnd|msgrcv|write|read|close)\(' $(c_sources)
    assert_failure 1
}

@test "every chapter has its README, its bats file and a diagram" {
    local dir name missing=()
    for dir in "$IPCLAB_ROOT"/chapters/[0-9][0-9]-*/; do
        name=$(basename "$dir")
        [[ -f $dir/README.md ]] || missing+=("chapters/$name/README.md")
        [[ -f $IPCLAB_ROOT/tests/chapters/$name.bats ]] || missing+=("tests/chapters/$name.bats")
        compgen -G "$IPCLAB_ROOT/diagrams/$name*.dot" >/dev/null || missing+=("diagrams/$name*.dot")
    done
    ((${#missing[@]} == 0)) || fail "missing: ${missing[*]}"
}

@test "every bats file loads the leak guard" {
    local file bad=()
    for file in "$IPCLAB_ROOT"/tests/*.bats "$IPCLAB_ROOT"/tests/*/*.bats; do
        [[ -f $file ]] || continue
        grep -qE "^load '(\.\./)?helpers/ipclab'" "$file" || bad+=("${file#"$IPCLAB_ROOT"/}")
    done
    ((${#bad[@]} == 0)) || fail "no leak guard: ${bad[*]}"
}

@test "make compile_commands.json: every compiled C file, with the command make builds it with" {
    local db=$BATS_TEST_TMPDIR/db.json file missing=()
    run make -C "$IPCLAB_ROOT" --no-print-directory -B BUILD="$IPCLAB_BUILD" COMPILE_DB="$db" compile_commands.json
    assert_success
    for file in "$IPCLAB_ROOT"/chapters/*/*.c "$IPCLAB_ROOT"/chapters/*/*/*.c "$IPCLAB_ROOT"/lib/*.c "$IPCLAB_ROOT"/tests/unit/*.c; do
        file=${file#"$IPCLAB_ROOT"/}
        grep -qF "\"file\": \"$file\"" "$db" || missing+=("$file")
    done
    ((${#missing[@]} == 0)) || fail "not in the database: ${missing[*]}"
    # A chapter.mk's own flag reaches the file it is for, and only it.
    grep -F '"file": "chapters/07-fork-pool/pool_demo.c"' "$db" | grep -qF -- '-Ichapters/07-fork-pool/pool '
    ! grep -F '"file": "chapters/05-shm-counter-race/shm_counter.c"' "$db" | grep -qF -- '-Ichapters/07-fork-pool/pool'
    # The exact command the build runs, dependency flags aside.
    grep -F '"file": "chapters/01-signals/worker/worker.c"' "$db" | grep -qF -- '-std=c11 -D_XOPEN_SOURCE=700 -Wall -Wextra -Werror'
}
