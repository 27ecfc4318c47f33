/* ipc_names.h - names and keys that belong to one run only.
 *
 * A fixed name or key ("/myshm", 0x1234) makes two runs at once share one
 * object without noticing, and lets a crashed run poison the next.  Every
 * ipclab object gets a name or key made for the run that creates it.
 */
#ifndef IPCLAB_IPC_NAMES_H
#define IPCLAB_IPC_NAMES_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* The environment variable that overrides the prefix of POSIX names (tests
 * set it so that they can recognise their own objects). */
#define IPC_NAME_PREFIX_ENV "IPCLAB_PREFIX"
#define IPC_NAME_PREFIX_DEFAULT "ipclab"
#define IPC_NAME_SIZE 128

/* The prefix in use: $IPCLAB_PREFIX if it is set to 1-40 characters from
 * [A-Za-z0-9._-], else "ipclab". */
const char *ipc_name_prefix(void);

/* Writes a POSIX IPC name, "/<prefix>-<what>-<pid>-<seq>-<random>", usable
 * with shm_open, mq_open and sem_open.  what may be NULL.  Returns 0,
 * EINVAL (what holds a character outside [A-Za-z0-9._-]) or ENAMETOOLONG. */
int ipc_name_make(char *buf, size_t size, const char *what);
void ipc_name_make_or_die(char *buf, size_t size, const char *what);

/* A private directory: "$TMPDIR/ipclab-<what>-XXXXXX" (or /tmp), made by
 * mkdtemp with mode 0700 whatever the umask (no other user can put or open
 * anything in it) and registered with cleanup.h, with the stop signals
 * blocked from mkdtemp to the registration.  FIFOs, socket files and key
 * files live in one.  what is 1-40 characters from [A-Za-z0-9._-].
 * Returns 0 or an errno value: EINVAL for what (dir untouched),
 * ENAMETOOLONG (dir holds as much of the template as fits), or the errno
 * of mkdtemp, the registration or chmod (dir holds the template, for the
 * caller's message; nothing is left behind). */
int ipc_private_dir_create(char *dir, size_t size, const char *what);
void ipc_private_dir_create_or_die(char *dir, size_t size, const char *what);

/* A private file for ftok(): a fresh mkdtemp directory under $TMPDIR (or
 * /tmp) holding one empty file, both registered with cleanup.h so they go
 * away on every exit path. */
struct ipc_keyfile {
    char dir[PATH_MAX];
    char path[PATH_MAX];
};
int ipc_keyfile_create(struct ipc_keyfile *keyfile);

/* ftok() with its pitfalls checked: proj_id must be 1-255 (ftok keeps only
 * the low 8 bits, and 0 is a classic mistake), and the path must exist.
 * Returns 0, EINVAL for a bad proj_id, or ftok's errno. */
int ipc_key_from_path(const char *path, int proj_id, key_t *key);

/* Creates a keyfile and returns a key from it with the given proj_id; dies
 * on error.  Two runs at once never get the same file, so they never share
 * an object by accident; creating with IPC_EXCL still guards against ftok's
 * rare collisions. */
key_t ipc_private_key_or_die(struct ipc_keyfile *keyfile, int proj_id);

#endif
