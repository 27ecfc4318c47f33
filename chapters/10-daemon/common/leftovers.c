/* leftovers.c - see leftovers.h. */
#include "leftovers.h"

#include "cleanup.h"
#include "die.h"
#include "dlog.h"
#include "io.h"
#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int objects_fd = -1;

/* Whether pid is a live process.  A zombie is not: it has dropped its
 * locks and will never remove anything (Linux: the state in /proc). */
static bool alive(long pid)
{
    char path[64], stat[512];
    const char *paren;
    ssize_t got;
    int fd;

    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return false;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;            /* cannot tell: keep its objects */
    got = read_full(fd, stat, sizeof stat - 1);
    close(fd);
    if (got <= 0)
        return true;
    stat[got] = '\0';
    paren = strrchr(stat, ')');         /* "pid (name) S ...": the name may hold spaces */
    return paren == NULL || paren[1] != ' ' || paren[2] != 'Z';
}

/* region: remove */
/* A directory of ours, mode 0700, named like a qdaemon's, holding at most
 * the socket "control": nothing else is removed. */
static void remove_socket_dir(const char *dir, long pid)
{
    const char *base = strrchr(dir, '/');
    char sock[PATH_MAX];
    struct stat st;

    if (dir[0] != '/' || base == NULL || strstr(base, "-qdaemon-") == NULL ||
        lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
        (st.st_mode & 07777) != 0700) {
        dlog("not removing %s: gone already, or not a qdaemon's private directory", dir);
        return;
    }
    if ((size_t)snprintf(sock, sizeof sock, "%s/control", dir) < sizeof sock &&
        lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(sock);
    if (rmdir(dir) == 0)
        dlog("removed the control socket directory %s of pid %ld", dir, pid);
    else
        dlog("could not remove %s: rmdir: %s", dir, strerror(errno));
}

static void remove_posix_queue(const char *name, long pid)
{
    if (name[0] != '/' || strchr(name + 1, '/') != NULL || strstr(name, "-qdaemon-") == NULL) {
        dlog("not removing %s: not a qdaemon's POSIX queue name", name);
        return;
    }
    if (mq_unlink(name) == 0)
        dlog("removed the POSIX queue %s of pid %ld", name, pid);
    else if (errno != ENOENT)
        dlog("could not remove the POSIX queue %s: mq_unlink: %s", name, strerror(errno));
}
/* end region: remove */

/* Reads the names the dead daemon wrote, removes what they name. */
static void clean(const char *objects_path)
{
    char text[4096], *line, *next;
    long pid = 0;
    ssize_t got;
    int fd = open(objects_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return;                 /* none: the last daemon stopped cleanly */
    got = read_full(fd, text, sizeof text - 1);
    close(fd);
    if (got < 0)
        return;
    text[got] = '\0';
    for (line = text; line != NULL && *line != '\0'; line = next) {
        char *space;

        next = strchr(line, '\n');
        if (next == NULL)
            break;              /* the last line was cut by the kill: ignore it */
        *next++ = '\0';
        space = strchr(line, ' ');
        if (line[0] == '#' || space == NULL)
            continue;
        *space = '\0';
        if (strcmp(line, "pid") == 0) {
            if (parse_long(space + 1, 2, 1L << 30, &pid) != 0)
                pid = 0;
            /* A live process of that pid: maybe a daemon whose pid file was
             * deleted by hand.  Never take its objects away. */
            if (pid != 0 && alive(pid)) {
                dlog("%s names pid %ld, which still runs: removing nothing", objects_path, pid);
                return;
            }
        } else if (pid == 0) {
            break;              /* no pid line first: not a file we wrote */
        } else if (strcmp(line, "socket-dir") == 0) {
            remove_socket_dir(space + 1, pid);
        } else if (strcmp(line, "posix-queue") == 0) {
            remove_posix_queue(space + 1, pid);
        }
    }
}

void leftovers_take_over(const char *pid_path)
{
    char path[PATH_MAX], line[64];
    sigset_t saved;
    int len;

    if ((size_t)snprintf(path, sizeof path, "%s.objects", pid_path) >= sizeof path)
        fatal("%s.objects: the path is too long", pid_path);
    clean(path);
    cleanup_block_signals(&saved);
    objects_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (objects_fd >= 0)
        cleanup_check(cleanup_add_path(path), "the objects file");
    cleanup_unblock_signals(&saved);
    if (objects_fd < 0)
        die("open %s", path);
    len = snprintf(line, sizeof line, "pid %ld\n", (long)getpid());
    if (write_full(objects_fd, line, (size_t)len) != len)
        die("write %s", path);
}

void leftovers_record(const char *kind, const char *name)
{
    char line[PATH_MAX + 32];
    int len;

    if (objects_fd < 0)
        return;
    /* One write() a line, O_APPEND: a kill between two leaves whole lines. */
    len = snprintf(line, sizeof line, "%s %s\n", kind, name);
    if (len < 0 || (size_t)len >= sizeof line || write_full(objects_fd, line, (size_t)len) != len)
        dlog("could not record %s %s: the next daemon will not find it after a kill -9", kind, name);
}
