/* fifo.h - what the FIFO programs of chapter 02 share: a FIFO made and
 * registered in one step, and the request/reply protocol of fifo_server and
 * fifo_client.
 */
#ifndef CH02_FIFO_H
#define CH02_FIFO_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define FIFO_PATH_MAX 256   /* the longest path cleanup.h can hold */

/* Makes the FIFO dir/name with mode 0600 and registers it for removal
 * (before the directory, which cleanup removes after it), with the stop
 * signals blocked from mkfifo() to the registration: a SIGTERM in between
 * waits, and then finds the FIFO registered.  dir is a private directory
 * from ipc_private_dir_create_or_die() (lib/ipc_names.h): a FIFO at a fixed
 * path in /tmp could be pre-created, or shared, by anyone; one in a
 * directory only we can enter cannot.  Dies on error. */
void fifo_make(char *path, size_t size, const char *dir, const char *name);

/* The directory protocol of the reply FIFOs.  A client makes its private
 * directory with ipc_private_dir_create_or_die(dir, size, FIFO_CLIENT_DIR)
 * in $TMPDIR (or /tmp), so it is "$TMPDIR/ipclab-client-XXXXXX", and its
 * reply FIFO in it is named FIFO_REPLY_NAME.  The server answers only a
 * reply path of exactly that shape, in its own $TMPDIR, whose directory is
 * ours with mode 0700, and whose file, once opened, is a FIFO of ours. */
#define FIFO_CLIENT_DIR "client"
#define FIFO_REPLY_NAME "reply"

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

/* Opens path for writing without blocking (O_NONBLOCK: ENXIO at once when
 * nobody reads it) and makes sure it is a FIFO: a regular file, a device or
 * a directory is closed again untouched.  Returns the descriptor, or -1
 * with errno set: open()'s, or EINVAL when the file is not a FIFO, and then
 * *what (if what is not NULL) names what it is ("a regular file"). */
int fifo_open_writer(const char *path, const char **what);

/* A client: makes its reply FIFO, sends `requests` requests to the server
 * FIFO at server_path and waits for each reply.  label starts each line it
 * prints.  Returns the number of requests that got a correct reply. */
int fifo_client_run(const char *label, const char *server_path, long requests,
                    long timeout_ms);

/* A misbehaving client, for the server's tests: sends one request naming
 * reply_path (anything: a regular file, a FIFO nobody reads) as its reply
 * FIFO, and goes away without waiting for an answer. */
void fifo_client_forge(const char *label, const char *server_path, const char *reply_path,
                       long timeout_ms);

#endif
