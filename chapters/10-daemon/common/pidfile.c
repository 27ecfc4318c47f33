/* pidfile.c - see pidfile.h. */
#include "pidfile.h"

#include "cleanup.h"
#include "die.h"
#include "io.h"
#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long read_pid(int fd)
{
    char text[32] = "";
    ssize_t got = pread(fd, text, sizeof text - 1, 0);
    long pid = 0;

    if (got > 0) {
        text[got] = '\0';
        text[strcspn(text, "\n")] = '\0';
        if (parse_long(text, 1, 1L << 30, &pid) != 0)
            pid = 0;
    }
    return pid;
}

/* region: take */
int pidfile_take_or_die(const char *path, long *stale_pid)
{
    for (int attempt = 0; attempt < 10; attempt++) {
        struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        struct stat held, named;
        char text[32];
        sigset_t saved;
        int fd, len;

        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            die("open %s", path);
        if (fcntl(fd, F_SETLK, &lock) != 0) {
            if (errno != EAGAIN && errno != EACCES)
                die("fcntl F_SETLK %s", path);
            /* F_GETLK names the holder: better than trusting the text. */
            if (fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK)
                fatal("already running as pid %ld (%s is locked)", (long)lock.l_pid, path);
            close(fd);
            continue;           /* the holder let go meanwhile: try again */
        }
        /* The previous owner may have unlinked the file between our open()
         * and our lock: then we hold a lock on a file nobody can see. */
        if (fstat(fd, &held) != 0)
            die("fstat %s", path);
        if (stat(path, &named) != 0 || named.st_ino != held.st_ino || named.st_dev != held.st_dev) {
            close(fd);
            continue;
        }
        *stale_pid = read_pid(fd);      /* a pid in an unlocked file: stale */
        len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len)
            die("writing %s", path);
        cleanup_block_signals(&saved);
        cleanup_check(cleanup_add_path(path), "the pid file");
        cleanup_unblock_signals(&saved);
        return fd;
    }
    fatal("%s: the lock changed hands ten times; giving up", path);
}
/* end region: take */
