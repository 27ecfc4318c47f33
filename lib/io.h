/* io.h - reads and writes that finish the job.
 *
 * read() and write() may transfer fewer bytes than asked (a pipe, a socket,
 * a signal arriving mid-transfer) and may fail with EINTR.  These loop until
 * everything is moved, end-of-file is reached, or a real error occurs.
 */
#ifndef IPCLAB_IO_H
#define IPCLAB_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Reads exactly n bytes unless end-of-file comes first.  Returns the number
 * read (less than n only at end-of-file), or -1 with errno set. */
ssize_t read_full(int fd, void *buf, size_t n);

/* Writes all n bytes.  Returns n, or -1 with errno set. */
ssize_t write_full(int fd, const void *buf, size_t n);

/* Exiting forms for short listings: die() naming "read"/"write" on error. */
size_t read_full_or_die(int fd, void *buf, size_t n);
void write_full_or_die(int fd, const void *buf, size_t n);

#endif
