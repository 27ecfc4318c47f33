/* notify.c - see notify.h. */
#include "notify.h"

#include "clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* region: address */
bool notify_address(const char *text, struct sockaddr_un *addr, socklen_t *len)
{
    size_t n = text != NULL ? strlen(text) : 0;

    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    if (n < 2 || n >= sizeof addr->sun_path || (text[0] != '/' && text[0] != '@'))
        return false;
    memcpy(addr->sun_path, text, n);
    if (text[0] == '@') {
        addr->sun_path[0] = '\0';     /* abstract: no file, the length counts */
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return true;
}
/* end region: address */

/* region: send */
int notify_send(const char *fmt, ...)
{
    const char *where = getenv("NOTIFY_SOCKET");
    struct sockaddr_un addr;
    socklen_t len;
    char state[512];
    va_list ap;
    int fd, n, err = 0;

    if (where == NULL || where[0] == '\0')
        return 0;                     /* not started by systemd */
    if (!notify_address(where, &addr, &len))
        return EINVAL;
    va_start(ap, fmt);
    n = vsnprintf(state, sizeof state, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof state)
        return EMSGSIZE;
    /* One datagram, one state: the reader takes it whole or not at all. */
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    if (sendto(fd, state, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&addr, len) != n)
        err = errno;
    close(fd);
    return err;
}
/* end region: send */

unsigned long long notify_monotonic_usec(void)
{
    return (unsigned long long)(monotonic_ns() / 1000u);
}
