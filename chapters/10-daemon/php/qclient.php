<?php
// qclient.php - a PHP peer of qdaemon: one echo request in the msg_send
// style of the PHP articles, answered on the type of our own pid.
//
// Run:   php qclient.php KEYFILE A "hello from PHP"
// You should see:
//        reply seq=1 status=ok data=hello from PHP
//
// The request is the C struct req_body of common/proto.h, packed by hand:
// int32 reply_to, uint32 seq, uint32 op, uint32 len (machine byte order,
// as the daemon on the same machine reads them), then the data.

if ($argc != 4) {
    fwrite(STDERR, "usage: php qclient.php PATH PROJ TEXT\n");
    exit(2);
}
[, $path, $proj, $text] = $argv;
$key = ftok($path, $proj);          // PROJ: one character, as qdaemon takes it
if ($key === -1 || !msg_queue_exists($key)) {
    fwrite(STDERR, "qclient.php: no queue for ftok($path, '$proj'): is qdaemon running?\n");
    exit(1);
}
// The queue exists, so msg_get_queue only opens it (it would create one,
// with mode 0666, if it did not: hence the check above).
$queue = msg_get_queue($key, 0600);
$seq = 1;
$op_echo = 1;
$request = pack('lLLL', getmypid(), $seq, $op_echo, strlen($text)) . $text;

// Type 1 is the daemon's address.  serialize=false: the bytes as they are,
// not PHP's serialize() form, which a C daemon could not read.
if (!msg_send($queue, 1, $request, false, true, $err)) {
    fwrite(STDERR, "qclient.php: msg_send failed: error $err\n");
    exit(1);
}

// msg_receive has no time limit: poll with MSG_IPC_NOWAIT for 5 seconds.
$deadline = microtime(true) + 5.0;
while (!msg_receive($queue, getmypid(), $type, 4096, $reply, false, MSG_IPC_NOWAIT, $err)) {
    if ($err !== MSG_ENOMSG || microtime(true) > $deadline) {
        fwrite(STDERR, "qclient.php: no reply (error $err)\n");
        exit(1);
    }
    usleep(1000);
}
$head = unpack('Lseq/lstatus/Llen', $reply);
$statuses = ['ok', 'bad-size', 'no-operation', 'unknown-operation', 'failed', 'refused'];
printf("reply seq=%d status=%s data=%s\n", $head['seq'],
       $statuses[$head['status']] ?? 'unknown', substr($reply, 12, $head['len']));
exit($head['status'] === 0 && $head['seq'] === $seq ? 0 : 1);
