#!/usr/bin/env bash
# run-tests.sh [all|unit|race] - run ipclab's test stages and summarise.
# run-tests.sh bats [FILE.bats]...
#
#   unit  every CUnit executable under $IPCLAB_BUILD/tests/unit
#   bats  every bats file: tests/*.bats and tests/chapters/*.bats (or FILEs)
#   race  tests/race/race-checks.sh
#
# Each of those (each unit test executable, each bats file, the race checks
# as a whole) runs in its own IPC namespace where the machine allows it
# (scripts/isolate.sh), so no other program's objects can fail a test or be
# removed by the leak guard; otherwise as it is, with the snapshot guard.
# IPCLAB_ISOLATION=none forces that fallback.
#
# Called by `make test` (all), `make unit`, `make bats` and `make race`, after
# the binaries are built.  Prints each stage's own output, then one summary
# that says which isolation ran; the last line is "total: N passed, M
# failed".  Exits 1 if anything failed or a stage could not run.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
export IPCLAB_BUILD=${IPCLAB_BUILD:-build}
export LC_ALL=C.UTF-8
stage=${1:-all}
(($# > 0)) && shift
logs=$(mktemp -d "${TMPDIR:-/tmp}/run-tests.XXXXXX")
trap 'rm -rf "$logs"' EXIT

declare -A pass fail
order=()
skipped=0   # bats tests that skipped: neither passed nor failed

record() {  # record STAGE PASSED FAILED
    order+=("$1")
    pass[$1]=$2
    fail[$1]=$3
}

heading() { printf '\n=== %s ===\n' "$1"; }

isolate=$root/scripts/isolate.sh
isolation=$("$isolate" --mode)

# POSIX message queues are only visible under /dev/mqueue once that is
# mounted; the leak guard needs to see them.  (A private namespace mounts
# its own.)
ensure_mqueue_mounted() {
    [[ $isolation == none ]] || return 0
    grep -qs ' /dev/mqueue mqueue ' /proc/mounts && return 0
    if [[ $(id -u) -eq 0 ]]; then
        mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue && return 0
    fi
    echo "note: /dev/mqueue is not mounted; leaked POSIX message queues cannot be seen" >&2
}

run_unit() {
    local exe p=0 f=0 line
    heading "unit tests (CUnit)"
    for exe in "$IPCLAB_BUILD"/tests/unit/test_*; do
        [[ -x $exe && $exe != *.* ]] || continue
        "$isolate" "$exe" > "$logs/unit.out" 2>&1
        local rc=$?
        cat "$logs/unit.out"
        # CUnit's run summary: "tests  <total> <ran> <passed> <failed> <inactive>"
        line=$(awk '$1 == "tests" && NF >= 5 { print $4, $5 }' "$logs/unit.out" | tail -n 1)
        if [[ -z $line ]]; then
            echo "!! $exe ended without a CUnit summary (exit $rc)"
            f=$((f + 1))
            continue
        fi
        p=$((p + ${line% *}))
        f=$((f + ${line#* }))
        if ((rc != 0)) && ((${line#* } == 0)); then
            echo "!! $exe exited $rc"
            f=$((f + 1))
        fi
    done
    record "unit tests (CUnit)" "$p" "$f"
}

# One bats run per file, each in its own namespace.  A file whose plan was
# not met (bats crashed mid-file) or whose bats exited non-zero with every
# test passed counts one failure more.
run_bats() {
    local files=("$@") file p=0 f=0 fp ff fs planned rc
    heading "program tests (bats)"
    ensure_mqueue_mounted
    ((${#files[@]} > 0)) || mapfile -t files < <(ls tests/*.bats tests/chapters/*.bats 2>/dev/null)
    for file in "${files[@]}"; do
        echo "# $file"
        "$isolate" bats --tap "$file" > "$logs/bats.out" 2>&1
        rc=$?
        cat "$logs/bats.out"
        fs=$(grep -c '^ok .* # skip' "$logs/bats.out")
        fp=$(($(grep -c '^ok ' "$logs/bats.out") - fs))
        ff=$(grep -c '^not ok ' "$logs/bats.out")
        planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$logs/bats.out" | head -n 1)
        if [[ -z $planned ]] || ((fp + ff + fs != planned)); then
            echo "!! $file: bats planned ${planned:-?} tests and reported $((fp + ff + fs))"
            ff=$((ff + 1))
        elif ((rc != 0 && ff == 0)); then
            echo "!! $file: bats exited $rc with every test passed"
            ff=$((ff + 1))
        fi
        p=$((p + fp))
        f=$((f + ff))
        skipped=$((skipped + fs))
    done
    record "program tests (bats)" "$p" "$f"
}

run_race() {
    local line
    heading "race checks"
    "$isolate" tests/race/race-checks.sh | tee "$logs/race.out"
    line=$(sed -n 's/^race: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$logs/race.out")
    if [[ -z $line ]]; then
        record "race checks" 0 1
    else
        record "race checks" "${line% *}" "${line#* }"
    fi
}

case $stage in
    all)  run_unit; run_bats; run_race ;;
    unit) run_unit ;;
    bats) run_bats "$@" ;;
    race) run_race ;;
    *) echo "usage: $0 [all|unit|bats|race]" >&2; exit 2 ;;
esac

total_pass=0 total_fail=0
heading "summary ($IPCLAB_BUILD, ${CC:-cc})"
for s in "${order[@]}"; do
    printf '%-24s %5d passed, %d failed\n' "$s" "${pass[$s]}" "${fail[$s]}"
    total_pass=$((total_pass + pass[$s]))
    total_fail=$((total_fail + fail[$s]))
done
((skipped == 0)) || echo "skipped: $skipped bats tests (each says why in its line above)"
case $isolation in
    root) echo "isolation: private IPC namespace per test file (unshare --ipc --mount, as root)" ;;
    user) echo "isolation: private IPC namespace per test file (unshare -r: tests ran as the namespace's root, so IPC permission checks were not exercised)" ;;
    *)    echo "isolation: none (snapshot guard: System V leaks reported, not removed; objects of other programs can fail a test)" ;;
esac
echo "total: $total_pass passed, $total_fail failed"
((total_fail == 0))
