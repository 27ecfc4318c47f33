#!/usr/bin/env php
<?php
// pool.php - the process pool of the articles, with C workers: for each
// job a socket pair, one end given to the worker as its descriptor 3
// (proc_open), the other read here with socket_select().  The wire format
// is the pool's: a 4-byte big-endian length (pack('N')), then the payload,
// which the pool unserialize()s: ipclab's fd_worker writes a string the
// way serialize() does.
//
// Run:  pool.php WORKER JOBS [MAX] [--raw]    (WORKER: the path of fd_worker)
// You should see one result per job, in the order they finish:
//       GOT: 1 : 1 squared is 1, from a C worker (pid 4711)
//       5 jobs, 5 results
// --raw asks the workers for the bare text: unserialize() refuses it.
// Exit status: 0; 1 a result was not serialize()d, or 10 s went by.

$raw = in_array('--raw', $argv, true);
$args = array_values(array_filter($argv, fn($a) => $a !== '--raw'));
if (count($args) < 3 || count($args) > 4) {
    fwrite(STDERR, "usage: pool.php WORKER JOBS [MAX] [--raw]\n");
    exit(2);
}
[, $worker, $jobs] = $args;
$jobs = (int)$jobs;
$max = (int)($args[3] ?? 2);
if ($jobs < 1 || $jobs > 100 || $max < 1 || $max > 16) {
    fwrite(STDERR, "pool.php: JOBS from 1 to 100, MAX from 1 to 16\n");
    exit(2);
}

// Reads exactly $n bytes, or null at end of stream.
function read_exactly(Socket $s, int $n): ?string
{
    $buf = '';
    while (strlen($buf) < $n) {
        $got = socket_read($s, $n - strlen($buf));
        if ($got === false || $got === '') {
            return null;
        }
        $buf .= $got;
    }
    return $buf;
}

/* region: start */
// Starts one worker on a fresh socket pair; returns [process, our end].
function start(string $worker, int $job, bool $raw): array
{
    if (!socket_create_pair(AF_UNIX, SOCK_STREAM, 0, $pair)) {
        throw new RuntimeException("socket_create_pair failed");
    }
    [$ours, $theirs] = $pair;
    $stream = socket_export_stream($theirs);   // proc_open takes streams
    $cmd = [$worker, '--fd', '3', '--job', (string)$job];
    if ($raw) {
        array_push($cmd, '--payload', 'raw');
    }
    $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 3 => $stream], $unused);
    fclose($stream);                 // the worker has its copy; ours would hide its end
    if ($proc === false) {
        throw new RuntimeException("proc_open $worker failed");
    }
    return [$proc, $ours];
}
/* end region: start */

$deadline = microtime(true) + 10;
$next = 1;
$running = [];                       // job => [process, socket]
$results = 0;
$failed = 0;
while ($next <= $jobs || $running) {
    while ($next <= $jobs && count($running) < $max) {
        $running[$next] = start($worker, $next, $raw);
        $next++;
    }
    $read = array_map(fn($w) => $w[1], $running);
    $none = null;
    $left = $deadline - microtime(true);
    if ($left <= 0 || socket_select($read, $none, $none, 0, (int)($left * 1e6)) === false) {
        fwrite(STDERR, "pool.php: 10 s went by with " . count($running) . " workers still out\n");
        exit(1);
    }
    foreach ($read as $socket) {
        $job = array_search($socket, array_map(fn($w) => $w[1], $running), true);
        $header = read_exactly($socket, 4);
        $payload = $header === null ? null : read_exactly($socket, unpack('N', $header)[1]);
        [$proc] = $running[$job];
        unset($running[$job]);
        socket_close($socket);
        proc_close($proc);
        $value = $payload === null ? false : @unserialize($payload);
        if (!is_string($value)) {
            echo "job $job: the payload is not serialize()d: '", $payload ?? '(none)', "'\n";
            $failed++;
            continue;
        }
        echo "GOT: $value\n";
        $results++;
    }
}
echo "$jobs jobs, $results results\n";
exit($failed === 0 ? 0 : 1);
