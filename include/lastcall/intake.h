/* SPDX-License-Identifier: MIT */
/* intake.h: listening sockets and accept(). Stopping intake swaps an inert stand-in under the
 * program's listener fd, takes the connections already queued into a stash, and hands them to
 * the program's next accept() calls, so nothing the kernel accepted is dropped. */
#ifndef LASTCALL_INTAKE_H
#define LASTCALL_INTAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "lastcall/atomic.h"
#include "lastcall/fds.h"
#include "lastcall/real.h"
#include "lastcall/sig.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

#define LC_MAX_LISTENERS 256

/* A listening socket of the program's. Written by the hooks when it is first seen, by the
 * cleanup thread when intake stops; the fields other threads read are accessed atomically,
 * acceptor and slot under the acceptor lock, the stash under the stash lock. */
struct lc_listener {
	int used;     /* LC_REC_FREE, LC_REC_CLAIMED (being filled in) or LC_REC_LIVE */
	int fd;	      /* the program's fd number */
	int owned;    /* created by listen() in this process or an ancestor (not inherited over
		       * exec, as from a supervisor) */
	int shared;   /* a fork happened since: other processes may hold the socket */
	int acceptor; /* LC_ACC_NO, LC_ACC_YES: this process accepts on it, LC_ACC_DONE: it
		       * stopped accepting, and will not be counted again */
	int slot;     /* its acceptor count in the shared page (share.h), -1: none */
	int closed;   /* the program closed the stopped fd; its stash is orphaned */
	int head, tail, queued; /* the stash: a FIFO linked through lc_fds[].aux */
	int tokens;		/* wake-up connections queued on the stand-in */
	struct sockaddr_storage standin;
	socklen_t standin_len;
};

enum { LC_REC_FREE, LC_REC_CLAIMED, LC_REC_LIVE };
enum { LC_ACC_NO, LC_ACC_YES, LC_ACC_DONE };

extern struct lc_listener lc_listeners[LC_MAX_LISTENERS];

/* Whether record li is in use. Any thread. */
static inline bool lc_listener_live(int li)
{
	return lc_acquire(&lc_listeners[li].used) == LC_REC_LIVE;
}


/* lc_intake_accept() for every case but the common one. */
int lc_intake_accept_slow(int fd, struct sockaddr *addr, socklen_t *len, int flags, bool four);

/* After the real accept on fd, which was a listener in use before the call (before) and is
 * no longer one: a stopped listener (hand out the stash) or a new one. */
int lc_intake_accepted(int fd, struct lc_fd *e, int before, int r, struct sockaddr *addr,
		       socklen_t *len, int flags, unsigned passed);

/* accept() and accept4() (four selects which real function): passes through, records the new
 * connection, and on a stopped listener hands out stashed connections or parks the caller as an
 * idle listener would. Return value and errno are what the program would see. Inline for the
 * common case: a listener this process already accepts on, taking connections. */
static inline __attribute__((always_inline)) int lc_intake_accept(int fd, struct sockaddr *addr,
								  socklen_t *len, int flags, bool four)
{
	struct lc_fd *e;
	unsigned passed;
	int r;

	if (__builtin_expect(!lc_fd_tracked(fd), 0))
		return lc_intake_accept_slow(fd, addr, len, flags, four);
	e = &lc_fds[fd];
	if (__builtin_expect(lc_acquire(&e->kind) != LC_FD_LISTEN ||
				     lc_load(&lc_listeners[e->li].acceptor) != LC_ACC_YES,
			     0))
		return lc_intake_accept_slow(fd, addr, len, flags, four);
	passed = lc_sig_passed;
	r = four ? lc_real.accept4(fd, addr, len, flags) : lc_real.accept(fd, addr, len);
	if (r >= 0)
		lc_fds_add_conn(r);
	if (__builtin_expect(lc_acquire(&e->kind) != LC_FD_LISTEN, 0))
		return lc_intake_accepted(fd, e, LC_FD_LISTEN, r, addr, len, flags, passed);
	return r;
}

/* listen(): on success, remembers fd as a listener this process created. */
int lc_intake_listen(int fd, int backlog);

/* The program closed (or replaced with dup2) listener fd with record li. */
void lc_intake_closed(int fd, uint16_t li);

/* Adds connection c, just accepted from listener li's socket, to the stash (the stash lock is
 * taken here). Cleanup thread. */
void lc_intake_push(uint16_t li, int c);

/* Brings the stand-in's tokens in line with its stash. Cleanup thread. */
void lc_intake_settle(uint16_t li);

/* This process stops accepting on listener l (for the acceptor count). AS-safe. */
void lc_intake_leave(struct lc_listener *l);

/* The same, when intake stops: returns the slot this process was counted in (-1: none), for
 * the caller to leave. AS-safe. */
int lc_intake_quit(struct lc_listener *l);

/* Intake stops: this process stops accepting on every listener, and stays on the tree's list
 * of processes that accept (a pre-fork worker that drains is still its master's worker). */
void lc_intake_leave_listeners(void);

/* The process ends: it stops accepting on every listener, and leaves that list. */
void lc_intake_leave_all(void);

/* Queued connections waiting in stashes. Any thread. */
int lc_intake_stashed(void);

/* Closes stashed connections no one will accept (deadline, or the listener was closed): all of
 * them, or only those of closed listeners. Returns how many. Cleanup thread. */
int lc_intake_drop_stash(bool all);

/* dup2 is about to take the number of stashed connection fd: move the connection. */
void lc_intake_move_stashed(int fd);

/* What the program's close of a listener, and its dup2() onto a stashed connection's number,
 * do (fds.h): lc_intake_closed(), lc_intake_move_stashed(). */
extern const struct lc_fd_owner lc_intake_listener_owner;
extern const struct lc_fd_owner lc_intake_stash_owner;

/* Listener records in use. */
int lc_intake_listeners(void);

/* After fork: every listener is now shared with the other process; the child forgets which it
 * accepted on and the stash (its copies of the parent's stashed fds are closed). */
void lc_intake_fork(bool child);

#pragma GCC visibility pop

#endif
