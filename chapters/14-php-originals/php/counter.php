#!/usr/bin/env php
<?php
// counter.php - the shared-memory counter of the pipes-and-FIFOs article:
// N children each add 1 under a semaphore, "final result N".  The counter
// is the first 8 bytes of a System V segment (shmop, raw bytes, so a C
// program reads it as a long): ipclab's shm_counter --key PATH PROJ adds
// to the very same counter.
//
// Run:  counter.php PATH PROJ add [N]      make the segment (0600) if needed, N children add 1
//       shm_counter --lock sysv-sem --key PATH PROJ
//       counter.php PATH PROJ show
//       counter.php PATH PROJ remove       shmop_delete and sem_remove
// You should see:
//       2 children added 1 each: final result 2
// Exit status: 0; 1 no segment (show, remove) or a child failed.

if ($argc < 4 || $argc > 5 || !in_array($argv[3], ['add', 'show', 'remove'], true)) {
    fwrite(STDERR, "usage: counter.php PATH PROJ add [N] | show | remove\n");
    exit(2);
}
[, $path, $proj, $what] = $argv;
$children = (int)($argv[4] ?? 2);
if ($children < 1 || $children > 16) {
    fwrite(STDERR, "counter.php: N must be from 1 to 16\n");
    exit(2);
}
$key = @ftok($path, $proj);
if ($key === -1 || $key === false) {
    fwrite(STDERR, "counter.php: ftok($path, '$proj') failed: no such file?\n");
    exit(1);
}
// "c": create or open, 4096 bytes (room for shm_counter's own fields
// after the counter); "w": open only, for show and remove.
$shm = @shmop_open($key, $what === 'add' ? "c" : "w", 0600, $what === 'add' ? 4096 : 0);
if ($shm === false) {
    fwrite(STDERR, sprintf("counter.php: no segment with key 0x%08x\n", $key));
    exit(1);
}
$read = fn() => unpack("q", shmop_read($shm, 0, 8))[1];   // q: a long, machine order
if ($what === 'show') {
    echo "counter: ", $read(), "\n";
    exit(0);
}
// The lock: a semaphore under the same key (a separate namespace).
$sem = sem_get($key, 1, 0600, true);
if ($what === 'remove') {
    exit(shmop_delete($shm) && sem_remove($sem) ? 0 : 1);
}

$pids = [];
for ($i = 0; $i < $children; $i++) {
    $pid = pcntl_fork();
    if ($pid === -1) {
        exit(1);
    }
    if ($pid === 0) {                       // the child: one increment, locked
        sem_acquire($sem);
        shmop_write($shm, pack("q", $read() + 1), 0);
        sem_release($sem);
        exit(0);
    }
    $pids[] = $pid;
}
$failed = 0;
foreach ($pids as $pid) {
    pcntl_waitpid($pid, $status);
    $failed += pcntl_wifexited($status) && pcntl_wexitstatus($status) === 0 ? 0 : 1;
}
printf("%d children added 1 each: final result %d\n", $children, $read());
exit($failed === 0 ? 0 : 1);
