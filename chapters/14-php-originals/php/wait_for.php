#!/usr/bin/env php
<?php
// wait_for.php - wait until FILE holds TEXT (the "ready" line of a program
// started in the background), for at most SECONDS: readiness, not a sleep.
//
// Run:  fifo_lines > out &  wait_for.php out ready:
// You should see nothing; exit status 0 once the text is there, 1 after
// SECONDS (default 10) without it.

if ($argc < 3 || $argc > 4) {
    fwrite(STDERR, "usage: wait_for.php FILE TEXT [SECONDS]\n");
    exit(2);
}
[, $file, $text] = $argv;
$deadline = microtime(true) + (float)($argv[3] ?? 10);
while (!str_contains((string)@file_get_contents($file), $text)) {
    if (microtime(true) > $deadline) {
        fwrite(STDERR, "wait_for.php: no '$text' in $file\n");
        exit(1);
    }
    usleep(10000);
}
