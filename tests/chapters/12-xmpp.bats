#!/usr/bin/env bats
# Chapter 12: messaging through a broker, a private ejabberd (chapters/12-xmpp).
# One server for the whole file (setup_file: start-up costs seconds, see
# the chapter's README), listening on 127.0.0.1 on a free port, with its
# configuration, database and logs in this file's own directory; the last
# step (teardown_file) stops it.  Every wait is on readiness: the server's
# port, the bot's "online" line.

load '../helpers/ipclab'

ch=12-xmpp

setup_file() {
    export server_dir=$BATS_FILE_TMPDIR/server
    export server_sh=$IPCLAB_ROOT/chapters/$ch/xmpp-server.sh
    port=$("$server_sh" start "$server_dir" alice:alice-pw bob:bob-pw bot:bot-pw 2>"$BATS_FILE_TMPDIR/start.err") ||
        { cat "$BATS_FILE_TMPDIR/start.err" >&3; return 1; }
    export port
}

teardown_file() {
    [[ ! -d ${server_dir:-/nonexistent} ]] || "$server_sh" stop "$server_dir"
}

setup() {
    ipclab_setup
    alice=(--port "$port" --jid alice@localhost --password alice-pw)
}

teardown() {
    # A bot a failed test left running: stop it, so the guard reports the
    # failure, not a leftover.
    if [[ -n ${bg_pid:-} ]] && kill -0 "$bg_pid" 2>/dev/null; then
        kill -KILL "$bg_pid"
        wait "$bg_pid" || true
    fi
    ipclab_teardown
}

# start_bot [ARG]...: the echo bot, in the background, once it is online.
start_bot() {
    start_background $ch/xmpp_echo --port "$port" --jid bot@localhost/echo --password bot-pw "$@"
    wait_for_output "xmpp_echo: online as bot@localhost/echo"
}

# stop_bot: SIGTERM, and the bot's goodbye.
stop_bot() {
    finish_background TERM
    assert_equal "$status" 0
    assert_line --regexp '^xmpp_echo: SIGTERM: presence unavailable sent, stream closed after [0-9]+ answers'
}

# ctl ARG...: ejabberd's admin command on this file's server.
ctl() {
    HOME=$server_dir /usr/sbin/ejabberdctl -c "$server_dir/ejabberdctl.cfg" -d "$server_dir" \
        -f "$server_dir/ejabberd.yml" -s "$server_dir/spool" -l "$server_dir/log" "$@" 2>/dev/null
}

@test "the server is private: 127.0.0.1, not port 5222, its files in the run's directory, no epmd" {
    [[ $port != 5222 ]]
    grep -q 'ip: "127.0.0.1"' "$server_dir/ejabberd.yml"
    local pid
    pid=$(cat "$server_dir/beam.pid")
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "-mnesia dir \"$server_dir/spool\""
    grep -qzx "HOME=$server_dir" "/proc/$pid/environ"
    [[ -s $server_dir/log/ejabberd.log ]]
    ! pgrep -x epmd
    run ctl registered_users localhost
    assert_success
    assert_output --partial alice
}

@test "xmpp-server.sh stop leaves no process, no open port and no file; the system spool is untouched" {
    local dir=$BATS_TEST_TMPDIR/second p stamp=$BATS_TEST_TMPDIR/stamp
    touch "$stamp"
    p=$("$server_sh" start "$dir" carol:carol-pw 2>/dev/null)
    run_program $ch/xmpp_send --port "$p" --jid carol@localhost --password carol-pw --to bot@localhost
    assert_success
    run "$server_sh" stop "$dir"
    assert_success
    [[ ! -e $dir ]]
    ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
    run grep -lszxF "HOME=$dir" /proc/[0-9]*/environ
    assert_output ""
    local d
    for d in /var/lib/ejabberd /var/log/ejabberd; do
        [[ ! -d $d ]] || { run find "$d" -newer "$stamp"; assert_output ""; }
    done
}

@test "xmpp_send: the bot answers through the broker, paired by the request's id" {
    start_bot
    run_program $ch/xmpp_send "${alice[@]}" --to bot@localhost/echo --body "ping 42" --wait-reply
    assert_success
    assert_line "xmpp_send: alice@localhost sent a chat message of 7 bytes to bot@localhost/echo"
    assert_line "xmpp_send: reply from bot@localhost/echo: echo: ping 42"
    stop_bot
    assert_line --regexp '^xmpp_echo: answered alice@localhost/[^ ]*: ping 42$'
}

@test "xmpp_send: a wrong password is one clear line and status 1, quickly" {
    local start=$SECONDS
    run_program $ch/xmpp_send --port "$port" --jid alice@localhost --password wrong --to bot@localhost
    assert_equal "$status" 1
    assert_equal "${#stderr_lines[@]}" 1
    assert_equal "$stderr" "xmpp_send: the server refused the login (wrong password or unknown user)"
    ((SECONDS - start < 10))
}

@test "xmpp_send: a server that is down and an unknown host are one line and status 1" {
    # Nothing listens on port 1 here.
    run_program $ch/xmpp_send --port 1 --timeout-ms 2000
    assert_equal "$status" 1
    assert_equal "$stderr" "xmpp_send: cannot reach the server: connect: ECONNREFUSED (Connection refused)"
    run_program $ch/xmpp_send --host no-such-host.invalid --timeout-ms 2000
    assert_equal "$status" 1
    assert_equal "${#stderr_lines[@]}" 1
    [[ $stderr == "xmpp_send: cannot reach the server at no-such-host.invalid port 5222"* ]] ||
        fail "unexpected: $stderr"
}

@test "xmpp_send: a malformed JID is a usage error, before any connection" {
    run_program $ch/xmpp_send "${alice[@]}" --to "no at sign"
    assert_usage_error "--to: 'no at sign' is not a JID"
    run_program $ch/xmpp_send "${alice[@]}" --to "a@b@c"
    assert_usage_error "is not a JID"
    run_program $ch/xmpp_send --port "$port" --jid "@localhost" --password x
    assert_usage_error "--jid: '@localhost' is not a JID"
}

@test "over-long bodies: the bot refuses one over its limit, the server closes the stream over its own" {
    start_bot --max-body 1024
    run_program $ch/xmpp_send "${alice[@]}" --body-size 5000 --wait-reply
    assert_success
    assert_line "xmpp_send: error reply from bot@localhost/echo: not-acceptable (a body of 5000 bytes is over this bot's 1024-byte limit)"
    run_program $ch/xmpp_send "${alice[@]}" --body-size 70000 --wait-reply
    assert_equal "$status" 1
    assert_equal "$stderr" "xmpp_send: the server closed the stream: policy-violation (XML stanza is too big)"
    stop_bot
    assert_line --partial "refused an over-long message from alice@localhost"
}

@test "stanzas the bot does not understand: an iq gets service-unavailable, a bodiless message a log line" {
    start_bot
    run_program $ch/xmpp_send "${alice[@]}" --kind iq --wait-reply
    assert_success
    assert_line "xmpp_send: error reply from bot@localhost/echo: service-unavailable (this bot only answers chat messages)"
    run_program $ch/xmpp_send "${alice[@]}" --kind nobody
    assert_success
    # The bot is still there and answers after both.
    run_program $ch/xmpp_send "${alice[@]}" --body after --wait-reply
    assert_line "xmpp_send: reply from bot@localhost/echo: echo: after"
    stop_bot
    assert_line "xmpp_echo: answered an iq it does not understand (urn:ipclab:unknown) with service-unavailable"
    assert_line --regexp '^xmpp_echo: ignored a message without a body from alice@localhost/'
}

@test "php/xmpp_send.php: a PHP client over a plain socket gets the C bot's answer" {
    start_bot
    run timeout 20 php "$IPCLAB_ROOT/chapters/$ch/php/xmpp_send.php" "$port" alice alice-pw \
        bot@localhost/echo "hello from PHP <&>"
    assert_success
    assert_output "reply from bot@localhost/echo: echo: hello from PHP <&>"
    run timeout 20 php "$IPCLAB_ROOT/chapters/$ch/php/xmpp_send.php" "$port" alice wrong bot@localhost/echo x
    assert_equal "$status" 1
    assert_output --partial "xmpp_send.php: the server refused the login"
    stop_bot
    assert_line "xmpp_echo: answered alice@localhost/php: hello from PHP <&>"
}

# (That presence unavailable reaches a contact is checked by the xmpp_chat
# test: bob logs out through the same xs_close(), and alice sees it.)
@test "xmpp_echo: SIGTERM closes the stream and exits 0; the server no longer lists the session" {
    start_bot
    run ctl connected_users
    assert_line "bot@localhost/echo"
    stop_bot
    assert_line --partial "(0 refused, 0 ignored)"
    run ctl connected_users
    refute_output --partial "bot@localhost/echo"
}

@test "xmpp_chat: presence seen both ways, 2x50 messages in order, 3 stored for offline bob and delivered" {
    run_program $ch/xmpp_chat --port "$port" --alice-password alice-pw --bob-password bob-pw --count 50 --offline 3
    assert_success
    assert_line "alice: bob is offline"
    assert_line "alice: sent 3 messages to bob while he is offline; the server holds them"
    assert_line "bob: 3 messages were waiting, delivered from the offline store"
    assert_line --regexp '^result: sent=100 received=100 in_order=yes presence=online,offline,online(,offline)? offline_sent=3 offline_delivered=3 delayed=3$'
}

@test "xmpp_workq: every request answered through the bot, beside a Unix socket" {
    start_bot --quiet
    run_program $ch/xmpp_workq "${alice[@]}" --count 100 --window 8
    assert_success
    assert_line --regexp '^xmpp_workq: 100 round trips through ejabberd: [0-9.]+ us median, [0-9.]+ us p99, [0-9]+ per second$'
    assert_line --regexp '^xmpp_workq: 100 requests, 8 in flight, through ejabberd: [0-9]+ per second$'
    assert_line --regexp '^xmpp_workq: 100 round trips over a Unix socket pair: '
    stop_bot
    assert_line --partial "stream closed after 200 answers"
}

@test "xmpp_workq: requests to a user that does not exist: the server's error replies, one line, status 1" {
    run_program $ch/xmpp_workq "${alice[@]}" --to nobody@localhost/none --count 5 --timeout-ms 3000
    assert_equal "$status" 1
    assert_equal "$stderr" "xmpp_workq: 10 of 10 replies were error stanzas: is a bot logged in as nobody@localhost/none?"
}

@test "xmpp_workq: a bot that never answers is one line and status 1 after --timeout-ms" {
    # alice sends to her own resource that is not online: the server keeps
    # the messages for her (nobody answers them).
    local start=$SECONDS
    run_program $ch/xmpp_workq "${alice[@]}" --to alice@localhost/absent --count 3 --timeout-ms 1000
    assert_equal "$status" 1
    assert_equal "$stderr" "xmpp_workq: 0 of 3 requests answered: the bot (alice@localhost/absent) stopped answering for 1000 ms"
    ((SECONDS - start >= 1 && SECONDS - start < 10))
}
