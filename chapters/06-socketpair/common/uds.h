/* uds.h - what the Unix-domain socket programs of chapter 06 share.
 *
 * A socket file lives in the file system like a FIFO: it must not sit at a
 * fixed path in /tmp (anyone could take the name first), and it must go
 * away on every exit path.  uds_place_make() creates a private mkdtemp
 * directory for it (lib's ipc_private_dir_create_or_die); uds_listen_or_die()
 * binds, registers the file and sets its mode to 0600 whatever the umask;
 * both are removed by lib/cleanup.h, the file first.
 *
 * A stream socket has no message boundaries.  The programs here speak in
 * lines; a line_reader keeps what one read() brought beyond the current
 * line for the next call, so a line split over two reads, or two lines in
 * one read, come out right.
 */
#ifndef UDS_H
#define UDS_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#define UDS_PATH_MAX 108          /* sizeof sun_path on Linux */

struct uds_place {
    char dir[PATH_MAX];
    char path[UDS_PATH_MAX];
};

/* A fresh directory $TMPDIR/ipclab-uds-XXXXXX (mode 0700), registered for
 * removal, and in place->path the name of a socket file `name` inside it.
 * Dies on error (ENAMETOOLONG if the path does not fit sun_path). */
void uds_place_make(struct uds_place *place, const char *name);

/* socket + bind + listen on path; registers the socket file with cleanup
 * (the stop signals blocked from bind to the registration), gives it mode
 * 0600, and stores the handle in *handle (if not NULL).  Dies on error. */
int uds_listen_or_die(const char *path, int backlog, int *handle);

/* A connected stream socket to path, or -1 with errno set. */
int uds_connect(const char *path);

/* Waits until fd is readable (or at end-of-file).  Returns 1, 0 after
 * timeout_ms, or -1 with errno set. */
int wait_readable(int fd, long timeout_ms);

#define LINE_MAX_BYTES 1024

struct line_reader {
    int fd;
    size_t len;                   /* bytes in buf not yet returned */
    char buf[LINE_MAX_BYTES];
};

void line_reader_init(struct line_reader *r, int fd);

/* Returns the next complete line already buffered (without its '\n',
 * NUL-terminated, in out) and its length, or -1 if there is none yet.
 * Never reads. */
ssize_t line_take(struct line_reader *r, char *out, size_t size);

/* One read() into the buffer.  Returns the bytes read, 0 at end-of-file,
 * or -1 with errno set (ENOBUFS: a line longer than LINE_MAX_BYTES). */
ssize_t line_fill(struct line_reader *r);

/* The next line, waiting at most timeout_ms for each read.  Returns its
 * length, -2 at end-of-file, or -1 with errno set (ETIMEDOUT, ENOBUFS,
 * or read's error). */
ssize_t line_read(struct line_reader *r, char *out, size_t size, long timeout_ms);

#endif
