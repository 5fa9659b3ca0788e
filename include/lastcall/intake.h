/* SPDX-License-Identifier: MIT */
/* intake.h: listening sockets and accept(). Stopping intake swaps an inert stand-in under the
 * program's listener fd, takes the connections already queued into a stash, and hands them to
 * the program's next accept() calls, so nothing the kernel accepted is dropped. */
#ifndef LASTCALL_INTAKE_H
#define LASTCALL_INTAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lastcall/atomic.h"
#include "lastcall/fds.h"
#include "lastcall/listener.h"
#include "lastcall/real.h"
#include "lastcall/sig.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* Which call the program made: the real one made is the same. */
enum lc_accept_call { LC_ACCEPT, LC_ACCEPT4 };

/* lc_intake_accept() for every case but the common one. A program thread. */
int lc_intake_accept_slow(int fd, struct sockaddr *addr, socklen_t *len, int flags,
			  enum lc_accept_call call);

/* After the real accept on fd, which was a listener in use before the call (before) and is
 * no longer one: a stopped listener (hand out the stash) or a new one. A program thread. */
int lc_intake_accepted(int fd, struct lc_fd *e, int before, int r, struct sockaddr *addr,
		       socklen_t *len, int flags, unsigned passed);

/* What an accept call needs after the real one: kept in memory (the caller's stack) across it,
 * so that the hook saves no register. */
struct lc_accept_args {
	struct sockaddr *addr;
	socklen_t *len;
	int flags;
	unsigned passed; /* lc_sig_passed before the call */
	unsigned fd;
};

/* lc_intake_accepted() after lc_intake_accept_hot()'s call, from its arguments a. */
int lc_intake_accept_changed(int r, const struct lc_accept_args *a);

/* accept() and accept4() (call says which): passes through, records the new
 * connection, and on a stopped listener hands out stashed connections or parks the caller as an
 * idle listener would. Return value and errno are what the program would see. Inline for the
 * common case: a listener this process accepts on (LC_FDF_ACCEPTING), taking connections; the
 * caller has checked lc_fd_hot(fd). A program thread. */
static inline __attribute__((always_inline)) int lc_intake_accept_hot(int fd,
								      struct sockaddr *addr,
								      socklen_t *len, int flags,
								      enum lc_accept_call call)
{
	struct lc_accept_args a;
	int r;

	if (__builtin_expect(lc_acquire(&lc_fds[(unsigned)fd].head) !=
				     lc_fd_head(LC_FD_LISTEN, LC_FDF_ACCEPTING),
			     0))
		return lc_intake_accept_slow(fd, addr, len, flags, call);
	a = (struct lc_accept_args){ addr, len, flags, lc_sig_passed, (unsigned)fd };
	__asm__("" : "+m"(a)); /* in memory before the call, and read from there after it */
	r = call == LC_ACCEPT4 ? lc_real.accept4(fd, addr, len, flags) : lc_real.accept(fd, addr, len);
	__asm__("" : "+m"(a));
	if (r >= 0)
		lc_fds_add_conn(r);
	if (__builtin_expect(lc_acquire(&lc_fds[a.fd].kind) != LC_FD_LISTEN, 0))
		return lc_intake_accept_changed(r, &a);
	return r;
}

/* accept() in an armed process: the fast path for a hot fd, else the general one. */
static inline int lc_intake_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags,
				   enum lc_accept_call call)
{
	if (lc_fd_hot(fd))
		return lc_intake_accept_hot(fd, addr, len, flags, call);
	return lc_intake_accept_slow(fd, addr, len, flags, call);
}

/* listen(): on success, remembers fd as a listener this process created. A program thread. */
int lc_intake_listen(int fd, int backlog);

/* The program closed (or replaced with dup2) listener fd with record li. A program thread,
 * perhaps in a signal handler: AS-safe. */
void lc_intake_closed(int fd, uint16_t li);

/* What the program's close of a listener does (fds.h): lc_intake_closed(). */
extern const struct lc_fd_owner lc_intake_listener_owner;

/* After fork: every listener is now shared with the other process; the child forgets which it
 * accepted on and the stash (its copies of the parent's stashed fds are closed). In the parent
 * (the forking program thread) and in a child after fork. */
void lc_intake_fork(bool child);

#pragma GCC visibility pop

#endif
