<?php
// store_get.php - read one value that shm_store put, from PHP.
//
// Run:  php store_get.php PATH PROJ KEY
//       (the same PATH and PROJ as `shm_store --key PATH PROJ ...`)
//
// It finds the segment through the same ftok() key, attaches it read-only
// with shmop (raw bytes, no PHP format), checks the store's header the way
// shm_store does, and prints the value's exact bytes.  PHP cannot take the
// store's pthread mutex, so it reads without the lock: fine for a value
// nobody is rewriting at that moment, and the reason a real PHP peer would
// go through shm_store instead.  Exit status: 0, 1 (no store, not a store,
// no such key), 2 (bad arguments), as shm_store's.

if ($argc !== 4) {
    fwrite(STDERR, "usage: php store_get.php PATH PROJ KEY\n");
    exit(2);
}
[, $path, $proj, $key] = $argv;
// PHP's ftok takes the project as one character; shm_store also takes 1-255.
if (ctype_digit($proj) && (int)$proj >= 1 && (int)$proj <= 255) {
    $proj = chr((int)$proj);
}
if (strlen($proj) !== 1) {
    fwrite(STDERR, "store_get.php: PROJ must be one character or 1-255\n");
    exit(2);
}
$ipc_key = ftok($path, $proj);
if ($ipc_key === -1) {
    fwrite(STDERR, "store_get.php: ftok($path): no such file?\n");
    exit(1);
}

$shm = @shmop_open($ipc_key, "a", 0, 0);   // "a": an existing segment, read-only
if ($shm === false) {
    fwrite(STDERR, sprintf("store_get.php: no segment with key 0x%08x\n", $ipc_key));
    exit(1);
}
$size = shmop_size($shm);

function fail(string $why): never
{
    fwrite(STDERR, "store_get.php: $why\n");
    exit(1);
}

// The header's fixed offsets, as chapters/09-shm-store/store/store.h lays
// them out: V is a little-endian u32, P a little-endian u64.
if ($size < 56) {
    fail("the segment is $size bytes, too short for a store header");
}
$h = unpack("a8magic/Vversion/Vslot_size/Psize/Vcapacity/Vcount/Pbytes_used/Vslots_offset",
            shmop_read($shm, 0, 44));
if ($h['magic'] !== "IPCLABKV") {
    fail("the segment is not a store");
}
if ($h['version'] !== 1) {
    fail("store layout version {$h['version']}; this script reads version 1");
}
if ($size < $h['size'] || $h['slots_offset'] + $h['capacity'] * $h['slot_size'] > $size) {
    fail("the segment is cut short");
}

for ($i = 0; $i < $h['capacity']; $i++) {
    $at = $h['slots_offset'] + $i * $h['slot_size'];
    $slot = unpack("Vstate/Vkey_len/Vvalue_len", shmop_read($shm, $at, 12));
    if ($slot['state'] !== 2 || $slot['key_len'] !== strlen($key) ||
        shmop_read($shm, $at + 16, $slot['key_len']) !== $key) {
        continue;
    }
    // shmop_read with a count of 0 would read to the end: an empty value
    // is written as nothing.
    if ($slot['value_len'] > 0) {
        fwrite(STDOUT, shmop_read($shm, $at + 80, $slot['value_len']));
    }
    exit(0);
}
fail("no key '$key' in the store");
