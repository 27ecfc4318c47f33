/* proto.h - chapter 10's requests and replies, as bytes on a queue.
 *
 * One System V queue carries both directions.  Every request has the
 * message type REQ_TYPE (1): the daemon's address, the only type it
 * receives.  Every reply has the asking client's pid as its type, so each
 * client takes its own replies and nobody else's (pid 1 is init, never a
 * client, so replies never look like requests).  The body is a fixed
 * header then data; the same body also travels on the POSIX queue.
 */
#ifndef DAEMON10_PROTO_H
#define DAEMON10_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define REQ_TYPE 1L
#define REQ_DATA_MAX 1024
#define REPLY_DATA_MAX 1024

enum req_op {
    OP_NONE = 0,        /* a zeroed request: refused, it names nothing */
    OP_ECHO = 1,        /* reply: the data itself */
    OP_CHECKSUM = 2,    /* data: a file path; reply: "CRC BYTES", as cksum(1) */
    OP_COUNTER = 3,     /* reply: the daemon's counter after adding one */
    OP_WAKE = 0x7fffffff,   /* the daemon to itself: "look at your flags" */
};

enum reply_status {
    ST_OK = 0,
    ST_BAD_SIZE = 1,    /* the size does not match the header */
    ST_NO_OP = 2,       /* operation 0 */
    ST_BAD_OP = 3,      /* an operation the daemon does not know */
    ST_FAILED = 4,      /* the operation failed: the text says why */
    ST_REFUSED = 5,     /* the daemon is stopping: not done, send it elsewhere */
};

/* region: wire */
struct req_body {
    int32_t reply_to;   /* the client's pid: the type its reply will have */
    uint32_t seq;       /* given back in the reply, to match the two */
    uint32_t op;        /* enum req_op */
    uint32_t len;       /* bytes of data that follow */
    char data[REQ_DATA_MAX];
};
#define REQ_HEADER offsetof(struct req_body, data)   /* 16 bytes */

struct reply_body {
    uint32_t seq;
    int32_t status;     /* enum reply_status */
    uint32_t len;
    char data[REPLY_DATA_MAX];
};
#define REPLY_HEADER offsetof(struct reply_body, data)

struct req_msg {        /* what msgsnd/msgrcv take: the type, then the body */
    long mtype;
    struct req_body body;
};
struct reply_msg {
    long mtype;
    struct reply_body body;
};
/* end region: wire */

const char *op_name(uint32_t op);
const char *status_name(int32_t status);
int op_from_name(const char *name);     /* -1 if none */

/* POSIX cksum(1): CRC-32 (polynomial 0x04C11DB7) over the bytes, then over
 * the length; cksum_update on each piece, cksum_final at the end. */
uint32_t cksum_update(uint32_t crc, const void *buf, size_t n);
uint32_t cksum_final(uint32_t crc, uint64_t length);

#endif
