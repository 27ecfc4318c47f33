/* child.h - fork a child that lib/cleanup.h is sure to know about.
 *
 * Between fork() and cleanup_add_child() there is a gap: a SIGINT or
 * SIGTERM landing there runs the cleanup before the child is registered,
 * and the child lives on.  fork_child_or_die() blocks those signals across
 * the gap; one that arrives meanwhile is delivered right after the child is
 * registered, and the cleanup then stops the child too.
 */
#ifndef CHILD_H
#define CHILD_H

#include <sys/types.h>

/* Returns 0 in the child, the child's pid in the parent (which gets the
 * cleanup handle in *handle).  Dies if fork or the registration fails. */
pid_t fork_child_or_die(int *handle);

#endif
