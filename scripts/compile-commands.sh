#!/bin/sh
# compile-commands.sh - read make's dry-run compile lines on stdin and print
# a compile_commands.json with one entry per compiled file.
# Called by `make compile_commands.json`, which feeds it `make -n -B` of
# every object: each file gets the exact command it is built with, flags a
# chapter.mk adds included; no extra tool (bear) is needed.  The dependency
# flags (-MMD -MP) are dropped: an editor must not write .d files.
set -eu
dir=$(pwd)
json_escape() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
printf '[\n'
sep=''
grep -E ' -c -o [^ ]+\.o [^ ]+\.c$' | while IFS= read -r line; do
    file=${line##* }
    command=$(printf '%s' "$line" | sed 's/ -MMD -MP / /')
    printf '%s  {"directory": "%s", "file": "%s", "command": "%s"}' \
        "$sep" "$(json_escape "$dir")" "$(json_escape "$file")" "$(json_escape "$command")"
    sep=',
'
done
printf '\n]\n'
