#!/usr/bin/env bash
# xmpp-server.sh - a private ejabberd for one run: start it, stop it.
#
#   xmpp-server.sh start DIR [USER:PASSWORD]...
#       makes DIR (it must not exist), writes ejabberd's configuration there,
#       starts ejabberd listening on 127.0.0.1 on a free port, waits until
#       the port accepts, registers each USER@localhost with ejabberd's own
#       admin command, and prints the port.  DIR/port holds it too.
#   xmpp-server.sh stop DIR
#       stops that ejabberd with the admin command, waits until its
#       processes are gone and its port is closed, then removes DIR.
#   xmpp-server.sh port DIR
#       prints the port of the server running from DIR.
#   xmpp-server.sh online DIR JID
#       waits until the server lists JID (user@domain/resource) among its
#       connected sessions, asking with the admin command.
#
# Everything the server writes stays in DIR: the configuration (-d, -c, -f:
# nothing is read from /etc/ejabberd), the Mnesia database (-s: not
# /var/lib/ejabberd), the logs (-l), the Erlang cookie ($HOME is DIR) and
# the pid file.  The Erlang distribution port is fixed (ERL_DIST_PORT), so
# no epmd daemon is started and none is left behind.  ejabberdctl only runs
# as root or as the ejabberd user (root of a user namespace counts).
# XMPP_SERVER_TIMEOUT (seconds, default 60) bounds every wait.
set -euo pipefail

me=xmpp-server.sh
timeout=${XMPP_SERVER_TIMEOUT:-60}
ejabberdctl=${EJABBERDCTL:-/usr/sbin/ejabberdctl}

fail() { echo "$me: $*" >&2; exit 1; }
usage() {
    echo "Usage: $me start DIR [USER:PASSWORD]... | stop DIR | port DIR | online DIR JID" >&2
    exit 2
}

# port_open PORT: true when something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port nobody listens on, and the one after it (Erlang's own port).
free_port() {
    local port tries
    for tries in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + RANDOM % 25000))
        if ! port_open "$port" && ! port_open $((port + 1)); then
            echo "$port"
            return 0
        fi
    done
    fail "no free port found"
}

# ctl DIR ARG...: ejabberd's admin command, on the instance in DIR only.
ctl() {
    local dir=$1
    shift
    HOME=$dir "$ejabberdctl" -c "$dir/ejabberdctl.cfg" -d "$dir" -f "$dir/ejabberd.yml" \
        -s "$dir/spool" -l "$dir/log" "$@" 2> >(grep -v -e 'inet_config' -e '^=ERROR REPORT' -e '^$' >&2)
}

# The pids of the processes of the server in DIR: beam.smp and its helpers
# (erl_child_setup, inet_gethost) all have HOME=DIR in their environment.
pids_of() {
    grep -lszxF -- "HOME=$1" /proc/[0-9]*/environ 2>/dev/null |
        sed 's|/proc/\([0-9]*\)/environ|\1|' || true
}

write_config() {
    local dir=$1 port=$2
    mkdir -p "$dir/spool" "$dir/log"
    # The cookie lets only programs that can read DIR talk to the node.
    (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$dir/.erlang.cookie")
    printf '{lookup, [file, native]}.\n' > "$dir/inetrc"
    cat > "$dir/ejabberdctl.cfg" <<CFG
EXEC_CMD=as_current_user
ERLANG_NODE=ipclab$$x$RANDOM@localhost
ERL_DIST_PORT=$((port + 1))
INET_DIST_INTERFACE=127.0.0.1
EJABBERD_PID_PATH=$dir/ejabberd.pid
CONTRIB_MODULES_PATH=$dir/modules
CONTRIB_MODULES_CONF_DIR=$dir/modules.d
CFG
    # region: config
    # One client listener, no TLS (loopback only), passwords kept plain so
    # every SASL mechanism works, offline storage on (store and forward).
    cat > "$dir/ejabberd.yml" <<YML
loglevel: warning
hosts:
  - localhost
listen:
  -
    port: $port
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 65536
auth_method: internal
auth_password_format: plain
disable_sasl_mechanisms:
  - "digest-md5"
  - "x-oauth2"
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
shaper_rules:
  max_user_offline_messages: 1000
modules:
  mod_disco: {}
  mod_roster: {}
  mod_offline:
    access_max_user_messages: max_user_offline_messages
YML
    # end region: config
    echo "$port" > "$dir/port"
}

start() {
    local dir=$1 port t0 deadline pid spec
    shift
    [[ -e $dir ]] && fail "$dir exists already: give a new directory"
    mkdir -m 700 -p "$dir"
    dir=$(cd "$dir" && pwd)
    port=$(free_port)
    write_config "$dir" "$port"
    t0=$(date +%s%N)
    ctl "$dir" start || fail "ejabberdctl start failed (see $dir/log)"
    # Ready when the client port accepts; give up if the node died.
    deadline=$((SECONDS + timeout))
    until port_open "$port"; do
        if ((SECONDS >= deadline)) || { [[ -s $dir/ejabberd.pid ]] && ! kill -0 "$(cat "$dir/ejabberd.pid")" 2>/dev/null; }; then
            tail -n 5 "$dir/log/error.log" >&2 2>/dev/null || true
            stop "$dir" >/dev/null 2>&1 || true
            fail "ejabberd did not accept connections on port $port within $timeout s"
        fi
        sleep 0.05
    done
    pid=$(cat "$dir/ejabberd.pid")
    echo "$pid" > "$dir/beam.pid"
    echo "$me: ejabberd (pid $pid) ready on 127.0.0.1:$port after $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&2
    for spec in "$@"; do
        [[ $spec == ?*:?* ]] || { stop "$dir" >/dev/null 2>&1; fail "not USER:PASSWORD: $spec"; }
        ctl "$dir" register "${spec%%:*}" localhost "${spec#*:}" >/dev/null ||
            { stop "$dir" >/dev/null 2>&1; fail "could not register ${spec%%:*}"; }
    done
    (($# == 0)) || echo "$me: registered $# users in $(( ($(date +%s%N) - t0) / 1000000 )) ms since start" >&2
    echo "$port"
}

stop() {
    local dir=$1 given=$1 port deadline pids
    [[ -f $dir/ejabberdctl.cfg ]] || fail "$dir holds no server started by $me"
    dir=$(cd "$dir" && pwd)
    port=$(cat "$dir/port")
    ctl "$dir" stop >/dev/null 2>&1 || true
    deadline=$((SECONDS + timeout))
    while pids=$(pids_of "$dir") && [[ -n $pids ]]; do
        if ((SECONDS >= deadline)); then
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
            fail "ejabberd did not stop within $timeout s: killed pids $(echo $pids)"
        fi
        sleep 0.05
    done
    port_open "$port" && fail "port $port still accepts connections after the stop"
    port_open $((port + 1)) && fail "port $((port + 1)) still accepts connections after the stop"
    rm -rf "$dir"
    echo "$me: stopped; no process, port $port closed, $given removed" >&2
}

online() {
    local dir=$1 jid=$2 deadline=$((SECONDS + timeout))
    [[ -f $dir/ejabberdctl.cfg ]] || fail "$dir holds no server started by $me"
    dir=$(cd "$dir" && pwd)
    # Each question starts an Erlang VM (about half a second): no pause
    # is needed between them.
    until ctl "$dir" connected_users 2>/dev/null | grep -qxF -- "$jid"; do
        ((SECONDS < deadline)) || fail "$jid did not log in within $timeout s"
    done
    echo "$me: $jid is online" >&2
}

(($# >= 2)) || usage
case $1 in
    start) shift; start "$@" ;;
    stop) (($# == 2)) || usage; stop "$2" ;;
    port) (($# == 2)) || usage; cat "$2/port" ;;
    online) (($# == 3)) || usage; online "$2" "$3" ;;
    *) usage ;;
esac
