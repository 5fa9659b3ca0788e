/* SPDX-License-Identifier: MIT */
/* intake.c: listeners and accept(). Owns the listener records, the stash of queued connections
 * lastcall takes when intake stops, and the wake-up tokens that make a stand-in readable while
 * its stash is not empty. The accept() fast path is a table load, the real call and a table
 * store. Stopping itself is stop.c's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/fds.h"
#include "lastcall/gen.h"
#include "lastcall/intake.h"
#include "lastcall/log.h"
#include "lastcall/notify.h"
#include "lastcall/real.h"
#include "lastcall/share.h"
#include "lastcall/sig.h"
#include "lastcall/spin.h"
#include "lastcall/state.h"

struct lc_listener lc_listeners[LC_MAX_LISTENERS];
static pthread_mutex_t stash_mu = PTHREAD_MUTEX_INITIALIZER;
static int stashed;   /* sum of queued over all records */
static int accepting; /* this process is listed as accepting connections (share.h) */
static int acceptor_word; /* spin.h lock over every record's acceptor and slot */

/* Takes a free record for fd; -1 when all are in use (the listener is then left alone). */
static int new_listener(int fd, int owned)
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

int lc_intake_listen(int fd, int backlog)
{
	int r = lc_real.listen(fd, backlog);
	struct lc_fd *e = lc_fd_get(fd);

	if (r == 0 && e && e->kind == LC_FD_LISTEN) {
		lc_store(&lc_listeners[e->li].owned, 1);
	} else if (r == 0 && e && e->kind == LC_FD_NONE) {
		lc_share_reset(fd);
		new_listener(fd, 1);
	}
	if (r == 0) {
		lc_notify_listening();
		lc_gen_listened(fd);
	}
	return r;
}

/* Wake-up tokens: the stand-in is readable while its stash holds connections (one token),
 * so poll, select and epoll (level or edge) report the listener as they would a real one, and
 * only then: a program told the listener is readable must find a connection. Tokens are counted
 * exactly: each connect adds one, each accept of one removes it. With stash_mu held. */
static void add_token(struct lc_listener *l)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

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
	lc_fds[c].aux = -1;
	lc_fds_set(c, LC_FD_STASHED, li);
	if (l->tail >= 0)
		lc_fds[l->tail].aux = c;
	else
		l->head = c;
	l->tail = c;
	l->queued++;
	lc_add(&stashed, 1);
}

/* Takes the oldest stashed connection off l's stash. For the program (conn), its entry becomes
 * a connection before it leaves the stash count, so a drain that counts both (stash first, see
 * remaining() in drain.c) never sees it in neither. */
static int pop(struct lc_listener *l, bool conn)
{
	int c = l->head;

	if (c < 0)
		return -1;
	l->head = lc_fds[c].aux;
	if (l->head < 0)
		l->tail = -1;
	l->queued--;
	if (conn)
		lc_fds_add_conn(c);
	lc_add(&stashed, -1);
	return c;
}

/* Gives stashed connection c to the program as accept4(flags) would have returned it. */
static int hand_over(int c, struct sockaddr *addr, socklen_t *len, int flags)
{
	int fl = fcntl(c, F_GETFL);

	fcntl(c, F_SETFD, (flags & SOCK_CLOEXEC) ? FD_CLOEXEC : 0);
	fcntl(c, F_SETFL, (flags & SOCK_NONBLOCK) ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
	if (addr && len && getpeername(c, addr, len) < 0)
		*len = 0;
	return c; /* already a connection (pop) */
}

/* lc_sig_passed when this thread last left from_stash(). */
static __thread unsigned stash_passed __attribute__((tls_model("initial-exec")));

/* accept() on a stopped listener: a stashed connection, else EAGAIN for a non-blocking fd, else
 * wait (parked) until one is stashed, as on an idle listener. passed is lc_sig_passed when the
 * program called accept(): if the program's own handler for a trigger signal has run on this
 * thread since, the call ends with EINTR unless that handler has SA_RESTART, as the kernel would
 * have done; a handler of another signal that interrupts the wait ends it with EINTR if the
 * program has any handler without SA_RESTART. The trigger signals stay blocked outside
 * ppoll(), so one that is handed back between the check and the wait cannot be missed. */
static int from_stash(int fd, struct lc_fd *e, struct sockaddr *addr, socklen_t *len, int flags,
		      unsigned passed)
{
	struct lc_listener *l = &lc_listeners[e->li];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	sigset_t triggers, old;
	int c = -1, err = 0, fl, foreign;
	bool first = true;

	/* A handler handed back on this thread just before the call (the program looked for
	 * its handlers' flags, then called accept()): the kernel's accept() would have waited
	 * for a connection that, on a stopped listener, may never come. The call ends with
	 * EINTR as if the handler had interrupted it, so the program sees its flags: handlers
	 * count from this thread's last wait here, not from the call. */
	if (passed == lc_sig_passed)
		passed = stash_passed;
	lc_sig_trigger_set(&triggers);
	pthread_sigmask(SIG_BLOCK, &triggers, &old);
	for (;;) {
		pthread_mutex_lock(&stash_mu);
		c = pop(l, true);
		foreign = settle_token(l);
		pthread_mutex_unlock(&stash_mu);
		if (c >= 0)
			break;
		/* A stranger's connection, now closed, is what made the stand-in readable: the
		 * caller was likely told by poll() that a connection waits, and may not expect to
		 * block here. Fail as for a connection aborted in the queue. */
		if (first && foreign > 0) {
			err = ECONNABORTED;
			break;
		}
		first = false;
		if (lc_sig_passed != passed) {
			passed = lc_sig_passed;
			if (!lc_sig_passed_restart) {
				err = EINTR;
				break;
			}
		}
		if ((fl = fcntl(fd, F_GETFL)) < 0 || (fl & O_NONBLOCK)) {
			err = fl < 0 ? errno : EAGAIN;
			break;
		}
		if (ppoll(&p, 1, 0, &old) < 0 && errno != EINTR) {
			err = errno;
			break;
		}
		/* A handler ran here. For one without SA_RESTART the kernel would have ended
		 * accept() with EINTR, and the program may count on it (Python runs its own
		 * handlers only once the call returns); which signal it was cannot be told, so
		 * any such handler of the program's makes it EINTR: a program with one expects
		 * EINTR from accept() anyway. */
		else if (errno == EINTR && lc_sig_interrupts()) {
			err = EINTR;
			break;
		}
		if (lc_acquire(&e->kind) != LC_FD_STOPPED) {
			err = EBADF; /* the program closed it meanwhile */
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, 0);
	stash_passed = lc_sig_passed;
	if (c >= 0)
		return hand_over(c, addr, len, flags);
	errno = err;
	return -1;
}

/* Whether accepted socket c came from fd's stand-in, not from a client of the real listener. */
static int from_standin(struct lc_listener *l, int c)
{
	struct sockaddr_un a;
	socklen_t n = sizeof(a);

	return getsockname(c, (struct sockaddr *)&a, &n) == 0 && n == l->standin_len &&
	       memcmp(&a, &l->standin, n) == 0;
}

/* The first accept() of this process on l: count it among the socket's acceptors, once, even
 * if threads race here, and never after it stopped accepting. */
static void become_acceptor(struct lc_listener *l)
{
	int err = errno, join;
	sigset_t old;

	lc_spin_lock(&acceptor_word, &old);
	join = lc_load(&l->acceptor) == LC_ACC_NO;
	if (join) {
		l->slot = lc_share_join(l->fd);
		lc_release(&l->acceptor, LC_ACC_YES);
	}
	lc_spin_unlock(&acceptor_word, &old);
	if (join && !lc_xchg(&accepting, 1))
		lc_share_accepting(1);
	errno = err;
}

int lc_intake_quit(struct lc_listener *l)
{
	sigset_t old;
	int slot;

	lc_spin_lock(&acceptor_word, &old);
	slot = lc_load(&l->acceptor) == LC_ACC_YES ? l->slot : -1;
	l->slot = -1;
	lc_release(&l->acceptor, LC_ACC_DONE);
	lc_spin_unlock(&acceptor_word, &old);
	return slot;
}

void lc_intake_leave(struct lc_listener *l)
{
	int slot = lc_intake_quit(l);

	if (slot >= 0)
		lc_share_leave(slot);
}

void lc_intake_leave_listeners(void)
{
	int li;

	for (li = 0; li < LC_MAX_LISTENERS; li++)
		if (lc_listener_live(li))
			lc_intake_leave(&lc_listeners[li]);
}

void lc_intake_leave_all(void)
{
	lc_intake_leave_listeners();
	if (lc_xchg(&accepting, 0))
		lc_share_accepting(0);
}

/* errno values after which accept() proves fd is a listening socket. */
static int is_listener_errno(int err)
{
	return err == EAGAIN || err == EINTR || err == ECONNABORTED || err == EMFILE ||
	       err == ENFILE || err == ENOBUFS || err == ENOMEM || err == EPERM || err == EPROTO;
}

/* The rare cases after the real accept: a listener seen for the first time, or one whose intake
 * stopped while the caller was inside accept. */
int lc_intake_accepted(int fd, struct lc_fd *e, int before, int r, struct sockaddr *addr,
		       socklen_t *len, int flags, unsigned passed)
{
	int err = errno, now = lc_acquire(&e->kind);

	if (before == LC_FD_NONE && now == LC_FD_NONE) {
		/* Inherited across exec (socket activation, a supervisor): not created here. */
		if ((r >= 0 || is_listener_errno(err)) && new_listener(fd, 0) >= 0)
			become_acceptor(&lc_listeners[lc_fds[fd].li]);
		errno = err;
		return r;
	}
	/* Not stopped, or interrupted by a handler that does not restart: as the kernel said. */
	if (now != LC_FD_STOPPED || (r < 0 && err == EINTR)) {
		errno = err;
		return r;
	}
	if (r >= 0 && !from_standin(&lc_listeners[e->li], r))
		return r; /* a client taken from the old socket before it stopped: serve it */
	if (r >= 0) {
		bool token = from_us(r);

		lc_fds_forget(r);
		lc_real.close(r);
		if (token) {
			pthread_mutex_lock(&stash_mu);
			lc_listeners[e->li].tokens--;
			pthread_mutex_unlock(&stash_mu);
		}
	}
	return from_stash(fd, e, addr, len, flags, passed);
}

int lc_intake_accept_slow(int fd, struct sockaddr *addr, socklen_t *len, int flags, bool four)
{
	struct lc_fd *e = lc_fd_get(fd);
	int k = e ? lc_acquire(&e->kind) : LC_FD_NONE;
	unsigned passed = lc_sig_passed;
	int r;

	if (k == LC_FD_STOPPED)
		return from_stash(fd, e, addr, len, flags, passed);
	if (k == LC_FD_LISTEN &&
	    lc_load(&lc_listeners[e->li].acceptor) == LC_ACC_NO)
		become_acceptor(&lc_listeners[e->li]);
	r = four ? lc_real.accept4(fd, addr, len, flags) : lc_real.accept(fd, addr, len);
	if (r >= 0)
		lc_fds_add_conn(r);
	if (e && __builtin_expect(k != LC_FD_LISTEN ||
				  lc_acquire(&e->kind) != LC_FD_LISTEN, 0))
		return lc_intake_accepted(fd, e, k, r, addr, len, flags, passed);
	return r;
}

void lc_intake_closed(int fd, uint16_t li)
{
	struct lc_listener *l = &lc_listeners[li];

	(void)fd;
	lc_intake_leave(l);
	if (l->queued > 0) {
		/* The cleanup thread closes the orphans; this may run in a signal handler. */
		lc_release(&l->closed, 1);
		return;
	}
	lc_release(&l->used, LC_REC_FREE);
}

void lc_intake_push(uint16_t li, int c)
{
	pthread_mutex_lock(&stash_mu);
	push(&lc_listeners[li], c, li);
	pthread_mutex_unlock(&stash_mu);
}

void lc_intake_settle(uint16_t li)
{
	pthread_mutex_lock(&stash_mu);
	settle_token(&lc_listeners[li]);
	pthread_mutex_unlock(&stash_mu);
}

void lc_intake_move_stashed(int fd)
{
	struct lc_fd *e = &lc_fds[fd];
	struct lc_listener *l;
	int moved, *link;

	pthread_mutex_lock(&stash_mu);
	if (e->kind == LC_FD_STASHED && (moved = fcntl(fd, F_DUPFD_CLOEXEC, 0)) >= 0) {
		l = &lc_listeners[e->li];
		lc_fds_set(moved, LC_FD_STASHED, e->li);
		lc_fds[moved].aux = e->aux;
		for (link = &l->head; *link != fd; link = &lc_fds[*link].aux)
			;
		*link = moved;
		if (l->tail == fd)
			l->tail = moved;
		lc_fds_release(fd); /* the program's dup2 closes our old copy */
	}
	pthread_mutex_unlock(&stash_mu);
}

int lc_intake_stashed(void)
{
	return lc_acquire(&stashed);
}

int lc_intake_drop_stash(bool all)
{
	int li, c, n = 0;

	pthread_mutex_lock(&stash_mu);
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
	pthread_mutex_unlock(&stash_mu);
	return n;
}

int lc_intake_listeners(void)
{
	int li, n = 0;

	for (li = 0; li < LC_MAX_LISTENERS; li++)
		n += lc_listener_live(li);
	return n;
}

void lc_intake_fork(bool child)
{
	int li, c;

	for (li = 0; li < LC_MAX_LISTENERS; li++) {
		struct lc_listener *l = &lc_listeners[li];

		if (!lc_listener_live(li))
			continue;
		lc_store(&l->shared, 1);
		if (!child)
			continue;
		/* The child has accepted nothing yet: it joins the count on its first accept. */
		l->acceptor = LC_ACC_NO;
		l->slot = -1;
		while ((c = pop(l, false)) >= 0) {
			lc_fds_release(c);
			lc_real.close(c);
		}
		l->tokens = 0;
	}
	if (child) {
		pthread_mutex_init(&stash_mu, 0);
		acceptor_word = 0;
		accepting = 0; /* the parent's entry; the child makes its own on its first accept */
	}
}

const struct lc_fd_owner lc_intake_listener_owner = { .closed = lc_intake_closed };
const struct lc_fd_owner lc_intake_stash_owner = { .replaced = lc_intake_move_stashed };
