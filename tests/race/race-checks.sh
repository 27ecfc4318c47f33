#!/usr/bin/env bash
# race-checks.sh [CHECKS_FILE] - run every race check and print a table.
#
# Each line of tests/race/checks.txt names a program, a variant, a number of
# trials and what every trial's "result:" line must show.  A check passes
# only if every one of its trials does; it stops at its first failed trial
# (a broken lock can hang: each trial gets IPCLAB_RACE_TRIAL_S seconds, 20
# unless set).  Ends with "race: N passed, M failed" and exits 1 if any
# check failed.
#
# An argument written @LO..HI is drawn anew for every trial, a whole number
# from LO to HI, so the checks do not only try the README's numbers.  The
# draws come from IPCLAB_RACE_SEED (printed first; set it to repeat a run),
# and a failed trial names the arguments it ran with.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
checks=${1:-$root/tests/race/checks.txt}
build=${IPCLAB_BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
trial_s=${IPCLAB_RACE_TRIAL_S:-20}
seed=${IPCLAB_RACE_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$seed

# draw ARGS...: prints ARGS with every @LO..HI replaced by a number drawn
# from LO to HI.
draw() {
    local word words=() pattern='^@([0-9]+)\.\.([0-9]+)$'
    for word in "$@"; do
        if [[ $word =~ $pattern ]]; then
            local lo=${BASH_REMATCH[1]} hi=${BASH_REMATCH[2]}
            word=$(( lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1) ))
        fi
        words+=("$word")
    done
    printf '%s' "${words[*]}"
}

# field VAR KEY LINE: sets VAR to the value of KEY=... in LINE, or to "".
# Bash's own regex, not grep or sed: a fork per trial adds up under load.
field() {
    local pattern="[ :]$2=([^ ]*)"
    if [[ $3 =~ $pattern ]]; then
        printf -v "$1" '%s' "${BASH_REMATCH[1]}"
    else
        printf -v "$1" '%s' ""
    fi
}

median() {  # median of the numbers on stdin, "-" if none
    grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

passed=0 failed=0
echo "race: parameters written @LO..HI drawn with IPCLAB_RACE_SEED=$seed"
# "key" is what the check reads from the result line (lost, over, torn...);
# "key>0 in" counts the trials where it was above zero.
printf '%-34s %-16s %6s %-5s %8s %8s %9s  %s\n' demo variant trials key "key>0 in" median "median ms" verdict
while read -r program variant trials expect args; do
    [[ -z $program || $program == \#* ]] && continue
    binary=$build/chapters/$program
    if [[ ! -x $binary ]]; then
        printf '%-34s %-15s not built: %s\n' "$program" "$variant" "$binary"
        failed=$((failed + 1))
        continue
    fi
    case $expect in
        observe:*) key=${expect#observe:} op=observe want= ;;
        *'>='*)    key=${expect%%>=*} op='>=' want=${expect#*>=} ;;
        *'=='*)    key=${expect%%==*} op='==' want=${expect#*==} ;;
        *) echo "race-checks.sh: bad expect '$expect' for $program $variant" >&2; exit 2 ;;
    esac

    values=() times=() with_loss=0 bad=0 reason='' ran=0
    for ((t = 1; t <= trials && bad == 0; t++)); do
        # shellcheck disable=SC2086  # args are words by design
        drawn=$(draw $args)
        ran=$t
        # shellcheck disable=SC2086
        out=$(timeout -k 2 "$trial_s" "$binary" $drawn 2>&1)
        rc=$?
        line=
        [[ $out =~ (^|$'\n')(result:[^$'\n']*) ]] && line=${BASH_REMATCH[2]}
        field value "$key" "$line"
        if ((rc == 124)); then
            bad=1 reason="trial $t timed out after $trial_s s ($drawn)"
            continue
        elif ((rc != 0)) || [[ -z $value ]]; then
            bad=1 reason="trial $t: exit $rc ($drawn), output: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
            continue
        fi
        values+=("$value")
        field ms ms "$line"
        times+=("$ms")
        ((value > 0)) && with_loss=$((with_loss + 1))
        case $op in
            '>=') ((value >= want)) || { bad=1; reason="trial $t: $key=$value, below $want ($drawn)"; } ;;
            '==') ((value == want)) || { bad=1; reason="trial $t: $key=$value, not $want ($drawn)"; } ;;
        esac
    done

    if [[ $op == observe ]]; then
        verdict="observed: $key>0 in $with_loss of $trials runs (not asserted)"
        ((bad > 0)) && { verdict="FAIL: $reason"; failed=$((failed + 1)); }
    elif ((bad == 0)); then
        verdict="ok ($expect in every run)"
        passed=$((passed + 1))
    else
        verdict="FAIL: stopped at the first bad run; $reason"
        failed=$((failed + 1))
    fi
    printf '%-34s %-16s %6d %-5s %8s %8s %9s  %s\n' "$program" "$variant" "$ran" \
        "$key" "$with_loss" "$(printf '%s\n' ${values[@]+"${values[@]}"} | median)" \
        "$(printf '%s\n' ${times[@]+"${times[@]}"} | median)" "$verdict"
done < "$checks"

echo "race: $passed passed, $failed failed"
((failed == 0))
