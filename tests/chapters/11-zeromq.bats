#!/usr/bin/env bats
# Chapter 11: ZeroMQ patterns (chapters/11-zeromq).  Servers bind where
# the system chooses and print the endpoint; the tests read it from there
# (no fixed port, no sleep).  The distributed pool is tested in
# 11-zeromq-pool.bats.

load '../helpers/ipclab'

ch=11-zeromq

# server_endpoint: the endpoint the background server printed.
server_endpoint() {
    wait_for_output 'serving on '
    sed -n 's/^serving on //p' "$BATS_TEST_TMPDIR/out" | head -n 1
}

@test "zmq_hello: a client gets one reply per request from the server over tcp; tcp binds 127.0.0.1 on a system port" {
    start_background $ch/zmq_hello_server --requests 3
    local ep
    ep=$(server_endpoint)
    [[ $ep =~ ^tcp://127\.0\.0\.1:[0-9]+$ ]] || fail "endpoint '$ep'"
    run_program $ch/zmq_hello_client --endpoint "$ep" --requests 3
    assert_success
    assert_line --index 0 --regexp "^client: 'hello 1' -> 'world: hello 1' \\([0-9.]+ ms\\)$"
    assert_line --index 2 --regexp "^client: 'hello 3' -> 'world: hello 3' "
    finish_background
    assert_equal "$status" 0
    assert_line "server: request 3 'hello 3' answered"
    assert_line 'server: 3 requests answered'
}

@test "zmq_hello_server over ipc: the socket file is in a private 0700 directory, gone after the run" {
    start_background $ch/zmq_hello_server --transport ipc --requests 1
    local ep path
    ep=$(server_endpoint)
    path=${ep#ipc://}
    [[ -S $path ]] || fail "no socket file $path"
    assert_equal "$(stat -c %a "$(dirname "$path")")" 700
    run_program $ch/zmq_hello_client --endpoint "$ep" --requests 1
    assert_success
    finish_background
    assert_equal "$status" 0
    [[ ! -e $path && ! -e $(dirname "$path") ]] || fail "left behind: $(ls -la "$(dirname "$path")")"
}

@test "zmq_hello_server: SIGTERM closes the sockets, removes the socket file and ends the run" {
    start_background $ch/zmq_hello_server --transport ipc --idle-ms 60000
    local ep path
    ep=$(server_endpoint)
    path=${ep#ipc://}
    finish_background TERM
    assert_equal "$status" 143
    assert_line 'server: stopped by SIGTERM after 0 replies'
    [[ ! -e $path && ! -e $(dirname "$path") ]] || fail "left behind: $path"
}

@test "zmq_hello_server: stops by itself after --idle-ms without a request" {
    local start=$SECONDS
    run_program $ch/zmq_hello_server --idle-ms 1000
    assert_success
    assert_line 'server: no request for 1000 ms: stopping'
    ((SECONDS - start >= 1)) || fail "stopped after less than its idle time"
}

@test "zmq_hello_client: with no server it gives up after ZMQ_RCVTIMEO and says so" {
    # A port nothing listens on: one the system gave a server that has ended.
    start_background $ch/zmq_hello_server --idle-ms 1
    local ep
    ep=$(server_endpoint)
    finish_background
    local t0 t1
    t0=$(date +%s%N)
    run_program $ch/zmq_hello_client --endpoint "$ep" --timeout-ms 700
    t1=$(date +%s%N)
    assert_failure 1
    assert_output "client: no reply to 'hello 1' in 700 ms: giving up (is the server running?)"
    (((t1 - t0) / 1000000 >= 700)) || fail "gave up after $(((t1 - t0) / 1000000)) ms"
}

@test "zmq_hello: a lost reply stops a plain client; the lazy pirate retries with a new socket and gets it" {
    start_background $ch/zmq_hello_server --drop 2 --requests 3
    local ep
    ep=$(server_endpoint)
    run_program $ch/zmq_hello_client --endpoint "$ep" --requests 3 --timeout-ms 500 --retries 2
    assert_success
    assert_line --index 1 "client: no reply to 'hello 2' in 500 ms: closing the socket and sending again (retry 1 of 2)"
    assert_line --index 2 --regexp "^client: 'hello 2' -> 'world: hello 2' "
    assert_line --index 3 --regexp "^client: 'hello 3' -> 'world: hello 3' "
    finish_background
    assert_line "server: request 2 'hello 2' left unanswered (socket closed)"
    # The same loss without retries: the client gives up.
    run_program $ch/zmq_hello_client --transport tcp --drop 2 --requests 3 --timeout-ms 300
    assert_failure 1
    assert_line --index -1 "client: no reply to 'hello 2' in 300 ms: giving up (is the server running?)"
}

@test "zmq_hello: malformed requests get an error reply, an oversized one is dropped, the server goes on" {
    start_background $ch/zmq_hello_server --requests 3
    local ep
    ep=$(server_endpoint)
    run_program $ch/zmq_hello_client --endpoint "$ep" --requests 1 --frames 3
    assert_success
    assert_output --regexp "^client: 'hello 1' -> 'error: a request is 1 frame, this one had 3' "
    run_program $ch/zmq_hello_client --endpoint "$ep" --requests 1 --size 5000
    assert_output --regexp "^client: 'hello 1' -> 'error: a request is at most 1024 bytes, this one had 5000' "
    # Over ZMQ_MAXMSGSIZE (64 KiB): zmq drops the connection, no reply.
    run_program $ch/zmq_hello_client --endpoint "$ep" --requests 1 --size 100000 --timeout-ms 500
    assert_failure 1
    run_program $ch/zmq_hello_client --endpoint "$ep" --requests 1
    assert_success
    assert_output --regexp "^client: 'hello 1' -> 'world: hello 1' "
    finish_background
    assert_equal "$status" 0
    assert_line 'server: request 1 has 3 frames, not 1: error reply'
    assert_line 'server: request 2 is 5000 bytes, over 1024: error reply'
}

@test "php hello_client.php (php-zmq) talks REQ/REP to the C server over tcp and ipc; gives up with none" {
    command -v php > /dev/null || skip "php is not installed (scripts/deps.sh installs php8.2-cli)"
    php -m | grep -qx zmq || skip "php's zmq extension is not installed (php8.2-zmq)"
    local t ep
    for t in tcp ipc; do
        start_background $ch/zmq_hello_server --transport $t --requests 2
        ep=$(server_endpoint)
        run timeout 20 php "$IPCLAB_ROOT/chapters/$ch/php/hello_client.php" "$ep" 2
        assert_success
        assert_output "php: 'hello 1 from PHP' -> 'world: hello 1 from PHP'
php: 'hello 2 from PHP' -> 'world: hello 2 from PHP'"
        finish_background
        assert_equal "$status" 0
        assert_line "server: request 2 'hello 2 from PHP' answered"
    done
    # The server has gone: the PHP client's RCVTIMEO ends its wait.
    run timeout 20 php "$IPCLAB_ROOT/chapters/$ch/php/hello_client.php" "$ep" 1
    assert_failure 1
    assert_output "php: no reply to 'hello 1 from PHP' in 1000 ms: giving up"
}

@test "zmq_hello_client runs its own server thread over inproc, ipc and tcp" {
    local t
    for t in inproc ipc tcp; do
        run_program $ch/zmq_hello_client --transport $t --requests 2
        assert_success
        assert_line --index 0 --regexp "^client: server thread on $t://"
        assert_line --index 2 --regexp "^client: 'hello 2' -> 'world: hello 2' "
    done
}

@test "zmq options: a bad transport, inproc for a lone server, --drop over ipc are usage errors" {
    run_program $ch/zmq_hello_client --transport udp
    assert_usage_error "--transport"
    run_program $ch/zmq_hello_server --transport inproc
    assert_usage_error "inproc connects threads of one process"
    run_program $ch/zmq_hello_server --transport ipc --drop 1
    assert_usage_error "--drop needs tcp"
}

@test "zmq_broker: every request gets exactly its own reply, over inproc, ipc and tcp" {
    local t
    for t in inproc ipc tcp; do
        run_program $ch/zmq_broker --transport $t --clients 4 --workers 3 --requests 25
        assert_success
        assert_line 'every request got exactly its own reply: 100 of 100'
        assert_line 'result: requests=100 replies=100 own=100 wrong=0'
        assert_line 'client 4: 25 replies to 25 requests, 25 its own, 0 another'"'"'s'
        # Every worker took part, and together they answered all.
        local sum
        sum=$(($(sed -n 's/^worker [0-9]*: answered //p' <<<"$output" | paste -sd+)))
        assert_equal "$sum" 100
    done
}

@test "zmq_pubsub: late subscribers lose at least what came before them; with --sync none; topics filter" {
    run_program $ch/zmq_pubsub --messages 300 --timeout-ms 500
    assert_success
    assert_line 'lost for certain: the 100 published before the subscribers started'
    local wg we ng ne
    wg=$(result_field weather_got) we=$(result_field weather_expected)
    ng=$(result_field news_got) ne=$(result_field news_expected)
    assert_equal "$we" 200
    assert_equal "$ne" 100
    # Of the first 100 messages, 67 were weather. and 33 news.: all lost.
    ((wg <= 200 - 67 && ng <= 100 - 33)) || fail "got $wg and $ng"
    assert_equal "$(result_field other)" 0
    local t
    for t in inproc ipc tcp; do
        run_program $ch/zmq_pubsub --transport $t --messages 3000 --sync
        assert_success
        assert_line 'publisher: all 4 subscriptions arrived, publishing now'
        assert_line 'result: weather_got=2000 weather_expected=2000 news_got=1000 news_expected=1000 other=0'
    done
}

@test "zmq_pipeline: tasks spread over every worker and the sink gets every result" {
    local t
    for t in inproc ipc tcp; do
        run_program $ch/zmq_pipeline --transport $t --workers 3 --tasks 60 --task-us 100
        assert_success
        assert_line 'sink: 60 results of 60 tasks'
        assert_line 'result: tasks=60 results=60 counted=60'
        local n
        for n in 1 2 3; do
            [[ $(sed -n "s/^worker $n: \\([0-9]*\\) tasks$/\\1/p" <<<"$output") -gt 0 ]] ||
                fail "worker $n did nothing over $t: $output"
        done
    done
}

@test "zmq_broker, zmq_pipeline, zmq_pool: SIGTERM mid-run stops every thread and child, status 143" {
    local args ready
    for args in "zmq_broker --transport ipc --clients 16 --requests 10000:broker: clients connect to" \
                "zmq_pipeline --transport ipc --tasks 20000 --task-us 1000:ventilator on" \
                "zmq_pool --jobs 2000 --job-ms 20:dispatcher on"; do
        ready=${args#*:}
        # shellcheck disable=SC2086  # the words of $args
        start_background $ch/${args%%:*}
        wait_for_output "$ready"
        finish_background TERM
        assert_equal "$status" 143
        refute_line --partial 'result:'
    done
    assert_line --regexp '^dispatcher: stopped by SIGTERM: [0-9]+ of 2000 jobs have a result$'
}

@test "zmq_roundtrip: one line in the benchmark's format, for each transport" {
    local t
    for t in inproc ipc tcp; do
        run_program $ch/zmq_roundtrip --transport $t --count 500
        assert_success
        assert_output --regexp "^zmq_roundtrip: 500 round trips over $t: [0-9]+\\.[0-9] us median, [0-9]+\\.[0-9] us p99, [0-9]+ per second$"
    done
}

@test "raw_roundtrip: the bare Unix and TCP socket floor, in the same format; its socket file is removed" {
    local t
    for t in unix tcp; do
        run_program $ch/raw_roundtrip --transport $t --count 500
        assert_success
        assert_output --regexp "^raw_roundtrip: 500 round trips over $t: [0-9]+\\.[0-9] us median, [0-9]+\\.[0-9] us p99, [0-9]+ per second$"
    done
}

@test "nng_hello: the nng twin answers over inproc, ipc and tcp" {
    local t
    for t in inproc ipc tcp; do
        run_program $ch/nng_hello --transport $t --requests 2
        assert_success
        assert_line --index 0 --regexp "^server thread on $t://"
        assert_line --index 2 "client: 'hello 2' -> 'world: hello 2'"
    done
    # An explicit endpoint, port 0: the listener reports the port it got.
    run_program $ch/nng_hello --endpoint tcp://127.0.0.1:0 --requests 1
    assert_success
    assert_line --index 0 --regexp '^server thread on tcp://127\.0\.0\.1:[1-9][0-9]*$'
}
