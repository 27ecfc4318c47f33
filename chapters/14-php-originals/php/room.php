#!/usr/bin/env php
<?php
// room.php - the "room that holds one person" of the PHP articles, with
// sem_get(), so that ipclab's room (room --key PATH PROJ) queues at the
// same door.  sem_get() makes a set of 3 semaphores (the door, a count of
// the processes using it, a setup lock); room follows the same steps.
//
// Run:  room.php PATH PROJ hold &      in the room until SIGUSR1 (10 s at most)
//       room --key PATH PROJ           the C workers wait at the door
//       send_signal --pid PID --signal USR1
//       room.php PATH PROJ try         get in if there is room, never wait
//       room.php PATH PROJ remove      sem_remove()
// You should see:
//       php is in the room (pid 4711): SIGUSR1 lets me out
//       php leaves the room
// Exit status: 0; 1 if the room was full (try) or no SIGUSR1 came (hold).

if ($argc !== 4 || !in_array($argv[3], ['hold', 'try', 'remove'], true)) {
    fwrite(STDERR, "usage: room.php PATH PROJ hold|try|remove\n");
    exit(2);
}
[, $path, $proj, $what] = $argv;
$key = @ftok($path, $proj);                 // PROJ: one character, as PHP takes it
if ($key === -1 || $key === false) {
    fwrite(STDERR, "room.php: ftok($path, '$proj') failed: no such file?\n");
    exit(1);
}
// One place; 0600, not sem_get's default 0666; auto_release gives the
// place back if the script ends inside.
$sem = sem_get($key, 1, 0600, true);
if ($sem === false) {
    exit(1);
}

if ($what === 'remove') {
    exit(sem_remove($sem) ? 0 : 1);
}
if ($what === 'try') {
    if (!sem_acquire($sem, true)) {         // true: do not wait
        echo "the room is full: php did not get in\n";
        exit(1);
    }
    echo "php got in, and leaves at once\n";
    sem_release($sem);
    exit(0);
}

// hold: SIGUSR1 is blocked, then awaited with a time limit.
pcntl_sigprocmask(SIG_BLOCK, [SIGUSR1]);
sem_acquire($sem);
printf("php is in the room (pid %d): SIGUSR1 lets me out\n", getmypid());
if (pcntl_sigtimedwait([SIGUSR1], $info, 10) !== SIGUSR1) {
    fwrite(STDERR, "room.php: no SIGUSR1 in 10 s: leaving anyway\n");
    sem_release($sem);
    exit(1);
}
echo "php leaves the room\n";
sem_release($sem);
