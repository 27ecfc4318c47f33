#!/usr/bin/env php
<?php
// queue.php - typed System V messages as in the daemon article: send types
// 1, 2, 3, 1 now; receive them later, type by type, without waiting
// (MSG_IPC_NOWAIT).  PHP's msg_send() serialize()s by default, so
// "message, type 1" travels as s:15:"message, type 1"; --raw sends the
// bytes as they are, which is what a C receiver expects.
//
// Run:  queue.php PATH PROJ send [--raw]          make the queue (0600), send 4
//       queue.php PATH PROJ receive [--unserialize]
//       queue.php PATH PROJ remove
// and the C side:  msg_recv --attach --php PATH PROJ,  msg_send --create PATH PROJ TEXT
// You should see, from receive:
//       type: 1, msgtype: 1, message: s:15:"message, type 1";
// Exit status: 0; 1 no queue, or a message unserialize() refuses.

$usage = "usage: queue.php PATH PROJ send [--raw] | receive [--unserialize] | remove\n";
if ($argc < 4 || $argc > 5) {
    fwrite(STDERR, $usage);
    exit(2);
}
[, $path, $proj, $what] = $argv;
$flag = $argv[4] ?? null;
$ok = ['send' => '--raw', 'receive' => '--unserialize', 'remove' => null];
if (!array_key_exists($what, $ok) || ($flag !== null && $flag !== $ok[$what])) {
    fwrite(STDERR, $usage);
    exit(2);
}
$key = @ftok($path, $proj);
if ($key === -1 || $key === false) {
    fwrite(STDERR, "queue.php: ftok($path, '$proj') failed: no such file?\n");
    exit(1);
}

if ($what === 'send') {
    $queue = msg_get_queue($key, 0600);     // makes it if it is not there
    $serialize = $flag === null;
    foreach ([1, 2, 3, 1] as $type) {
        if (!msg_send($queue, $type, "message, type $type", $serialize, true, $err)) {
            fwrite(STDERR, "queue.php: msg_send failed: error $err\n");
            exit(1);
        }
    }
    echo "sent 4 messages (", $serialize ? "serialize()d" : "raw bytes", ")\n";
    exit(0);
}

// receive and remove: the queue must be there already; msg_get_queue
// alone would make an empty one.
if (!msg_queue_exists($key)) {
    fwrite(STDERR, sprintf("queue.php: no queue with key 0x%08x\n", $key));
    exit(1);
}
$queue = msg_get_queue($key, 0600);
if ($what === 'remove') {
    exit(msg_remove_queue($queue) ? 0 : 1);
}
$unserialize = $flag !== null;
for ($type = 1; $type <= 3; $type++) {
    echo "type: $type\n";
    while (msg_receive($queue, $type, $msgtype, 8192, $message, $unserialize,
                       MSG_IPC_NOWAIT, $err)) {
        echo "type: $type, msgtype: $msgtype, message: $message\n";
    }
    if ($err !== MSG_ENOMSG) {              // not "none left": unserialize refused it
        fwrite(STDERR, "queue.php: msg_receive of type $type failed: error $err"
                       . ($unserialize ? " (not serialize()d data?)" : "") . "\n");
        exit(1);
    }
}
