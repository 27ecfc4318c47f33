#!/usr/bin/env bash
# isolate.sh COMMAND [ARG]... - run COMMAND in its own IPC namespace.
# isolate.sh --mode           - print which isolation this machine allows.
#
# The test runner runs each test file (each bats file, each unit test, the
# race checks) through this, so the objects a test makes are the only ones
# it can see and the leak guard is exact: no other program's System V
# object or POSIX name can be blamed on a test, or removed by its guard.
#
# Inside, /dev/mqueue is a private mqueue mount (POSIX message queues) and
# /dev/shm a private tmpfs (POSIX shared memory and named semaphores are
# files there, not namespaced objects).  Modes, tried in this order:
#   root       unshare --ipc --mount --propagation private    (as root)
#   user       unshare -r --ipc --mount --propagation private (user namespaces)
#              The command then runs as root of the namespace, which bypasses
#              IPC permission checks: IPCLAB_NS_ROOT=1 tells a test that needs
#              a real EACCES to skip.
#   none       the command runs as it is; the leak guard falls back to
#              snapshots and reports, never removes, System V objects.
# IPCLAB_ISOLATION=none forces the last mode (to test the fallback).
#
# The command finds in its environment IPCLAB_ISOLATION (the mode),
# IPCLAB_IPC_NS (its namespace) and IPCLAB_OUTER_IPC_NS (the caller's); the
# leak guard trusts the namespace only when the two differ and the first is
# its own.
set -euo pipefail

# The part run inside the new namespaces: mount, record, exec.
if [[ ${1:-} == --inside ]]; then
    shift
    mount -t mqueue none /dev/mqueue
    mount -t tmpfs -o mode=1777 none /dev/shm
    IPCLAB_IPC_NS=$(readlink /proc/self/ns/ipc)
    export IPCLAB_IPC_NS
    exec "$@"
fi

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

unshare_options() {  # the unshare options for this machine's mode, or nothing
    if [[ ${IPCLAB_ISOLATION:-} == none ]]; then
        return 1
    fi
    [[ -d /dev/mqueue && -d /dev/shm ]] || return 1
    local opts
    if [[ $(id -u) -eq 0 ]]; then
        opts="--ipc --mount --propagation private"
        if unshare $opts -- "$self" --inside true 2>/dev/null; then
            echo "root $opts"
            return 0
        fi
    fi
    opts="-r --ipc --mount --propagation private"
    if unshare $opts -- "$self" --inside true 2>/dev/null; then
        echo "user $opts"
        return 0
    fi
    return 1
}

if [[ ${1:-} == --mode ]]; then
    if found=$(unshare_options); then echo "${found%% *}"; else echo none; fi
    exit 0
fi
(($# > 0)) || { echo "usage: $0 COMMAND [ARG]... | --mode" >&2; exit 2; }

found=
if [[ ${IPCLAB_ISOLATION:-} != none ]]; then
    found=$(unshare_options) || found=
fi

if [[ -z $found ]]; then
    export IPCLAB_ISOLATION=none
    unset IPCLAB_IPC_NS IPCLAB_OUTER_IPC_NS IPCLAB_NS_ROOT
    exec "$@"
fi

mode=${found%% *}
export IPCLAB_ISOLATION=$mode
IPCLAB_OUTER_IPC_NS=$(readlink /proc/self/ns/ipc)
export IPCLAB_OUTER_IPC_NS
if [[ $mode == user ]]; then export IPCLAB_NS_ROOT=1; else unset IPCLAB_NS_ROOT; fi
# shellcheck disable=SC2086  # the options are words by design
exec unshare ${found#* } -- "$self" --inside "$@"
