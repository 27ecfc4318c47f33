#!/usr/bin/env php
<?php
// signals.php - a PHP worker that takes its orders by signal, as in the
// overview article: pcntl_signal() handlers for SIGUSR1 ("do a job") and
// SIGTERM ("stop").  A signal carries no data: only which one it was.
//
// Run:  signals.php [SECONDS] &        (stops by itself after SECONDS, 10)
//       send_signal --pid PID --signal USR1
//       send_signal --pid PID --signal TERM
// You should see:
//       ready: pid 4711, waiting for SIGUSR1 (a job) or SIGTERM (stop)
//       got SIGUSR1: job 1
//       got SIGTERM: stopping after 1 job
// Exit status: 0 stopped by SIGTERM, 1 nobody sent it in time.

$limit = (int)($argv[1] ?? 10);
if ($limit < 1 || $limit > 600) {
    fwrite(STDERR, "usage: signals.php [SECONDS from 1 to 600]\n");
    exit(2);
}
// Handlers run as soon as the signal arrives, not only at "ticks".
pcntl_async_signals(true);
$jobs = 0;
$stop = false;
pcntl_signal(SIGUSR1, function () use (&$jobs) {
    $jobs++;
    echo "got SIGUSR1: job $jobs\n";
});
pcntl_signal(SIGTERM, function () use (&$stop) {
    $stop = true;
});
echo "ready: pid ", getmypid(), ", waiting for SIGUSR1 (a job) or SIGTERM (stop)\n";

$deadline = microtime(true) + $limit;
while (!$stop && microtime(true) < $deadline) {
    usleep(20000);      // idle; a signal runs its handler at once
}
if (!$stop) {
    fwrite(STDERR, "signals.php: no SIGTERM in $limit s: stopping anyway\n");
    exit(1);
}
printf("got SIGTERM: stopping after %d job%s\n", $jobs, $jobs === 1 ? "" : "s");
