#!/usr/bin/env bash
# tsan-check.sh PROGRAM - run thread_counter built with -fsanitize=thread
# under every --lock and check what ThreadSanitizer says (`make tsan`).
#
#   --lock none                    must be reported: "WARNING: ThreadSanitizer:
#                                  data race" on stderr, naming the worker
#   --lock mutex, spinlock, atomic must be clean: exit 0, no report
#
# Each lock runs twice: unpinned, and pinned with the yield window that the
# race checks use.  TSan reasons about happens-before, not about which
# interleaving happened, so both runs must give the same answer.  TSan also
# exits 66 for its own fatal errors (an unsupported memory layout, say), so
# the status alone proves nothing: the report's text is what is checked.
set -uo pipefail

program=${1:?usage: tsan-check.sh PATH-TO-TSAN-BUILT-thread_counter}
[[ -x $program ]] || { echo "tsan-check.sh: not built: $program" >&2; exit 2; }
export TSAN_OPTIONS="exitcode=66 halt_on_error=0"
out=$(mktemp -d "${TMPDIR:-/tmp}/tsan-check.XXXXXX") || exit 2
trap 'rm -rf "$out"' EXIT

passed=0 failed=0
for lock in none mutex spinlock atomic; do
    for mode in "--iters 1000" "--iters 1000 --pin --window 100"; do
        # shellcheck disable=SC2086  # mode is words by design
        timeout -k 2 60 "$program" --lock "$lock" $mode >"$out/stdout" 2>"$out/stderr"
        rc=$?
        races=$(grep -c 'WARNING: ThreadSanitizer: data race' "$out/stderr")
        if [[ $lock == none ]]; then
            if ((rc == 66 && races > 0)) && grep -q 'add_one_many_times' "$out/stderr"; then
                verdict="ok: data race reported in add_one_many_times (exit 66)"
            else
                verdict="FAIL: expected a data race report; exit $rc, $races reports"
            fi
        elif ((rc == 0)) && ! grep -q 'ThreadSanitizer' "$out/stderr" &&
             grep -q '^result: .* lost=0 ' "$out/stdout"; then
            verdict="ok: clean, lost=0"
        else
            result=$(grep -m1 '^result:' "$out/stdout")
            verdict="FAIL: expected no report and lost=0; exit $rc, $races data race reports, $result"
        fi
        printf 'tsan: --lock %-8s %-32s %s\n' "$lock" "$mode" "$verdict"
        if [[ $verdict == ok* ]]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            sed 's/^/    /' "$out/stderr" | head -n 20
        fi
    done
done
echo "tsan: $passed passed, $failed failed"
((failed == 0))
