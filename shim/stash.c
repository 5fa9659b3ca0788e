/* SPDX-License-Identifier: MIT */
/* stash.c: connections queued on a listener when its intake stopped, kept for the program's
 * next accept(), and the wake-up tokens that make its stand-in readable while there are some. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/fds.h"
#include "lastcall/listener.h"
#include "lastcall/real.h"
#include "lastcall/spin.h"
#include "lastcall/stash.h"
#include "lastcall/util.h"

static int stash_mu; /* lc_mutex_lock */
static int stashed; /* sum of queued over all records */

/* Wake-up tokens: the stand-in is readable while its stash holds connections (one token),
 * so poll, select and epoll (level or edge) report the listener as they would a real one, and
 * only then: a program told the listener is readable must find a connection. Tokens are counted
 * exactly: each connect adds one, each accept of one removes it. With stash_mu held. */
static void add_token(struct lc_listener *l)
{
	int s = LC_OWN(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));

	if (s < 0)
		return;
	if (connect(s, (struct sockaddr *)&l->standin, l->standin_len) == 0)
		l->tokens++;
	lc_real.close(s);
}

/* Whether connected AF_UNIX socket s was connected by a process of our own user: one of our
 * tokens, not someone else's connection to the stand-in's abstract name (which any process in
 * the network namespace can reach; such connections are closed unread). */
static bool from_us(int s)
{
	struct ucred cr;
	socklen_t n = sizeof(cr);

	return getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &n) == 0 && cr.uid == geteuid();
}

/* Accepts what waits on the stand-in, without blocking (it may be a blocking socket), until
 * one of our tokens is taken (want_token) or nothing is left; closes anyone else's connection.
 * Bounded: a flood of foreign connections costs a few calls per wake-up, never a hang. Returns
 * how many foreign connections it closed. */
static int take_waiting(struct lc_listener *l, bool want_token)
{
	struct pollfd p = { .fd = l->fd, .events = POLLIN };
	int s, bounded = 64, foreign = 0;

	if (l->closed || lc_fd_kind(l->fd) != LC_FD_STOPPED)
		return 0;
	while (bounded-- > 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN) &&
	       (s = lc_real.accept4(l->fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		bool ours = from_us(s);

		lc_real.close(s);
		if (ours && want_token) {
			l->tokens--;
			return foreign;
		}
		foreign += !ours;
	}
	return foreign;
}

/* One token while the stash is not empty, none when it is; and no foreign connection left to
 * make the stand-in readable with nothing to accept. */
static int settle_token(struct lc_listener *l)
{
	if (l->queued > 0 && l->tokens == 0 && !l->closed)
		add_token(l);
	else if (l->queued == 0)
		return take_waiting(l, l->tokens > 0);
	return 0;
}

static void push(struct lc_listener *l, int c, uint16_t li)
{
	lc_fds[c].next = -1;
	lc_fds_set(c, LC_FD_STASHED, li);
	if (l->tail >= 0)
		lc_fds[l->tail].next = c;
	else
		l->head = c;
	l->tail = c;
	l->queued++;
	lc_add(&stashed, 1);
}

/* Takes the oldest stashed connection off l's stash. For the program (conn), its entry becomes
 * a connection before it leaves the stash count, so a drain that counts both (stash first, see
 * lc_drain_remaining()) never sees it in neither. */
static int pop(struct lc_listener *l, bool conn)
{
	int c = l->head;

	if (c < 0)
		return -1;
	l->head = lc_fds[c].next;
	if (l->head < 0)
		l->tail = -1;
	l->queued--;
	if (conn)
		lc_fds_add_conn(c);
	lc_add(&stashed, -1);
	return c;
}

int lc_stash_take(struct lc_listener *l, int *foreign)
{
	int c;

	lc_mutex_lock(&stash_mu);
	c = pop(l, true);
	*foreign = settle_token(l);
	lc_mutex_unlock(&stash_mu);
	return c;
}

void lc_stash_took(struct lc_listener *l, int s)
{
	if (!from_us(s))
		return;
	lc_mutex_lock(&stash_mu);
	l->tokens--;
	lc_mutex_unlock(&stash_mu);
}

void lc_stash_push(uint16_t li, int c)
{
	lc_mutex_lock(&stash_mu);
	push(&lc_listeners[li], c, li);
	settle_token(&lc_listeners[li]); /* the program may take it now, mid-settle */
	lc_mutex_unlock(&stash_mu);
}

void lc_stash_settle(uint16_t li)
{
	lc_mutex_lock(&stash_mu);
	settle_token(&lc_listeners[li]);
	lc_mutex_unlock(&stash_mu);
}

void lc_stash_move(int fd)
{
	struct lc_fd *e = &lc_fds[fd];
	struct lc_listener *l;
	int moved, *link;

	lc_mutex_lock(&stash_mu);
	if (lc_acquire(&e->kind) == LC_FD_STASHED && (moved = fcntl(fd, F_DUPFD_CLOEXEC, 0)) >= 0) {
		l = &lc_listeners[e->li];
		lc_fds_set(moved, LC_FD_STASHED, e->li);
		lc_fds[moved].next = e->next;
		for (link = &l->head; *link != fd; link = &lc_fds[*link].next)
			;
		*link = moved;
		if (l->tail == fd)
			l->tail = moved;
		lc_fds_release(fd); /* the program's dup2 closes our old copy */
	}
	lc_mutex_unlock(&stash_mu);
}

int lc_stash_count(void)
{
	return lc_acquire(&stashed);
}

int lc_stash_drop(bool all)
{
	int li, c, n = 0;

	lc_mutex_lock(&stash_mu);
	for (li = 0; li < LC_MAX_LISTENERS; li++) {
		struct lc_listener *l = &lc_listeners[li];

		if (!lc_listener_live(li) || !(all || lc_acquire(&l->closed)))
			continue;
		while ((c = pop(l, false)) >= 0) {
			lc_fds_release(c);
			shutdown(c, SHUT_RDWR);
			lc_real.close(c);
			n++;
		}
		if (lc_acquire(&l->closed))
			lc_release(&l->used, LC_REC_FREE);
		else
			settle_token(l);
	}
	lc_mutex_unlock(&stash_mu);
	return n;
}

void lc_stash_fork_child(void)
{
	int li, c;

	/* The child's copies of the parent's stashed fds are the parent's to hand out. */
	for (li = 0; li < LC_MAX_LISTENERS; li++) {
		struct lc_listener *l = &lc_listeners[li];

		if (!lc_listener_live(li))
			continue;
		while ((c = pop(l, false)) >= 0) {
			lc_fds_release(c);
			lc_real.close(c);
		}
		l->tokens = 0;
	}
	stash_mu = 0;
}

const struct lc_fd_owner lc_stash_owner = { .replaced = lc_stash_move };
