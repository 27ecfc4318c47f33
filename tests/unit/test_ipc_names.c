/* test_ipc_names.c - names and keys unique to a run (lib/ipc_names.c). */
#include "unit.h"

#include "cleanup.h"
#include "die.h"
#include "io.h"
#include "ipc_names.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

/* The permission bits of a mode. */
#define PERMS(mode) ((mode) & (S_IRWXU | S_IRWXG | S_IRWXO))

/* --- environment ------------------------------------------------------------- */

/* Sets (value != NULL) or unsets a variable; remembers the first value seen
 * so restore_env() can put it back. */
struct saved_env {
    const char *name;
    char value[PATH_MAX + 64];
    int was_set;
};

static void save_env(struct saved_env *s, const char *name)
{
    const char *v = getenv(name);

    s->name = name;
    s->was_set = v != NULL;
    snprintf(s->value, sizeof s->value, "%s", v != NULL ? v : "");
}

static void restore_env(const struct saved_env *s)
{
    if (s->was_set)
        setenv(s->name, s->value, 1);
    else
        unsetenv(s->name);
}

static void set_prefix(const char *value)
{
    if (value == NULL)
        unsetenv(IPC_NAME_PREFIX_ENV);
    else
        setenv(IPC_NAME_PREFIX_ENV, value, 1);
}

/* --- the prefix ---------------------------------------------------------------- */

static void test_prefix_from_the_environment(void)
{
    static const char forty[] = "abcdefghij0123456789ABCDEFGHIJ-_.abcdefg";
    struct saved_env saved;

    save_env(&saved, IPC_NAME_PREFIX_ENV);
    CU_ASSERT_EQUAL(strlen(forty), 40);
    set_prefix(NULL);
    CU_ASSERT_STRING_EQUAL(ipc_name_prefix(), "ipclab");
    set_prefix("t-1.x_Y");
    CU_ASSERT_STRING_EQUAL(ipc_name_prefix(), "t-1.x_Y");
    set_prefix(forty);
    CU_ASSERT_STRING_EQUAL(ipc_name_prefix(), forty);
    restore_env(&saved);
}

static void test_invalid_prefix_falls_back(void)
{
    static const char forty_one[] = "abcdefghij0123456789ABCDEFGHIJ-_.abcdefgh";
    static const char *const bad[] = { "", "a/b", "a b", "x\n", "caf\xc3\xa9",
                                       "/lead", forty_one };
    struct saved_env saved;

    save_env(&saved, IPC_NAME_PREFIX_ENV);
    CU_ASSERT_EQUAL(strlen(forty_one), 41);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        set_prefix(bad[i]);
        CU_ASSERT_STRING_EQUAL(ipc_name_prefix(), IPC_NAME_PREFIX_DEFAULT);
    }
    restore_env(&saved);
}

/* --- names ------------------------------------------------------------------------- */

/* Splits "/<prefix>-<what>-<pid>-<seq>-<6 hex>" after a known "/<prefix>-<what>-". */
static int parse_tail(const char *name, const char *head, long *pid, unsigned long *seq)
{
    char salt[8];
    int used = 0;
    size_t n = strlen(head);

    if (strncmp(name, head, n) != 0)
        return 0;
    if (sscanf(name + n, "%ld-%lu-%7[0-9a-f]%n", pid, seq, salt, &used) != 3)
        return 0;
    return name[n + (size_t)used] == '\0' && strlen(salt) == 6;
}

static void test_name_format(void)
{
    struct saved_env saved;
    char a[IPC_NAME_SIZE], b[IPC_NAME_SIZE], c[IPC_NAME_SIZE];
    long pid = 0;
    unsigned long seq_a = 0, seq_b = 0, seq_c = 0;

    save_env(&saved, IPC_NAME_PREFIX_ENV);
    set_prefix("utest");
    CU_ASSERT_EQUAL(ipc_name_make(a, sizeof a, "shm"), 0);
    CU_ASSERT_EQUAL(ipc_name_make(b, sizeof b, "shm"), 0);
    CU_ASSERT_EQUAL(ipc_name_make(c, sizeof c, NULL), 0);
    CU_ASSERT_TRUE(parse_tail(a, "/utest-shm-", &pid, &seq_a));
    CU_ASSERT_EQUAL(pid, (long)getpid());
    CU_ASSERT_TRUE(parse_tail(b, "/utest-shm-", &pid, &seq_b));
    CU_ASSERT_TRUE(parse_tail(c, "/utest-obj-", &pid, &seq_c));   /* NULL: "obj" */
    CU_ASSERT_EQUAL(seq_b, seq_a + 1);
    CU_ASSERT_EQUAL(seq_c, seq_b + 1);
    CU_ASSERT_PTR_NULL(strchr(a + 1, '/'));     /* one leading slash only */
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    restore_env(&saved);
}

static void test_names_work_with_shm_open_and_mq_open(void)
{
    char name[IPC_NAME_SIZE];
    struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 8 };
    struct stat st;
    mqd_t mq;
    int fd;

    CU_ASSERT_EQUAL_FATAL(ipc_name_make(name, sizeof name, "shm"), 0);
    fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(fstat(fd, &st) == 0 && PERMS(st.st_mode) == 0600);
    close(fd);
    CU_ASSERT_EQUAL(shm_unlink(name), 0);

    CU_ASSERT_EQUAL_FATAL(ipc_name_make(name, sizeof name, "mq"), 0);
    mq = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    CU_ASSERT_FATAL(mq != (mqd_t)-1);
    mq_close(mq);
    CU_ASSERT_EQUAL(mq_unlink(name), 0);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Sorted, the names of one batch must be strictly increasing. */
static int count_duplicates(char (*names)[IPC_NAME_SIZE], size_t n)
{
    int dups = 0;

    qsort(names, n, IPC_NAME_SIZE, compare_names);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            dups++;
    return dups;
}

enum { MANY = 5000 };

static void test_thousands_of_names_never_equal(void)
{
    static char names[MANY][IPC_NAME_SIZE];
    unsigned long first = 0, seq = 0;
    long pid = 0;
    char head[64];
    size_t bad = 0;

    snprintf(head, sizeof head, "/%s-n-", ipc_name_prefix());
    for (size_t i = 0; i < MANY; i++) {
        /* Unique by construction, not by luck of the clock: the sequence
         * number goes up by one each time. */
        if (ipc_name_make(names[i], IPC_NAME_SIZE, "n") != 0 ||
            !parse_tail(names[i], head, &pid, &seq) || pid != (long)getpid())
            bad++;
        if (i == 0)
            first = seq;
        if (seq != first + i)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(count_duplicates(names, MANY), 0);
}

/* Two processes make names at the same time; each writes its names, one
 * per line, to its own temporary file. */
struct maker {
    int go;          /* read end of the start barrier */
    int hold;        /* its write end: closed by the child, kept by the parent */
    FILE *out;
};

static int make_names(void *arg)
{
    struct maker *m = arg;
    char go, name[IPC_NAME_SIZE];

    close(m->hold);
    if (read_full(m->go, &go, 1) != 0)     /* EOF: both start together */
        return 1;
    for (int i = 0; i < MANY; i++) {
        if (ipc_name_make(name, sizeof name, "x") != 0)
            return 2;
        fprintf(m->out, "%s\n", name);
    }
    return fflush(m->out) == 0 ? 0 : 3;
}

static size_t read_names(FILE *f, char (*names)[IPC_NAME_SIZE], size_t max, long pid)
{
    char head[64];
    size_t n = 0;
    long got_pid;
    unsigned long seq;
    size_t bad = 0;

    snprintf(head, sizeof head, "/%s-x-", ipc_name_prefix());
    rewind(f);
    while (n < max && fgets(names[n], IPC_NAME_SIZE, f) != NULL) {
        names[n][strcspn(names[n], "\n")] = '\0';
        if (!parse_tail(names[n], head, &got_pid, &seq) || got_pid != pid)
            bad++;
        n++;
    }
    CU_ASSERT_EQUAL(bad, 0);            /* each carries its maker's pid */
    return n;
}

static void test_two_processes_at_once_never_share_a_name(void)
{
    static char names[2 * MANY][IPC_NAME_SIZE];
    struct maker m[2];
    pid_t pid[2];
    int barrier[2];
    size_t n = 0;

    CU_ASSERT_FATAL(pipe(barrier) == 0);
    for (int k = 0; k < 2; k++) {
        m[k].go = barrier[0];
        m[k].hold = barrier[1];
        m[k].out = tmpfile();
        CU_ASSERT_PTR_NOT_NULL_FATAL(m[k].out);
    }
    for (int k = 0; k < 2; k++)
        pid[k] = unit_fork(make_names, &m[k]);
    close(barrier[0]);
    close(barrier[1]);                       /* go */
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_TRUE(unit_exited(unit_wait_timeout(pid[k], 10000), 0));
        n += read_names(m[k].out, names + n, MANY, (long)pid[k]);
        fclose(m[k].out);
    }
    CU_ASSERT_EQUAL(n, 2 * MANY);
    CU_ASSERT_EQUAL(count_duplicates(names, n), 0);
}

static void test_bad_what_is_einval(void)
{
    static const char forty[] = "abcdefghij0123456789ABCDEFGHIJ-_.abcdefg";
    static const char *const bad[] = { "", "a/b", "a b", "x\n", "sh*m",
                                       "abcdefghij0123456789ABCDEFGHIJ-_.abcdefgh" };
    char buf[IPC_NAME_SIZE];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(buf, "untouched", 10);
        CU_ASSERT_EQUAL(ipc_name_make(buf, sizeof buf, bad[i]), EINVAL);
        CU_ASSERT_STRING_EQUAL(buf, "untouched");
    }
    CU_ASSERT_EQUAL(ipc_name_make(buf, sizeof buf, forty), 0);   /* 40 is fine */
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, forty));
}

static size_t digits(unsigned long v)
{
    size_t n = 1;

    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static void test_buffer_too_small_is_enametoolong(void)
{
    char buf[IPC_NAME_SIZE], head[64];
    unsigned long seq = 0;
    long pid = 0;
    size_t next_len;

    snprintf(head, sizeof head, "/%s-w-", ipc_name_prefix());
    CU_ASSERT_EQUAL_FATAL(ipc_name_make(buf, sizeof buf, "w"), 0);
    CU_ASSERT_FATAL(parse_tail(buf, head, &pid, &seq));
    /* The next name has sequence seq + 1: its exact length is known. */
    next_len = strlen(buf) - digits(seq) + digits(seq + 1);
    CU_ASSERT_EQUAL(ipc_name_make(buf, next_len, "w"), ENAMETOOLONG);  /* no room for '\0' */
    CU_ASSERT_EQUAL(ipc_name_make(buf, 1, "w"), ENAMETOOLONG);
    CU_ASSERT_EQUAL(ipc_name_make(buf, 0, "w"), ENAMETOOLONG);
    /* Those failures used sequence numbers seq + 1 .. seq + 3. */
    next_len = strlen(head) + digits((unsigned long)pid) + 1 + digits(seq + 4) + 1 + 6;
    CU_ASSERT_EQUAL(ipc_name_make(buf, next_len + 1, "w"), 0);       /* exactly fits */
    CU_ASSERT_EQUAL(strlen(buf), next_len);
}

static int make_name_too_long(void *arg)
{
    char buf[8];

    (void)arg;
    program_name = "t";
    ipc_name_make_or_die(buf, sizeof buf, "w");
    return 0;
}

static void test_make_or_die(void)
{
    char buf[IPC_NAME_SIZE] = "";
    struct unit_output o;

    ipc_name_make_or_die(buf, sizeof buf, "ok");
    CU_ASSERT_EQUAL(buf[0], '/');
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "-ok-"));
    unit_capture(make_name_too_long, NULL, &o);
    CU_ASSERT(unit_exited(o.status, 1));
    CU_ASSERT_STRING_EQUAL(o.err, "t: ipc_name_make: ENAMETOOLONG (File name too long)\n");
}

/* --- keyfiles and ftok keys ------------------------------------------------------------ */

static int is_empty_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int entries = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            entries++;
    closedir(d);
    return entries == 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes a private test directory and anything a failed test left in it. */
static int remove_tree(const char *dir)
{
    return nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* --- ipc_private_dir_create ------------------------------------------------ */

/* "<tmp>/ipclab-<what>-" and six characters that mkdtemp chose. */
static int is_private_dir_name(const char *dir, const char *tmp, const char *what)
{
    char prefix[PATH_MAX + 64];
    size_t n = (size_t)snprintf(prefix, sizeof prefix, "%s/ipclab-%s-", tmp, what);

    return strncmp(dir, prefix, n) == 0 && strlen(dir) == n + 6 &&
           strcmp(dir + n, "XXXXXX") != 0 && strchr(dir + n, '/') == NULL;
}

static void test_private_dir_0700_under_tmpdir_and_registered(void)
{
    struct saved_env saved;
    char tmp[PATH_MAX], d1[PATH_MAX], d2[PATH_MAX];
    struct stat st;
    mode_t old_mask;

    save_env(&saved, "TMPDIR");
    unit_tmpdir(tmp, sizeof tmp);
    setenv("TMPDIR", tmp, 1);
    CU_ASSERT_EQUAL_FATAL(ipc_private_dir_create(d1, sizeof d1, "fifo"), 0);
    /* A umask that would take the owner's write and search bits: still 0700. */
    old_mask = umask(0277);
    CU_ASSERT_EQUAL_FATAL(ipc_private_dir_create(d2, sizeof d2, "a.b_C-9"), 0);
    umask(old_mask);
    restore_env(&saved);

    CU_ASSERT_TRUE(is_private_dir_name(d1, tmp, "fifo"));
    CU_ASSERT_TRUE(is_private_dir_name(d2, tmp, "a.b_C-9"));
    CU_ASSERT(lstat(d1, &st) == 0 && S_ISDIR(st.st_mode) && PERMS(st.st_mode) == 0700 &&
              st.st_uid == getuid());
    CU_ASSERT(lstat(d2, &st) == 0 && S_ISDIR(st.st_mode) && PERMS(st.st_mode) == 0700);
    /* Registered: the cleanup removes both, newest first. */
    cleanup_run();
    CU_ASSERT(lstat(d1, &st) != 0 && errno == ENOENT);
    CU_ASSERT(lstat(d2, &st) != 0 && errno == ENOENT);
    CU_ASSERT(is_empty_dir(tmp));
    CU_ASSERT_EQUAL(remove_tree(tmp), 0);
}

static void test_private_dir_without_tmpdir_is_under_tmp(void)
{
    struct saved_env saved;
    char dir[PATH_MAX];
    struct stat st;

    save_env(&saved, "TMPDIR");
    for (int i = 0; i < 2; i++) {
        if (i == 0)
            unsetenv("TMPDIR");
        else
            setenv("TMPDIR", "", 1);        /* empty counts as unset */
        CU_ASSERT_EQUAL_FATAL(ipc_private_dir_create(dir, sizeof dir, "t"), 0);
        CU_ASSERT_TRUE(is_private_dir_name(dir, "/tmp", "t"));
        cleanup_run();
        CU_ASSERT(lstat(dir, &st) != 0 && errno == ENOENT);
    }
    restore_env(&saved);
}

static void test_private_dir_errors(void)
{
    static const char *const bad[] = { "", "a/b", "/", "sp ace", "tab\t", "\xc3\xa9",
                                       "12345678901234567890123456789012345678901" };
    struct saved_env saved;
    char tmp[PATH_MAX], dir[PATH_MAX], expect[PATH_MAX + 64];
    size_t need;

    save_env(&saved, "TMPDIR");
    unit_tmpdir(tmp, sizeof tmp);
    setenv("TMPDIR", tmp, 1);

    /* A bad what: EINVAL, the buffer untouched, nothing made. */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(dir, sizeof dir, "untouched");
        CU_ASSERT_EQUAL(ipc_private_dir_create(dir, sizeof dir, bad[i]), EINVAL);
        CU_ASSERT_STRING_EQUAL(dir, "untouched");
    }
    CU_ASSERT_EQUAL(ipc_private_dir_create(dir, sizeof dir, NULL), EINVAL);
    CU_ASSERT_STRING_EQUAL(dir, "untouched");
    /* 40 characters are fine. */
    CU_ASSERT_EQUAL(ipc_private_dir_create(dir, sizeof dir,
                                           "1234567890123456789012345678901234567890"), 0);
    cleanup_run();

    /* A buffer one byte short: ENAMETOOLONG, as much of the template as fits. */
    snprintf(expect, sizeof expect, "%s/ipclab-x-XXXXXX", tmp);
    need = strlen(expect) + 1;
    CU_ASSERT_EQUAL(ipc_private_dir_create(dir, need - 1, "x"), ENAMETOOLONG);
    CU_ASSERT_EQUAL(strlen(dir), need - 2);
    CU_ASSERT_EQUAL(strncmp(dir, expect, need - 2), 0);
    CU_ASSERT_EQUAL(ipc_private_dir_create(dir, need, "x"), 0);      /* exactly enough */
    CU_ASSERT_TRUE(is_private_dir_name(dir, tmp, "x"));
    cleanup_run();

    /* mkdtemp fails: its errno, and the template (not a random name). */
    setenv("TMPDIR", "/nonexistent-ipclab-test-dir", 1);
    CU_ASSERT_EQUAL(ipc_private_dir_create(dir, sizeof dir, "x"), ENOENT);
    CU_ASSERT_STRING_EQUAL(dir, "/nonexistent-ipclab-test-dir/ipclab-x-XXXXXX");
    restore_env(&saved);
    CU_ASSERT(is_empty_dir(tmp));
    CU_ASSERT_EQUAL(remove_tree(tmp), 0);
}

static int private_dir_or_die(void *arg)
{
    char dir[PATH_MAX];

    (void)arg;
    program_name = "t";
    setenv("TMPDIR", "/nonexistent-ipclab-test-dir", 1);
    ipc_private_dir_create_or_die(dir, sizeof dir, "fifo");
    return 0;
}

static void test_private_dir_or_die_names_the_template(void)
{
    struct unit_output o;

    unit_capture(private_dir_or_die, NULL, &o);
    CU_ASSERT_TRUE(unit_exited(o.status, 1));
    CU_ASSERT_STRING_EQUAL(o.err, "t: mkdtemp /nonexistent-ipclab-test-dir/ipclab-fifo-XXXXXX: "
                                  "ENOENT (No such file or directory)\n");
}

static void test_keyfile_private_and_removed_by_cleanup(void)
{
    struct saved_env saved;
    struct ipc_keyfile k1, k2;
    char tmp[PATH_MAX], expect[PATH_MAX + 32];
    struct stat st;

    save_env(&saved, "TMPDIR");
    unit_tmpdir(tmp, sizeof tmp);
    setenv("TMPDIR", tmp, 1);
    CU_ASSERT_EQUAL_FATAL(ipc_keyfile_create(&k1), 0);
    CU_ASSERT_EQUAL_FATAL(ipc_keyfile_create(&k2), 0);
    restore_env(&saved);

    snprintf(expect, sizeof expect, "%s/ipclab-key-", tmp);
    CU_ASSERT_EQUAL(strncmp(k1.dir, expect, strlen(expect)), 0);    /* under $TMPDIR */
    CU_ASSERT_STRING_NOT_EQUAL(k1.dir, k2.dir);                     /* fresh each time */
    snprintf(expect, sizeof expect, "%s/key", k1.dir);
    CU_ASSERT_STRING_EQUAL(k1.path, expect);
    CU_ASSERT(lstat(k1.dir, &st) == 0 && S_ISDIR(st.st_mode) && PERMS(st.st_mode) == 0700);
    CU_ASSERT(lstat(k1.path, &st) == 0 && S_ISREG(st.st_mode) &&
              PERMS(st.st_mode) == 0600 && st.st_size == 0);

    cleanup_run();
    CU_ASSERT(lstat(k1.path, &st) != 0 && errno == ENOENT);
    CU_ASSERT(lstat(k1.dir, &st) != 0 && errno == ENOENT);
    CU_ASSERT(lstat(k2.dir, &st) != 0 && errno == ENOENT);
    CU_ASSERT(is_empty_dir(tmp));
    CU_ASSERT_EQUAL(remove_tree(tmp), 0);
}

static void test_keyfile_errors(void)
{
    struct saved_env saved;
    struct ipc_keyfile k;
    static char long_dir[PATH_MAX + 8];

    save_env(&saved, "TMPDIR");
    setenv("TMPDIR", "/nonexistent-ipclab-test-dir", 1);
    CU_ASSERT_EQUAL(ipc_keyfile_create(&k), ENOENT);
    CU_ASSERT_STRING_EQUAL(k.dir, "/nonexistent-ipclab-test-dir/ipclab-key-XXXXXX");
    memset(long_dir, 'd', sizeof long_dir - 1);
    long_dir[0] = '/';
    setenv("TMPDIR", long_dir, 1);
    CU_ASSERT_EQUAL(ipc_keyfile_create(&k), ENAMETOOLONG);
    restore_env(&saved);
}

static void test_key_from_path(void)
{
    char tmp[PATH_MAX], a[PATH_MAX + 8], b[PATH_MAX + 8];
    key_t k1 = 0, k2 = 0, k3 = 0, k4 = 0, untouched = 12345;
    int fd;

    unit_tmpdir(tmp, sizeof tmp);
    snprintf(a, sizeof a, "%s/a", tmp);
    snprintf(b, sizeof b, "%s/b", tmp);
    CU_ASSERT_FATAL((fd = open(a, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
    close(fd);
    CU_ASSERT_FATAL((fd = open(b, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
    close(fd);

    CU_ASSERT_EQUAL(ipc_key_from_path(a, 0, &untouched), EINVAL);
    CU_ASSERT_EQUAL(ipc_key_from_path(a, 256, &untouched), EINVAL);  /* 256 & 0xff = 0 */
    CU_ASSERT_EQUAL(ipc_key_from_path(a, -1, &untouched), EINVAL);
    CU_ASSERT_EQUAL(untouched, 12345);

    CU_ASSERT_EQUAL(ipc_key_from_path(a, 1, &k1), 0);
    CU_ASSERT_EQUAL(ipc_key_from_path(a, 1, &k2), 0);
    CU_ASSERT_EQUAL(k1, k2);                                         /* same path, same id */
    CU_ASSERT_EQUAL(ipc_key_from_path(a, 255, &k3), 0);
    CU_ASSERT_NOT_EQUAL(k1, k3);                                     /* other id */
    CU_ASSERT_EQUAL(ipc_key_from_path(b, 1, &k4), 0);
    CU_ASSERT_NOT_EQUAL(k1, k4);                                     /* other file */
    CU_ASSERT(k1 != (key_t)-1 && k1 != IPC_PRIVATE);
    CU_ASSERT_EQUAL(k1, ftok(a, 1));                                 /* it is ftok's key */

    CU_ASSERT_EQUAL(unlink(a), 0);
    CU_ASSERT_EQUAL(ipc_key_from_path(a, 1, &untouched), ENOENT);    /* missing path */
    CU_ASSERT_EQUAL(untouched, 12345);
    CU_ASSERT_EQUAL(unlink(b), 0);
    CU_ASSERT_EQUAL(rmdir(tmp), 0);
}

static void test_private_key_or_die(void)
{
    struct saved_env saved;
    struct ipc_keyfile k;
    char tmp[PATH_MAX];
    key_t key, again = 0;
    int id;

    save_env(&saved, "TMPDIR");
    unit_tmpdir(tmp, sizeof tmp);
    setenv("TMPDIR", tmp, 1);
    key = ipc_private_key_or_die(&k, 42);
    restore_env(&saved);
    CU_ASSERT_EQUAL(ipc_key_from_path(k.path, 42, &again), 0);
    CU_ASSERT_EQUAL(key, again);
    /* The key works: a queue nobody else can have created. */
    id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    CU_ASSERT(id >= 0);
    if (id >= 0)
        CU_ASSERT_EQUAL(msgctl(id, IPC_RMID, NULL), 0);
    cleanup_run();
    CU_ASSERT(is_empty_dir(tmp));
    CU_ASSERT_EQUAL(remove_tree(tmp), 0);
}

static int private_key_bad_proj(void *arg)
{
    struct ipc_keyfile k;

    setenv("TMPDIR", arg, 1);
    program_name = "t";
    ipc_private_key_or_die(&k, 0);
    return 0;
}

static int private_key_no_tmpdir(void *arg)
{
    struct ipc_keyfile k;

    (void)arg;
    setenv("TMPDIR", "/nonexistent-ipclab-test-dir", 1);
    program_name = "t";
    ipc_private_key_or_die(&k, 1);
    return 0;
}

static void test_private_key_or_die_errors(void)
{
    char tmp[PATH_MAX];
    const char *tail = ": EINVAL (Invalid argument)\n";
    struct unit_output o;
    size_t n;

    unit_tmpdir(tmp, sizeof tmp);
    unit_capture(private_key_bad_proj, tmp, &o);
    CU_ASSERT(unit_exited(o.status, 1));
    CU_ASSERT_EQUAL(strncmp(o.err, "t: ftok: ", 9), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.err, "/ipclab-key-"));
    n = strlen(o.err);
    CU_ASSERT(n > strlen(tail) && strcmp(o.err + n - strlen(tail), tail) == 0);
    /* die() exits through the cleanup: the keyfile and its dir are gone. */
    CU_ASSERT(is_empty_dir(tmp));
    CU_ASSERT_EQUAL(remove_tree(tmp), 0);

    unit_capture(private_key_no_tmpdir, NULL, &o);
    CU_ASSERT(unit_exited(o.status, 1));
    /* It names the directory it tried to make, as a template: no random
     * name that never existed. */
    CU_ASSERT_STRING_EQUAL(o.err, "t: ipc_keyfile_create: /nonexistent-ipclab-test-dir/"
                           "ipclab-key-XXXXXX: ENOENT (No such file or directory)\n");
}

static CU_TestInfo tests[] = {
    { "private dir: 0700 (any umask), under $TMPDIR, removed by cleanup_run", test_private_dir_0700_under_tmpdir_and_registered },
    { "private dir: /tmp when $TMPDIR is unset or empty", test_private_dir_without_tmpdir_is_under_tmp },
    { "private dir: EINVAL (untouched), ENAMETOOLONG, mkdtemp's errno (template)", test_private_dir_errors },
    { "ipc_private_dir_create_or_die names the template and errno", test_private_dir_or_die_names_the_template },
    { "prefix from IPCLAB_PREFIX, up to 40 characters", test_prefix_from_the_environment },
    { "an invalid prefix falls back to ipclab", test_invalid_prefix_falls_back },
    { "name format: /prefix-what-pid-seq-salt", test_name_format },
    { "names work with shm_open and mq_open", test_names_work_with_shm_open_and_mq_open },
    { "5000 names in one process, never equal", test_thousands_of_names_never_equal },
    { "two processes at once never share a name", test_two_processes_at_once_never_share_a_name },
    { "a bad 'what' is EINVAL, buffer untouched", test_bad_what_is_einval },
    { "a buffer one byte short is ENAMETOOLONG", test_buffer_too_small_is_enametoolong },
    { "ipc_name_make_or_die", test_make_or_die },
    { "keyfile: fresh 0700 dir under $TMPDIR, 0600 file, removed by cleanup_run", test_keyfile_private_and_removed_by_cleanup },
    { "keyfile errors: missing or too long $TMPDIR", test_keyfile_errors },
    { "ipc_key_from_path: proj_id 1-255, ENOENT, same and different keys", test_key_from_path },
    { "ipc_private_key_or_die gives a working key", test_private_key_or_die },
    { "ipc_private_key_or_die errors, cleaned up on the way out", test_private_key_or_die_errors },
    CU_TEST_INFO_NULL,
};

UNIT_MAIN("ipc_names", tests)
