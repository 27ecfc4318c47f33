#!/usr/bin/env php
<?php
// fifo_writer.php - write text lines to a FIFO, as the pipes article does
// with fopen() and fwrite(): the last line without a newline, as there.
// If FIFO is not there, it makes it first (posix_mkfifo, 0600) and
// removes it at the end.  The open waits for a reader: 10 s at most.
//
// Run:  fifo_lines &                           the C reader, printing its FIFO's path
//       fifo_writer.php FIFO 'helo world.' 'second line'
//   or: fifo_writer.php ./talk LINE... &  then  fifo_lines --fifo ./talk
// You should see:
//       wrote 2 lines to FIFO
// Exit status: 0; 1 no reader came, or FIFO is not a FIFO.

if ($argc < 3) {
    fwrite(STDERR, "usage: fifo_writer.php FIFO LINE...\n");
    exit(2);
}
$fifo = $argv[1];
$lines = array_slice($argv, 2);
$made = false;
if (!file_exists($fifo)) {
    if (!posix_mkfifo($fifo, 0600)) {
        fwrite(STDERR, "fifo_writer.php: posix_mkfifo($fifo) failed\n");
        exit(1);
    }
    $made = true;
    echo "ready: made $fifo, waiting for a reader\n";
} elseif (filetype($fifo) !== 'fifo') {
    fwrite(STDERR, "fifo_writer.php: $fifo is not a FIFO\n");
    exit(1);
}
// fopen() blocks until a reader opens the other end: SIGALRM bounds it.
pcntl_async_signals(true);
pcntl_signal(SIGALRM, function () use ($fifo, $made) {
    fwrite(STDERR, "fifo_writer.php: no reader opened $fifo in 10 s\n");
    if ($made) {
        unlink($fifo);
    }
    exit(1);
});
pcntl_alarm(10);
$f = fopen($fifo, "w");
pcntl_alarm(0);
fwrite($f, implode("\n", $lines));          // one write; no newline at the end
fclose($f);
if ($made) {
    unlink($fifo);
}
printf("wrote %d line%s to %s\n", count($lines), count($lines) === 1 ? "" : "s", $fifo);
