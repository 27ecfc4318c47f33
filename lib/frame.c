/* frame.c - see frame.h. */
#include "frame.h"

#include "die.h"
#include "io.h"

#include <errno.h>
#include <stdlib.h>

const char *frame_result_name(enum frame_result result)
{
    switch (result) {
    case FRAME_OK:        return "ok";
    case FRAME_EOF:       return "end of stream";
    case FRAME_TRUNCATED: return "stream ended inside a frame";
    case FRAME_TOO_BIG:   return "frame larger than the limit";
    case FRAME_IO_ERROR:  return "read or write failed";
    }
    return "unknown frame result";
}

enum frame_result frame_send(int fd, const void *payload, size_t len)
{
    unsigned char header[4];

    if (len > FRAME_MAX)
        return FRAME_TOO_BIG;
    header[0] = (unsigned char)(len >> 24);
    header[1] = (unsigned char)(len >> 16);
    header[2] = (unsigned char)(len >> 8);
    header[3] = (unsigned char)len;
    /* Two writes, not one: the receiver must cope with any split anyway. */
    if (write_full(fd, header, sizeof header) < 0 ||
        write_full(fd, payload, len) < 0)
        return FRAME_IO_ERROR;
    return FRAME_OK;
}

/* Reads the header; on FRAME_OK *len is the announced payload length. */
static enum frame_result read_header(int fd, size_t max, size_t *len)
{
    unsigned char header[4];
    ssize_t got = read_full(fd, header, sizeof header);
    uint32_t announced;

    if (got < 0)
        return FRAME_IO_ERROR;
    if (got == 0)
        return FRAME_EOF;
    if ((size_t)got < sizeof header)
        return FRAME_TRUNCATED;
    announced = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 |
                (uint32_t)header[2] << 8 | (uint32_t)header[3];
    if (announced > max || announced > FRAME_MAX)
        return FRAME_TOO_BIG;
    *len = announced;
    return FRAME_OK;
}

static enum frame_result read_payload(int fd, void *buf, size_t len)
{
    ssize_t got = read_full(fd, buf, len);

    if (got < 0)
        return FRAME_IO_ERROR;
    return (size_t)got < len ? FRAME_TRUNCATED : FRAME_OK;
}

enum frame_result frame_recv(int fd, void *buf, size_t cap, size_t *len)
{
    size_t announced;
    enum frame_result result = read_header(fd, cap, &announced);

    if (result != FRAME_OK)
        return result;
    result = read_payload(fd, buf, announced);
    if (result == FRAME_OK)
        *len = announced;
    return result;
}

enum frame_result frame_recv_alloc(int fd, size_t max, void **payload, size_t *len)
{
    size_t announced;
    enum frame_result result = read_header(fd, max, &announced);
    char *buf;

    if (result != FRAME_OK)
        return result;
    buf = malloc(announced + 1);
    if (buf == NULL)
        return FRAME_IO_ERROR;       /* errno is ENOMEM */
    result = read_payload(fd, buf, announced);
    if (result != FRAME_OK) {
        int saved = errno;
        free(buf);
        errno = saved;
        return result;
    }
    buf[announced] = '\0';
    *payload = buf;
    *len = announced;
    return FRAME_OK;
}

size_t frame_recv_or_die(int fd, void *buf, size_t cap, int *eof)
{
    size_t len = 0;
    enum frame_result result = frame_recv(fd, buf, cap, &len);

    *eof = result == FRAME_EOF;
    if (result == FRAME_IO_ERROR)
        die("frame_recv: read");
    if (result != FRAME_OK && result != FRAME_EOF)
        fatal("frame_recv: %s", frame_result_name(result));
    return len;
}

void frame_send_or_die(int fd, const void *payload, size_t len)
{
    enum frame_result result = frame_send(fd, payload, len);

    if (result == FRAME_IO_ERROR)
        die("frame_send: write");
    if (result != FRAME_OK)
        fatal("frame_send: %s", frame_result_name(result));
}
