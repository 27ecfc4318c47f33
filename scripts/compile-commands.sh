#!/bin/sh
# compile-commands.sh COMPILE_COMMAND FILE... - print a compile_commands.json
# for FILEs, each compiled with COMPILE_COMMAND from the project's root.
# Called by `make compile_commands.json`; no extra tool (bear) is needed.
set -eu
command=$1
shift
dir=$(pwd)
json_escape() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
printf '[\n'
sep=''
for file in "$@"; do
    printf '%s  {"directory": "%s", "file": "%s", "command": "%s -c %s"}' \
        "$sep" "$(json_escape "$dir")" "$(json_escape "$file")" \
        "$(json_escape "$command")" "$(json_escape "$file")"
    sep=',
'
done
printf '\n]\n'
