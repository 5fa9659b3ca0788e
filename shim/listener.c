/* SPDX-License-Identifier: MIT */
/* listener.c: the records of the program's listening sockets, and which of them this process
 * accepts on (counted in the shared page, share.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "lastcall/atomic.h"
#include "lastcall/fds.h"
#include "lastcall/listener.h"
#include "lastcall/log.h"
#include "lastcall/share.h"
#include "lastcall/spin.h"

struct lc_listener lc_listeners[LC_MAX_LISTENERS];
static int accepting; /* this process is listed as accepting connections (share.h) */
static int acceptor_word; /* spin.h lock over every record's acceptor and slot */

int lc_listener_new(int fd, int owned)
{
	int i;

	for (i = 0; i < LC_MAX_LISTENERS; i++) {
		if (!lc_cas(&lc_listeners[i].used, LC_REC_FREE, LC_REC_CLAIMED))
			continue;
		memset((char *)&lc_listeners[i] + sizeof(int), 0, sizeof(lc_listeners[i]) - sizeof(int));
		lc_listeners[i].fd = fd;
		lc_listeners[i].owned = owned;
		lc_listeners[i].slot = -1;
		lc_listeners[i].head = lc_listeners[i].tail = -1;
		/* Published whole: readers look at a record only once it is live. */
		lc_release(&lc_listeners[i].used, LC_REC_LIVE);
		lc_fds_set(fd, LC_FD_LISTEN, (uint16_t)i);
		return i;
	}
	lc_log(LC_WARN, "more than %d listeners: fd %d is not tracked", LC_MAX_LISTENERS, fd);
	return -1;
}

/* accept()'s fast path no longer takes l's fd: this process is not (or no longer) accepting. */
static void unmark_accepting(const struct lc_listener *l)
{
	if (lc_fd_tracked(l->fd))
		lc_and(&lc_fds[l->fd].flags, (uint8_t)~LC_FDF_ACCEPTING);
}

void lc_listener_join(struct lc_listener *l)
{
	int err = errno, join;
	sigset_t old;

	lc_spin_lock(&acceptor_word, &old);
	join = lc_load(&l->acceptor) == LC_ACC_NO;
	if (join) {
		l->slot = lc_load(&l->service) ? -1 : lc_share_join(l->fd);
		lc_release(&l->acceptor, LC_ACC_YES);
	}
	/* After the acceptor: the flag says it to accept()'s fast path (again, if the entry was
	 * written afresh since). */
	if (lc_load(&l->acceptor) == LC_ACC_YES && lc_fd_kind(l->fd) == LC_FD_LISTEN)
		lc_or(&lc_fds[l->fd].flags, LC_FDF_ACCEPTING);
	lc_spin_unlock(&acceptor_word, &old);
	if (join && !lc_load(&l->service) && !lc_xchg(&accepting, 1))
		lc_share_accepting(1);
	errno = err;
}

int lc_listener_quit(struct lc_listener *l)
{
	sigset_t old;
	int slot;

	lc_spin_lock(&acceptor_word, &old);
	unmark_accepting(l);
	slot = lc_load(&l->acceptor) == LC_ACC_YES ? l->slot : -1;
	l->slot = -1;
	lc_release(&l->acceptor, LC_ACC_DONE);
	lc_spin_unlock(&acceptor_word, &old);
	return slot;
}

void lc_listener_leave(struct lc_listener *l)
{
	int slot = lc_listener_quit(l);

	if (slot >= 0)
		lc_share_leave(slot);
}

void lc_listeners_leave(void)
{
	int li;

	for (li = 0; li < LC_MAX_LISTENERS; li++)
		if (lc_listener_live(li))
			lc_listener_leave(&lc_listeners[li]);
}

void lc_listeners_leave_all(void)
{
	lc_listeners_leave();
	if (lc_xchg(&accepting, 0))
		lc_share_accepting(0);
}

int lc_listeners_count(void)
{
	int li, n = 0;

	for (li = 0; li < LC_MAX_LISTENERS; li++)
		n += lc_listener_live(li);
	return n;
}

void lc_listeners_fork(bool child)
{
	int li;

	for (li = 0; li < LC_MAX_LISTENERS; li++) {
		struct lc_listener *l = &lc_listeners[li];

		if (!lc_listener_live(li))
			continue;
		lc_store(&l->shared, 1);
		if (!child)
			continue;
		/* The child has accepted nothing yet: it joins the count on its first accept. */
		unmark_accepting(l);
		l->acceptor = LC_ACC_NO;
		l->slot = -1;
	}
	if (child) {
		acceptor_word = 0;
		accepting = 0; /* the parent's entry; the child makes its own on its first accept */
	}
}
