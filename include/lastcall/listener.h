/* SPDX-License-Identifier: MIT */
/* listener.h: the records of the program's listening sockets, indexed by lc_fd.li, and which
 * of them this process accepts on. A process that accepts on a socket is counted among its
 * acceptors in the tree's shared page, so the last one to stop knows it is the last. */
#ifndef LASTCALL_LISTENER_H
#define LASTCALL_LISTENER_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "lastcall/atomic.h"

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
	int service;  /* a unix socket of a helper's or a server's fork child, for the server's
		       * other processes: not counted as a worker's, never stopped (intake.c) */
	int head, tail, queued; /* the stash: a FIFO linked through lc_fds[].next */
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

/* Takes a free record for listener fd (owned: created by listen() here or in an ancestor) and
 * marks fd LISTEN in the fd table. Returns the record, or -1 when all are in use (the listener
 * is then left alone, said once). Any thread. */
int lc_listener_new(int fd, int owned);

/* The first accept() of this process on l: it joins the socket's acceptors, once, even if
 * threads race here, and never after it stopped accepting. Any thread; errno is preserved. */
void lc_listener_join(struct lc_listener *l);

/* This process stops accepting on l, for good: returns the slot it was counted in (-1: none),
 * for the caller to leave. AS-safe. */
int lc_listener_quit(struct lc_listener *l);

/* lc_listener_quit(), and leave its slot. AS-safe. */
void lc_listener_leave(struct lc_listener *l);

/* Intake stops: this process stops accepting on every listener, and stays on the tree's list
 * of processes that accept (a pre-fork worker that drains is still its master's worker).
 * Cleanup thread. */
void lc_listeners_leave(void);

/* The process ends: it stops accepting on every listener, and leaves that list. Any thread. */
void lc_listeners_leave_all(void);

/* Records in use. Any thread. */
int lc_listeners_count(void);

/* After fork, in the parent and in the child: every listener is now shared with the other
 * process; the child accepts on none yet. */
void lc_listeners_fork(bool child);

#pragma GCC visibility pop

#endif
