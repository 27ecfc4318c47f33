<?php
// hello_client.php - a PHP REQ client of zmq_hello_server, with php-zmq,
// as the PHP articles' clients talk to their servers.
//
// Run:   zmq_hello_server --requests 3 &          # prints its endpoint
//        php hello_client.php tcp://127.0.0.1:PORT 3
// You should see one line per request:
//        php: 'hello 1 from PHP' -> 'world: hello 1 from PHP'
// and, with no server there, after 1 s: "php: no reply to 'hello 1 from
// PHP' in 1000 ms: giving up" (status 1).
//
// The C server sees an ordinary REQ peer: ZeroMQ's wire protocol (ZMTP)
// is the same whatever language holds the socket.

if ($argc < 2 || $argc > 3 || ($argc == 3 && !ctype_digit($argv[2]))) {
    fwrite(STDERR, "usage: php hello_client.php ENDPOINT [REQUESTS]\n");
    exit(2);
}
$endpoint = $argv[1];
$requests = (int)($argv[2] ?? 3);
$timeout_ms = 1000;

$context = new ZMQContext(1);
$socket = $context->getSocket(ZMQ::SOCKET_REQ);
// Without a receive timeout recv() would wait forever for a server that is
// not there; LINGER 0: closing never waits to deliver unsent requests.
$socket->setSockOpt(ZMQ::SOCKOPT_RCVTIMEO, $timeout_ms);
$socket->setSockOpt(ZMQ::SOCKOPT_LINGER, 0);
$socket->connect($endpoint);

for ($n = 1; $n <= $requests; $n++) {
    $text = "hello $n from PHP";
    $socket->send($text);
    $reply = $socket->recv();         // false when RCVTIMEO passed
    if ($reply === false) {
        printf("php: no reply to '%s' in %d ms: giving up\n", $text, $timeout_ms);
        exit(1);
    }
    printf("php: '%s' -> '%s'\n", $text, $reply);
}
exit(0);
