#!/usr/bin/env php
<?php
// counter.php - the shared-memory counter of the pipes-and-FIFOs article:
// N children each add 1 under a semaphore, "final result N".  The counter
// is the first 8 bytes of a System V segment (shmop, raw bytes, so a C
// program reads it as a long): ipclab's shm_counter --key PATH PROJ adds
// to the very same counter, and with --lock sysv-sem it takes the very
// same semaphore (semaphore 0 of the set sem_get() makes under the key),
// so both can count at once and lose nothing.
//
// Run:  counter.php PATH PROJ add [N] [OPTION]...   make the segment (0600) if needed, N children add
//       shm_counter --lock sysv-sem --key PATH PROJ
//       counter.php PATH PROJ show
//       counter.php PATH PROJ remove       shmop_delete and sem_remove
// Options of add:
//       --iters M         each child adds 1 M times (default 1)
//       --lock none       no sem_acquire: the race (default: sem)
//       --hold-until FILE the window, widened: at its first increment each
//                         child reads the counter, says "child K read V",
//                         and writes V + 1 only once FILE exists (10 s at most)
// You should see:
//       2 children added 1 each: final result 2
// and, when shm_counter added to the same counter while the children ran,
// a line saying by how much more it grew than they added.
// Exit status: 0; 1 no segment (show, remove) or a child failed.

function usage(): never
{
    fwrite(STDERR, "usage: counter.php PATH PROJ add [N] [--iters M] [--lock sem|none] "
        . "[--hold-until FILE] | show | remove\n");
    exit(2);
}

if ($argc < 4 || !in_array($argv[3], ['add', 'show', 'remove'], true)) {
    usage();
}
[, $path, $proj, $what] = $argv;
$children = 2;
$iters = 1;
$locked = true;
$hold = null;
$rest = array_slice($argv, 4);
if ($what !== 'add' && $rest !== []) {
    usage();
}
if ($rest !== [] && ctype_digit($rest[0])) {
    $children = (int)array_shift($rest);
}
while ($rest !== []) {
    $option = array_shift($rest);
    $value = array_shift($rest) ?? usage();
    match ($option) {
        '--iters' => $iters = ctype_digit($value) ? (int)$value : -1,
        '--lock' => $locked = match ($value) { 'sem' => true, 'none' => false, default => usage() },
        '--hold-until' => $hold = $value,
        default => usage(),
    };
}
if ($children < 1 || $children > 16 || $iters < 1 || $iters > 100000) {
    fwrite(STDERR, "counter.php: N must be from 1 to 16, M from 1 to 100000\n");
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

// The window, as wide as the caller wants: wait (bounded) for a file.
$wait_for_hold = function (int $child, int $v) use ($hold, $locked): void {
    printf("child %d read %d, %s, and waits for %s\n", $child, $v,
        $locked ? "holding the lock" : "with no lock", $hold);
    $deadline = microtime(true) + 10;
    while (!file_exists($hold)) {
        if (microtime(true) > $deadline) {
            fwrite(STDERR, "counter.php: no $hold after 10 s\n");
            exit(1);
        }
        usleep(1000);
    }
};

// What the counter holds before our children add: under the lock, so a
// peer adding at the same time is not caught half-way.
if ($locked) {
    sem_acquire($sem);
}
$start = $read();
if ($locked) {
    sem_release($sem);
}

$pids = [];
for ($i = 0; $i < $children; $i++) {
    $pid = pcntl_fork();
    if ($pid === -1) {
        exit(1);
    }
    if ($pid === 0) {                       // the child: M increments, locked or not
        for ($n = 0; $n < $iters; $n++) {
            if ($locked) {
                sem_acquire($sem);
            }
            $v = $read();
            if ($hold !== null && $n === 0) {
                $wait_for_hold($i, $v);
            }
            shmop_write($shm, pack("q", $v + 1), 0);
            if ($locked) {
                sem_release($sem);
            }
        }
        exit(0);
    }
    $pids[] = $pid;
}
$failed = 0;
foreach ($pids as $pid) {
    pcntl_waitpid($pid, $status);
    $failed += pcntl_wifexited($status) && pcntl_wexitstatus($status) === 0 ? 0 : 1;
}
$end = $read();
printf("%d %s added 1 %s: final result %d\n", $children, $children === 1 ? "child" : "children",
    $iters === 1 ? "each" : "$iters times each", $end);
// "Final" for our children only: a peer on the same counter (shm_counter
// --key) may have added meanwhile, and may still be adding.
$others = $end - $start - $children * $iters;
if ($others > 0) {
    printf("that is %d more than our children added: another process added to the counter\n"
        . "meanwhile and may still be adding; \"show\", once both have ended, gives the total\n", $others);
} elseif ($others < 0) {
    printf("that is %d less than our children added: updates were lost\n", -$others);
}
exit($failed === 0 ? 0 : 1);
