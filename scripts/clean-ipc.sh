#!/usr/bin/env bash
# clean-ipc.sh [--dry-run] - find and remove what ipclab programs left
# behind when they could not clean up (kill -9, a crash, a power cut).
# `make clean-ipc` runs it.
#
# It looks, among what the current user owns only, for
#   - POSIX shared memory, semaphores and message queues named with the
#     ipclab prefix ($IPCLAB_PREFIX, default "ipclab": /dev/shm/ipclab-*,
#     /dev/shm/sem.ipclab-*, /dev/mqueue/ipclab-*) whose creating process
#     (the number in the name, lib/ipc_names.c) is no longer running;
#   - private directories $TMPDIR/ipclab-* (FIFOs, sockets, key files
#     inside) that no running process holds (open file, working directory,
#     bound socket);
#   - System V objects whose key ftok() made from a key file in a leftover
#     ipclab-key-* directory.  ftok's key is proj_id << 24 | (st_dev & 0xff)
#     << 16 | (st_ino & 0xffff); the programs accept any proj_id, so the low
#     24 bits are matched;
# and removes each, saying what it removed.  With --dry-run it only says
# what it would remove.  It never removes what it cannot attribute: System V
# objects made with IPC_PRIVATE carry no name or key, so they are listed
# with the command that would remove them, for you to decide; so are
# ipclab programs still running whose parent is gone.
set -uo pipefail

dry=0
case ${1:-} in
    --dry-run) dry=1 ;;
    '') ;;
    -h|--help)
        sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"
        exit 0 ;;
    *) echo "clean-ipc.sh: unknown argument '$1'" >&2
       echo "Usage: clean-ipc.sh [--dry-run]" >&2
       exit 2 ;;
esac

prefix=${IPCLAB_PREFIX:-ipclab}
tmp=${TMPDIR:-/tmp}
tmp=${tmp%/}
uid=$(id -u)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
removed=0 kept=0 unattributed=0

# remove WHAT COMMAND...: removes (or, with --dry-run, names) one thing.
remove() {
    local what=$1
    shift
    if ((dry)); then
        echo "would remove $what"
    elif "$@" 2>/dev/null; then
        echo "removed $what"
        removed=$((removed + 1))
    else
        echo "could not remove $what"
    fi
}

alive() { [[ -n $1 && $1 != 0 && -e /proc/$1 ]]; }

# --- POSIX names: prefix-WHAT-PID-SEQ-SALT ------------------------------------
for path in /dev/shm/"$prefix"-* /dev/shm/sem."$prefix"-* /dev/mqueue/"$prefix"-*; do
    [[ -e $path && $(stat -c %u "$path") == "$uid" ]] || continue
    name=${path##*/}
    fields=${name%-*}       # drop the salt
    fields=${fields%-*}     # and the sequence number
    pid=${fields##*-}
    [[ $pid =~ ^[0-9]+$ ]] || { echo "not an ipclab name, left alone: $path"; continue; }
    if alive "$pid"; then
        echo "in use by running process $pid, left alone: $path"
        kept=$((kept + 1))
        continue
    fi
    case $path in
        /dev/mqueue/*) kind="POSIX message queue" ;;
        */sem.*)       kind="POSIX named semaphore" ;;
        *)             kind="POSIX shared memory" ;;
    esac
    remove "$kind /${name#sem.} (its creator, pid $pid, is gone)" rm -f -- "$path"
done

# --- private directories ---------------------------------------------------------
# dir_in_use DIR: a process has a file in DIR open or DIR as its working
# directory, or a socket file in DIR is bound.
dir_in_use() {
    local dir=$1 sock
    [[ -n $(find /proc/[0-9]*/cwd /proc/[0-9]*/fd -maxdepth 1 \( -lname "$dir" -o -lname "$dir/*" \) \
              -print -quit 2>/dev/null) ]] && return 0
    while IFS= read -r sock; do
        awk -v p="$sock" '$NF == p { found = 1 } END { exit !found }' /proc/net/unix && return 0
    done < <(find "$dir" -type s 2>/dev/null)
    return 1
}

# A key file holds nothing open while its queue is in use: a key directory
# counts as in use while an ipclab program runs with the same TMPDIR.
programs=" $(cd "$root/chapters" 2>/dev/null && for f in */*.c; do f=${f##*/}; printf '%s ' "${f%.c}"; done)"
# ipclab_programs: "PID EXE" of each running ipclab program (a chapter's
# program, run from a build's chapters/ directory).
ipclab_programs() {
    local link exe pid
    while read -r link exe; do
        pid=${link#/proc/}; pid=${pid%/exe}
        [[ $programs == *" ${exe##*/} "* ]] && echo "$pid $exe"
    done < <(find /proc/[0-9]*/exe -maxdepth 0 -lname '*/chapters/*' -printf '%p %l\n' 2>/dev/null)
}
ipclab_running_here() {
    local exe pid env_tmp
    while read -r pid exe; do
        env_tmp=$(tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | sed -n 's/^TMPDIR=//p')
        env_tmp=${env_tmp:-/tmp}
        [[ ${env_tmp%/} == "$tmp" ]] && { echo "$pid"; return 0; }
    done < <(ipclab_programs)
    return 1
}

# The low 24 bits of ftok()'s key for each file in DIR.
ftok_low24() {
    local file dev ino
    while IFS= read -r file; do
        read -r dev ino < <(stat -c '%d %i' "$file")
        echo $(( ((dev & 0xff) << 16) | (ino & 0xffff) ))
    done < <(find "$1" -type f 2>/dev/null)
}

# remove_sysv_keyed LOW24...: the System V objects of this user whose key
# has those low 24 bits.
remove_sysv_keyed() {
    local kind file key id owner creator low
    for kind in msg sem shm; do
        file=/proc/sysvipc/$kind
        [[ -r $file ]] || continue
        # Columns: key id ... and uid, cuid at positions that differ by kind.
        while read -r key id owner creator; do
            ((key != 0)) || continue
            [[ $owner == "$uid" && $creator == "$uid" ]] || continue
            for low in "$@"; do
                if (((key & 0xffffff) == low)); then
                    case $kind in msg) opt=-q what="System V message queue" ;;
                                  sem) opt=-s what="System V semaphore set" ;;
                                  shm) opt=-m what="System V shared memory" ;; esac
                    remove "$what id $id (key $(printf '0x%08x' $((key & 0xffffffff))), from a leftover key file)" ipcrm "$opt" "$id"
                fi
            done
        done < <(awk -v kind="$kind" 'NR > 1 {
                    if (kind == "msg") print $1, $2, $8, $10;
                    else if (kind == "sem") print $1, $2, $5, $7;
                    else print $1, $2, $8, $10 }' "$file")
    done
}

for dir in "$tmp"/ipclab-*; do
    [[ -d $dir && ! -L $dir && $(stat -c %u "$dir") == "$uid" ]] || continue
    if dir_in_use "$dir"; then
        echo "in use by a running process, left alone: $dir"
        kept=$((kept + 1))
        continue
    fi
    if [[ ${dir##*/} == ipclab-key-* ]] && pid=$(ipclab_running_here); then
        echo "an ipclab program (pid $pid) is running with this TMPDIR, left alone: $dir"
        kept=$((kept + 1))
        continue
    fi
    if [[ ${dir##*/} == ipclab-key-* ]]; then
        mapfile -t lows < <(ftok_low24 "$dir")
        ((${#lows[@]} == 0)) || remove_sysv_keyed "${lows[@]}"
    fi
    inside=$(find "$dir" -mindepth 1 -printf '%f (%y) ' 2>/dev/null | sed 's/(p)/(FIFO)/g; s/(s)/(socket)/g; s/(f)/(file)/g; s/(d)/(directory)/g')
    inside=${inside% }
    remove "private directory $dir${inside:+ with $inside}" rm -rf -- "$dir"
done

# --- what cannot be attributed ---------------------------------------------------
while read -r kind key id owner creator cpid; do
    ((key == 0)) || continue
    [[ $owner == "$uid" ]] || continue
    case $kind in msg) opt=-q what="System V message queue" ;;
                  sem) opt=-s what="System V semaphore set" ;;
                  shm) opt=-m what="System V shared memory" ;; esac
    note=
    [[ $kind == shm ]] && { if alive "$cpid"; then note=", its creator (pid $cpid) is running"; else note=", its creator (pid $cpid) is gone"; fi; }
    echo "cannot attribute (IPC_PRIVATE: no key or name ties it to ipclab$note): $what id $id; if it is a leftover: ipcrm $opt $id"
    unattributed=$((unattributed + 1))
done < <(for kind in msg sem shm; do
             [[ -r /proc/sysvipc/$kind ]] || continue
             awk -v kind="$kind" 'NR > 1 {
                 if (kind == "msg") print kind, $1, $2, $8, $10, 0;
                 else if (kind == "sem") print kind, $1, $2, $5, $7, 0;
                 else print kind, $1, $2, $8, $10, $5 }' "/proc/sysvipc/$kind"
         done)

while read -r pid exe; do
    [[ $(stat -c %u "/proc/$pid" 2>/dev/null) == "$uid" ]] || continue
    ppid=$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null)
    [[ $ppid == 1 ]] || continue
    echo "cannot attribute: ipclab program ${exe##*/} (pid $pid) runs with no parent; if it is a leftover: kill $pid"
    unattributed=$((unattributed + 1))
done < <(ipclab_programs)

if ((dry)); then
    echo "clean-ipc: dry run, nothing removed; $kept in use, $unattributed not attributable"
else
    echo "clean-ipc: removed $removed; $kept in use, $unattributed not attributable"
fi
