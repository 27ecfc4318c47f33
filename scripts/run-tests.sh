#!/usr/bin/env bash
# run-tests.sh [all|unit|bats|race] - run ipclab's test stages and summarise.
#
#   unit  every CUnit executable under $IPCLAB_BUILD/tests/unit
#   bats  every bats file: tests/*.bats and tests/chapters/*.bats
#   race  tests/race/race-checks.sh
#
# Called by `make test` (all), `make unit`, `make bats` and `make race`, after
# the binaries are built.  Prints each stage's own output, then one summary;
# the last line is "total: N passed, M failed".  Exits 1 if anything failed
# or a stage could not run.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
export IPCLAB_BUILD=${IPCLAB_BUILD:-build}
export LC_ALL=C.UTF-8
stage=${1:-all}
logs=$(mktemp -d "${TMPDIR:-/tmp}/ipclab-tests.XXXXXX")
trap 'rm -rf "$logs"' EXIT

declare -A pass fail
order=()

record() {  # record STAGE PASSED FAILED
    order+=("$1")
    pass[$1]=$2
    fail[$1]=$3
}

heading() { printf '\n=== %s ===\n' "$1"; }

# POSIX message queues are only visible under /dev/mqueue once that is
# mounted; the leak guard needs to see them.
ensure_mqueue_mounted() {
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
        "$exe" > "$logs/unit.out" 2>&1
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

run_bats() {
    local files=() p f
    heading "program tests (bats)"
    ensure_mqueue_mounted
    mapfile -t files < <(ls tests/*.bats tests/chapters/*.bats 2>/dev/null)
    bats --tap "${files[@]}" | tee "$logs/bats.out"
    p=$(grep -c '^ok ' "$logs/bats.out")
    f=$(grep -c '^not ok ' "$logs/bats.out")
    # A plan that was not met (bats crashed mid-file) counts as a failure.
    local planned
    planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$logs/bats.out" | head -n 1)
    if [[ -z $planned ]] || ((p + f != planned)); then
        echo "!! bats planned ${planned:-?} tests and reported $((p + f))"
        f=$((f + 1))
    fi
    record "program tests (bats)" "$p" "$f"
}

run_race() {
    local line
    heading "race checks"
    tests/race/race-checks.sh | tee "$logs/race.out"
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
    bats) run_bats ;;
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
echo "total: $total_pass passed, $total_fail failed"
((total_fail == 0))
