/* proto.c - see proto.h. */
#include "proto.h"

#include <string.h>

static const char *const op_names[] = { "none", "echo", "checksum", "counter" };
static const char *const status_names[] = {
    "ok", "bad-size", "no-operation", "unknown-operation", "failed", "refused",
};

const char *op_name(uint32_t op)
{
    if (op < sizeof op_names / sizeof op_names[0])
        return op_names[op];
    return op == OP_WAKE ? "wake" : "unknown";
}

const char *status_name(int32_t status)
{
    if (status >= 0 && (size_t)status < sizeof status_names / sizeof status_names[0])
        return status_names[status];
    return "unknown-status";
}

int op_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
        if (strcmp(name, op_names[i]) == 0)
            return (int)i;
    return -1;
}

/* Bit by bit, most significant first, as POSIX specifies cksum: slower
 * than a table, but short, and fast enough for the files of the tests. */
uint32_t cksum_update(uint32_t crc, const void *buf, size_t n)
{
    const unsigned char *p = buf;

    for (size_t i = 0; i < n; i++) {
        crc ^= (uint32_t)p[i] << 24;
        for (int bit = 0; bit < 8; bit++)
            crc = crc & 0x80000000u ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
    }
    return crc;
}

uint32_t cksum_final(uint32_t crc, uint64_t length)
{
    /* The length goes in too, least significant byte first, only the
     * bytes it needs. */
    while (length > 0) {
        unsigned char byte = (unsigned char)(length & 0xff);
        crc = cksum_update(crc, &byte, 1);
        length >>= 8;
    }
    return ~crc;
}
