/* frame.h - length-prefixed messages over a byte stream.
 *
 * A pipe or a SOCK_STREAM socket carries bytes, not messages: one write may
 * arrive as several reads and two writes as one.  A frame is a 4-byte
 * big-endian length followed by that many bytes, so the receiver always knows
 * where a message ends.
 */
#ifndef IPCLAB_FRAME_H
#define IPCLAB_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* The largest payload any frame may carry.  A peer announcing more is
 * treated as broken rather than trusted with an allocation. */
#define FRAME_MAX ((size_t)16 * 1024 * 1024)

enum frame_result {
    FRAME_OK = 0,
    FRAME_EOF,        /* the stream ended cleanly, between two frames */
    FRAME_TRUNCATED,  /* the stream ended inside a frame (header or payload) */
    FRAME_TOO_BIG,    /* the announced length exceeds the limit; nothing of the
                         payload was read, so the stream is out of step */
    FRAME_IO_ERROR,   /* read or write failed; errno says why */
};

/* A short English description of a result, for messages. */
const char *frame_result_name(enum frame_result result);

/* Sends len bytes as one frame.  FRAME_TOO_BIG if len > FRAME_MAX. */
enum frame_result frame_send(int fd, const void *payload, size_t len);

/* Receives one frame into buf (capacity cap, at most FRAME_MAX counts).
 * On FRAME_OK, *len is the payload length. */
enum frame_result frame_recv(int fd, void *buf, size_t cap, size_t *len);

/* Receives one frame of up to max bytes into a new malloc'd buffer (one extra
 * zero byte follows the payload, so text can be printed directly).  On
 * FRAME_OK the caller frees *payload. */
enum frame_result frame_recv_alloc(int fd, size_t max, void **payload, size_t *len);

/* Exiting form: returns the payload length, or 0 at a clean end of stream
 * (*eof set to 1); any other result is fatal. */
size_t frame_recv_or_die(int fd, void *buf, size_t cap, int *eof);
void frame_send_or_die(int fd, const void *payload, size_t len);

#endif
