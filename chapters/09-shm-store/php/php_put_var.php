<?php
// php_put_var.php - a segment in PHP's own format, as the articles' tool
// makes it: shm_attach() + shm_put_var() (the sysvshm extension).
//
// Run:  php php_put_var.php PATH PROJ VALUE   (then: ipcrm -M KEY to remove it)
//
// Prints the key.  The segment starts with sysvshm's header and holds the
// value serialize()d: shm_store refuses it as "not a store", and a reader
// that expects raw bytes (shmop) sees the serialized form, not VALUE.

if ($argc !== 4) {
    fwrite(STDERR, "usage: php php_put_var.php PATH PROJ VALUE\n");
    exit(2);
}
[, $path, $proj, $value] = $argv;
$ipc_key = ftok($path, $proj);
$shm = shm_attach($ipc_key, 4096, 0600);   // 0600: not the articles' 0666
if ($shm === false) {
    exit(1);
}
shm_put_var($shm, 1, $value);              // variable number 1
shm_detach($shm);
printf("0x%08x\n", $ipc_key);
