/* fifo.h - what the FIFO programs of chapter 02 share: a private directory
 * for their FIFOs, and the request/reply protocol of fifo_server and
 * fifo_client.
 */
#ifndef CH02_FIFO_H
#define CH02_FIFO_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define FIFO_PATH_MAX 256   /* the longest path cleanup.h can hold */

/* Makes a fresh directory "$TMPDIR/ipclab-<what>-XXXXXX" (mode 0700, from
 * mkdtemp) and registers it for removal on every exit path.  A FIFO at a
 * fixed path in /tmp could be pre-created, or shared, by anyone; one in a
 * directory only we can enter cannot.  Dies on error. */
void private_dir_make(char *dir, size_t size, const char *what);

/* Makes the FIFO dir/name with mode 0600 and registers it for removal
 * (before the directory, which cleanup removes after it).  Dies on error. */
void fifo_make(char *path, size_t size, const char *dir, const char *name);

/* --- the fifo_server protocol --------------------------------------------
 * Every message is one fixed-size record written with one write().  A pipe
 * or FIFO never splits a write of at most PIPE_BUF bytes, nor mixes it with
 * another writer's: with many clients writing to one server FIFO, each
 * request still arrives whole.  POSIX promises PIPE_BUF >= 512. */
#define FIFO_TEXT_MAX 120

struct fifo_request {
    int32_t client_pid;
    int32_t seq;                        /* 1, 2, ... per client */
    char reply_path[FIFO_PATH_MAX];     /* the client's own FIFO */
    char text[FIFO_TEXT_MAX];
};

struct fifo_reply {
    int32_t server_pid;
    int32_t seq;                        /* the request's */
    int32_t served;                     /* the server's running count */
    char text[FIFO_TEXT_MAX + 80];
};

_Static_assert(sizeof(struct fifo_request) <= 512, "a request must fit in PIPE_BUF");
_Static_assert(sizeof(struct fifo_reply) <= 512, "a reply must fit in PIPE_BUF");

/* Writes one record of at most PIPE_BUF bytes to a non-blocking FIFO: all of
 * it or nothing (EAGAIN while the FIFO is full, then poll()s for room up to
 * timeout_ms).  Returns 0 or an errno value (ETIMEDOUT). */
int fifo_write_record(int fd, const void *record, size_t size, long timeout_ms);

/* Reads one record from a non-blocking FIFO, waiting up to timeout_ms.
 * Returns 0, ETIMEDOUT, EPROTO (a partial record: cannot happen when every
 * writer writes whole records), or read()'s errno. */
int fifo_read_record(int fd, void *record, size_t size, long timeout_ms);

/* A client: makes its reply FIFO, sends `requests` requests to the server
 * FIFO at server_path and waits for each reply.  label starts each line it
 * prints.  Returns the number of requests that got a correct reply. */
int fifo_client_run(const char *label, const char *server_path, long requests,
                    long timeout_ms);

#endif
