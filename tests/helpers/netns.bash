# netns.bash - several "hosts" on one machine, for chapter 11's pool tests:
#
#     load '../helpers/netns'
#     netns_setup 2          # hosts h1 h2 and a dispatcher host d, or loopback
#     netns_run h1 CMD...    # CMD on host h1 (CMD itself when on loopback)
#     netns_teardown         # removes every namespace and link it made
#
# As root, when `ip netns` works, each host is a network namespace: the
# dispatcher's (d) holds a bridge, and every other host is joined to it by
# a veth pair; all of them get addresses on a /24 of 10.0.0.0/8 chosen for
# the run, with loopback up and no route anywhere else, so traffic stays
# between these namespaces.  Names carry a prefix made for the run, so two
# runs never meet.  Otherwise (not root, or `ip netns` fails, as inside a
# user namespace) every host is this machine's loopback: NETNS_MODE says
# which, and NETNS_WHY why.
#
# Sets NETNS_MODE (netns or loopback), NETNS_PREFIX, and for each host H:
# NETNS_NS[H] (namespace name, empty on loopback) and NETNS_ADDR[H].

declare -gA NETNS_NS NETNS_ADDR
NETNS_MODE=loopback
NETNS_WHY=
NETNS_PREFIX=
_NETNS_MADE=()

_netns_ip() { ip "$@" 2>"$BATS_TEST_TMPDIR/netns.err"; }

# netns_setup N: hosts d and h1..hN (N from 1 to 3).  Never fails: on any
# error it removes what it made and falls back to loopback.
netns_setup() {
    local n=$1 i net
    NETNS_MODE=loopback
    NETNS_ADDR[d]=127.0.0.1
    for ((i = 1; i <= n; i++)); do NETNS_ADDR[h$i]=127.0.0.1; NETNS_NS[h$i]=; done
    NETNS_NS[d]=
    if (($(id -u) != 0)); then NETNS_WHY="not root"; return 0; fi
    if ! command -v ip > /dev/null; then NETNS_WHY="no ip command (iproute2)"; return 0; fi
    # Short: interface names hold at most 15 characters.
    NETNS_PREFIX=z$((RANDOM % 1000))$((RANDOM % 1000))
    net=10.$((RANDOM % 200 + 20)).$((RANDOM % 256))
    if ! _netns_make "$n" "$net"; then
        NETNS_WHY="ip netns failed: $(head -n 1 "$BATS_TEST_TMPDIR/netns.err")"
        netns_teardown || true
        NETNS_ADDR[d]=127.0.0.1
        for ((i = 1; i <= n; i++)); do NETNS_ADDR[h$i]=127.0.0.1; NETNS_NS[h$i]=; done
        NETNS_NS[d]=
        return 0
    fi
    NETNS_MODE=netns
}

_netns_make() {
    local n=$1 net=$2 i p=$NETNS_PREFIX d=ipclab-$NETNS_PREFIX-d h
    _NETNS_MADE+=("$d")                 # first: a failed add may leave its file
    _netns_ip netns add "$d" || return 1
    NETNS_NS[d]=$d
    NETNS_ADDR[d]=$net.1
    _netns_ip -n "$d" link set lo up || return 1
    _netns_ip -n "$d" link add "${p}br" type bridge || return 1
    _netns_ip -n "$d" addr add "$net.1/24" dev "${p}br" || return 1
    _netns_ip -n "$d" link set "${p}br" up || return 1
    for ((i = 1; i <= n; i++)); do
        h=ipclab-$NETNS_PREFIX-h$i
        _NETNS_MADE+=("$h")
        _netns_ip netns add "$h" || return 1
        NETNS_NS[h$i]=$h
        NETNS_ADDR[h$i]=$net.$((i + 1))
        _netns_ip -n "$h" link set lo up || return 1
        # Made inside host i's namespace: no link ever exists here.
        _netns_ip -n "$h" link add "${p}h$i" type veth peer name "${p}d$i" netns "$d" || return 1
        _netns_ip -n "$h" addr add "$net.$((i + 1))/24" dev "${p}h$i" || return 1
        _netns_ip -n "$h" link set "${p}h$i" up || return 1
        _netns_ip -n "$d" link set "${p}d$i" master "${p}br" || return 1
        _netns_ip -n "$d" link set "${p}d$i" up || return 1
    done
}

# netns_run HOST CMD...: runs CMD on HOST (in its namespace, or here).
netns_run() {
    local host=$1
    shift
    if [[ -n ${NETNS_NS[$host]:-} ]]; then
        ip netns exec "${NETNS_NS[$host]}" "$@"
    else
        "$@"
    fi
}

# netns_teardown: removes the namespaces (their links go with them).
# Returns 1 if one of them, or a link of this run, is still there.
netns_teardown() {
    local ns left
    for ns in "${_NETNS_MADE[@]}"; do
        ip netns delete "$ns" 2>/dev/null || true
        # An `ip netns add` that failed half-way (its mount refused, as in
        # a user namespace) can leave the empty file it mounts on.
        [[ ! -e /run/netns/$ns ]] || rm -f "/run/netns/$ns" 2>/dev/null || true
    done
    _NETNS_MADE=()
    [[ -n $NETNS_PREFIX ]] || return 0
    left=$( { ip netns list 2>/dev/null; ip -o link show 2>/dev/null; } | grep -F -- "$NETNS_PREFIX" ) || true
    if [[ -n $left ]]; then
        echo "netns: left behind: $left" >&2
        return 1
    fi
}
