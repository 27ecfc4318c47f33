/* ipc_names.c - see ipc_names.h. */
#include "ipc_names.h"

#include "cleanup.h"
#include "clock.h"
#include "die.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_name_text(const char *text, size_t max)
{
    size_t len;

    if (text == NULL)
        return 0;
    len = strlen(text);
    if (len == 0 || len > max)
        return 0;
    return strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789._-") == len;
}

const char *ipc_name_prefix(void)
{
    const char *env = getenv(IPC_NAME_PREFIX_ENV);

    return env != NULL && is_name_text(env, 40) ? env : IPC_NAME_PREFIX_DEFAULT;
}

int ipc_name_make(char *buf, size_t size, const char *what)
{
    static atomic_uint sequence;
    unsigned seq = atomic_fetch_add(&sequence, 1);
    /* The pid keeps two live runs apart, the sequence number two names of
     * one run; the clock bits keep a run apart from a dead run with the same
     * pid whose objects were left behind. */
    unsigned salt = (unsigned)(monotonic_ns() & 0xffffffu);
    int n;

    if (what != NULL && !is_name_text(what, 40))
        return EINVAL;
    n = snprintf(buf, size, "/%s-%s-%ld-%u-%06x", ipc_name_prefix(),
                 what != NULL ? what : "obj", (long)getpid(), seq, salt);
    if (n < 0 || (size_t)n >= size)
        return ENAMETOOLONG;
    return 0;
}

void ipc_name_make_or_die(char *buf, size_t size, const char *what)
{
    int err = ipc_name_make(buf, size, what);

    if (err != 0)
        die_errnum(err, "ipc_name_make");
}

int ipc_private_dir_create(char *dir, size_t size, const char *what)
{
    const char *tmp = getenv("TMPDIR");
    sigset_t saved;
    int n, handle, err = 0;

    if (!is_name_text(what, 40))
        return EINVAL;
    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    n = snprintf(dir, size, "%s/ipclab-%s-XXXXXX", tmp, what);
    if (n < 0 || (size_t)n >= size)
        return ENAMETOOLONG;
    cleanup_block_signals(&saved);
    if (mkdtemp(dir) == NULL) {
        err = errno;
    } else if ((handle = cleanup_add_dir(dir)) < 0) {
        err = errno;
        rmdir(dir);
    } else if (chmod(dir, S_IRWXU) != 0) {
        /* mkdtemp's 0700 passes through the umask: under umask 0277 the
         * directory would be 0500 and nothing could be made in it. */
        err = errno;
        cleanup_remove(handle);
    }
    /* On failure the buffer holds mkdtemp's last random try or a removed
     * directory: names that mean nothing.  Put the template back for the
     * caller's message. */
    if (err != 0)
        snprintf(dir, size, "%s/ipclab-%s-XXXXXX", tmp, what);
    cleanup_unblock_signals(&saved);
    return err;
}

void ipc_private_dir_create_or_die(char *dir, size_t size, const char *what)
{
    int err = ipc_private_dir_create(dir, size, what);

    if (err != 0)
        die_errnum(err, "mkdtemp %s", dir);
}

int ipc_keyfile_create(struct ipc_keyfile *keyfile)
{
    sigset_t saved;
    int n, fd, err;

    err = ipc_private_dir_create(keyfile->dir, sizeof keyfile->dir, "key");
    if (err != 0)
        return err;
    n = snprintf(keyfile->path, sizeof keyfile->path, "%s/key", keyfile->dir);
    if (n < 0 || (size_t)n >= sizeof keyfile->path)
        return ENAMETOOLONG;
    cleanup_block_signals(&saved);
    fd = open(keyfile->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    err = fd < 0 ? errno : 0;
    if (fd >= 0) {
        close(fd);
        if (cleanup_add_path(keyfile->path) < 0) {
            err = errno;
            unlink(keyfile->path);
        }
    }
    cleanup_unblock_signals(&saved);
    return err;
}

int ipc_key_from_path(const char *path, int proj_id, key_t *key)
{
    key_t k;

    if (proj_id < 1 || proj_id > 255)
        return EINVAL;
    k = ftok(path, proj_id);
    if (k == (key_t)-1)
        return errno;
    *key = k;
    return 0;
}

key_t ipc_private_key_or_die(struct ipc_keyfile *keyfile, int proj_id)
{
    key_t key = IPC_PRIVATE;   /* set by ipc_key_from_path() on success */
    int err = ipc_keyfile_create(keyfile);

    if (err != 0)
        die_errnum(err, "ipc_keyfile_create: %s", keyfile->dir);
    err = ipc_key_from_path(keyfile->path, proj_id, &key);
    if (err != 0)
        die_errnum(err, "ftok: %s", keyfile->path);
    return key;
}
