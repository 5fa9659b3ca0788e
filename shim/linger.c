/* SPDX-License-Identifier: MIT */
/* linger.c: lingering closes, in a private epoll set the cleanup thread waits on with its wake
 * pipe: what arrives is discarded until the client closes (EOF) or LC_LINGER_MS are up. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/children.h"
#include "lastcall/fds.h"
#include "lastcall/linger.h"
#include "lastcall/real.h"
#include "lastcall/state.h"
#include "lastcall/tcp.h"
#include "lastcall/util.h"

/* A connection's LC_LINGER_MS are renewed while a reply the program closed on is still being
 * delivered (lc_linger_service()). */
static int epfd = -1;
static int lingering;
static int64_t base;	    /* linger ends are kept as ms since base */
static int64_t ended_until; /* when the lingers of connections ended in place stop */

/* The epoll set's number is wanted by the program's dup2(): it answers as to now. */
static void moved(int from, int to)
{
	lc_cas(&epfd, from, to);
}

int lc_linger_setup(void)
{
	int fd;

	if (epfd >= 0)
		return 0;
	base = lc_now_ms();
	if ((fd = LC_OWN(lc_real.epoll_create1(EPOLL_CLOEXEC))) < 0)
		return -1;
	lc_fds_private(fd, moved);
	lc_release(&epfd, fd);
	return 0;
}

int lc_linger_fd(void)
{
	return lc_acquire(&epfd);
}

/* Starts the linger of fd: ours (kind LINGER, its end in until) or the program's (ended in
 * place, all of them ending at ended_until). */
static int start(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = fd };
	struct lc_fd *e = lc_fd_get(fd);
	int ep = lc_linger_fd();

	if (!e || ep < 0)
		return -1;
	shutdown(fd, SHUT_WR);
	if (lc_fd_kind(fd) == LC_FD_LINGER)
		lc_store(&e->until, (int32_t)(lc_now_ms() - base + LC_LINGER_MS));
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	lc_add(&lingering, 1);
	lc_or(&e->flags, LC_FDF_LINGERING);
	return 0;
}

void lc_linger_end(int fd)
{
	struct lc_fd *e = lc_fd_get(fd);

	if (!e || (lc_or(&e->flags, LC_FDF_ENDED) & LC_FDF_ENDED))
		return;
	if (!ended_until)
		ended_until = lc_now_ms() - base + LC_LINGER_MS;
	start(fd);
}

/* Discards what fd has; returns 1 when the client has closed (or the socket failed). */
static int discard(int fd)
{
	char buf[4096];
	ssize_t r;

	while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	return r == 0 || (errno != EAGAIN && errno != EINTR);
}

/* Stops lingering on fd: closes ours; leaves the program's to the program (it stays flagged
 * ended, so it is not lingered twice). The program's close() and the cleanup thread may race
 * here for the same fd: one of them finishes it. */
static void finish(int fd)
{
	struct lc_fd *e = &lc_fds[fd];

	if (!(lc_and(&e->flags, (uint8_t)~LC_FDF_LINGERING) &
	      LC_FDF_LINGERING))
		return;
	epoll_ctl(lc_linger_fd(), EPOLL_CTL_DEL, fd, 0);
	lc_add(&lingering, -1);
	if (lc_fd_kind(fd) == LC_FD_LINGER) {
		lc_fds_release(fd);
		lc_real.close(fd);
	}
}

int lc_linger_adopt(int fd)
{
	int err = errno, mine, flags;

	/* The socket is still held elsewhere, and shutting it would cut the reply served from
	 * there: by a child (a fork-per-connection server's close of its copy while the child
	 * serves the client), or under another fd of the program's (dup2, dup3: mod_cgid's daemon
	 * closes a request's socket once it is the CGI script's standard input and output, then
	 * forks the script). The close only drops a reference. */
	flags = lc_acquire(&lc_fds[fd].flags);
	if (((flags & LC_FDF_FORKED) && lc_children_share(fd)) ||
	    ((flags & LC_FDF_COPIED) && lc_fds_copy_open(fd))) {
		errno = err;
		return -1;
	}

	/* Ended in place at the deadline: the program's fd leaves the set, our copy takes over. */
	if (lc_fd_get(fd) && (lc_acquire(&lc_fds[fd].flags) & LC_FDF_LINGERING))
		finish(fd);
	/* Our copy keeps the file open, so the program's close() would not take it out of the
	 * program's epoll sets: do it here, as the close would have. */
	lc_fds_epoll_forget(fd);
	mine = fcntl(fd, F_DUPFD_CLOEXEC, lc_own_min);
	if (mine < 0 || !lc_fd_get(mine)) {
		if (mine >= 0)
			lc_real.close(mine);
		errno = err;
		return -1;
	}
	lc_fds_set(mine, LC_FD_LINGER, 0);
	if (start(mine) < 0) {
		lc_fds_release(mine);
		lc_real.close(mine);
		errno = err;
		return -1;
	}
	errno = err;
	return 0;
}

void lc_linger_release(int fd)
{
	discard(fd);
	finish(fd);
}

/* What arrived on fd is discarded, and its linger finished if the client is gone. The program
 * may be closing fd, if it is its own connection ended in place: under the lock, and only if
 * fd still lingers, so that what is read is never from a file that took the number since (the
 * program's close waits for the lock; util.h, lc_own_sync()). */
static void service(int fd)
{
	bool took = lc_own_lock();

	if ((lc_acquire(&lc_fds[fd].flags) & LC_FDF_LINGERING) && discard(fd))
		finish(fd);
	lc_own_unlock(took);
}

int lc_linger_service(void)
{
	struct epoll_event evs[64];
	int64_t now = lc_now_ms() - base;
	int n, i, fd, hi = lc_acquire(&lc_fds_hi);
	int ep = lc_acquire(&epfd); /* a program's dup2() may move it */

	if (ep < 0 || lc_load(&lingering) == 0)
		return 0;
	while ((n = epoll_wait(ep, evs, 64, 0)) > 0)
		for (i = 0; i < n; i++)
			service(evs[i].data.fd);
	/* Time is up for the rest, but for a reply still on its way to a client that is taking
	 * it: the program's close came while the reply was queued, and a reset would cut it. */
	for (fd = 0; fd < hi; fd++) {
		struct lc_fd *e = &lc_fds[fd];
		bool ours;

		if (!(lc_acquire(&e->flags) & LC_FDF_LINGERING))
			continue;
		ours = lc_acquire(&e->kind) == LC_FD_LINGER;
		if ((ours ? lc_load(&e->until) : ended_until) > now)
			continue;
		if (ours && lc_tcp_delivering(fd, LC_LINGER_MS))
			lc_store(&e->until, (int32_t)(now + LC_LINGER_MS));
		else
			finish(fd);
	}
	return lc_load(&lingering);
}

void lc_linger_drop_all(void)
{
	int fd, hi = lc_acquire(&lc_fds_hi);

	for (fd = 0; fd < hi && lc_load(&lingering) > 0; fd++)
		finish(fd);
}

/* The program closes connection fd: during a drain, it lingers. */
static void closing(int fd)
{
	if (lc_load_full(&lc_draining))
		lc_linger_adopt(fd);
}

const struct lc_fd_owner lc_linger_conn_owner = { .closing = closing };
const struct lc_fd_owner lc_linger_owner = { .replaced = lc_linger_release };

void lc_linger_fork_child(void)
{
	int fd, hi = lc_fds ? lc_fds_hi : 0;

	/* The parent's lingering sockets and epoll set are the parent's to finish; none of the
	 * child's entries lingers in the child (a stale flag would make its own drain count a
	 * linger it never started, and finish it instead of its own). */
	for (fd = 0; fd < hi; fd++) {
		if (lc_fds[fd].kind == LC_FD_LINGER) {
			lc_fds_release(fd);
			lc_real.close(fd);
		}
		lc_fds[fd].flags &= (uint8_t)~LC_FDF_LINGERING;
	}
	if (epfd >= 0) {
		lc_fds_release(epfd);
		lc_real.close(epfd);
		epfd = -1;
	}
	lingering = 0;
	ended_until = 0;
}
