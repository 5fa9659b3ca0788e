/* SPDX-License-Identifier: MIT */
/* stop.c: stopping intake on a listener without resetting what the kernel already accepted.
 * Cleanup thread only, the fork handlers aside. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/fds.h"
#include "lastcall/gen.h"
#include "lastcall/listener.h"
#include "lastcall/stash.h"
#include "lastcall/log.h"
#include "lastcall/real.h"
#include "lastcall/share.h"
#include "lastcall/spin.h"
#include "lastcall/stop.h"
#include "lastcall/tcp.h"
#include "lastcall/util.h"

/* Held while listeners are being stopped, and across fork(): a child must never inherit a
 * listener half swapped (marked stopped while its fd still holds the real socket). */
static int stop_mu; /* lc_mutex_lock */

#define MAX_REGS 16

struct reg {
	int epfd;
	struct epoll_event ev;
};

/* "127.0.0.1:8080", "[::]:8080" or "unix" for the log. */
static const char *where(struct sockaddr_storage a, char *buf, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (a.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&a)->sin_addr, ip, sizeof(ip));
		port = ntohs(((struct sockaddr_in *)&a)->sin_port);
		lc_format(buf, (int)n, "%s:%d", ip, port);
	} else if (a.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a)->sin6_addr, ip, sizeof(ip));
		port = ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
		lc_format(buf, (int)n, "[%s]:%d", ip, port);
	} else {
		lc_format(buf, (int)n, a.ss_family == AF_UNIX ? "unix" : "?");
	}
	return buf;
}

/* An inert AF_UNIX listener on an abstract autobound name, blocking like the listener it
 * replaces. Returns the fd or -1. */
static int make_standin(struct lc_listener *l, int nonblock)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int type = SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0);
	int s = LC_OWN(socket(AF_UNIX, type, 0));

	if (s < 0)
		return -1;
	l->standin_len = sizeof(l->standin);
	if (lc_real.bind(s, (struct sockaddr *)&a, sizeof(sa_family_t)) < 0 ||
	    lc_real.listen(s, 8) < 0 ||
	    getsockname(s, (struct sockaddr *)&l->standin, &l->standin_len) < 0) {
		lc_real.close(s);
		return -1;
	}
	return s;
}

/* Parses one /proc/self/fdinfo line of an epoll fd: "tfd: N events: X data: X ... ino:X". */
static int parse_tfd(const char *line, int *tfd, struct epoll_event *ev, unsigned long *ino)
{
	const char *p;
	char *end;

	if (strncmp(line, "tfd:", 4) != 0)
		return -1;
	*tfd = (int)strtol(line + 4, &end, 10);
	if (!(p = strstr(end, "events:")))
		return -1;
	ev->events = (uint32_t)strtoul(p + 7, &end, 16);
	if (!(p = strstr(end, "data:")))
		return -1;
	ev->data.u64 = strtoull(p + 5, &end, 16);
	if (!(p = strstr(end, "ino:")))
		return -1;
	*ino = strtoul(p + 4, 0, 16);
	return 0;
}

/* Finds and removes fd's registrations in the process's epoll sets. An epoll item is keyed by
 * (file, fd), so it must go before the stand-in takes the fd number, or it would keep reporting
 * the old socket. Returns how many were removed (their events in regs). */
static int epoll_detach(int fd, unsigned long ino, struct reg *regs)
{
	char path[48], buf[4096], *line, *nl;
	int epfd, hi = lc_acquire(&lc_fds_hi), n = 0, tfd, in, got;
	struct epoll_event ev;
	unsigned long tino;
	ssize_t r;

	for (epfd = 0; epfd < hi && n < MAX_REGS; epfd++) {
		if (lc_fd_kind(epfd) != LC_FD_EPOLL)
			continue;
		lc_format(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
		if ((in = lc_open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		got = 0;
		while ((r = read(in, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0) {
			got += (int)r;
			buf[got] = '\0';
			for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
				*nl = '\0';
				if (parse_tfd(line, &tfd, &ev, &tino) == 0 && tfd == fd &&
				    tino == ino && n < MAX_REGS &&
				    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, 0) == 0)
					regs[n++] = (struct reg){ epfd, ev };
			}
			got = (int)strlen(line);
			memmove(buf, line, (size_t)got);
		}
		lc_real.close(in);
	}
	return n;
}

/* Takes every connection queued on the real socket into listener li's stash; returns how
 * many. The last acceptor (last) makes the socket's file non-blocking meanwhile, so that its
 * accept cannot block when a program thread still inside accept() wins the last connection:
 * nobody would wake it. The others leave the file's flags alone: its O_NONBLOCK is shared by
 * every process holding the socket, and two pre-fork workers stopping at once, one setting it
 * and the other clearing it, left the last one blocked in accept on an empty queue for good
 * (Apache prefork, 2 runs in 338). They accept only what poll() says is there; if another
 * process wins it first, the accept waits for the next connection, or for the last acceptor's
 * shutdown. */
static int take_queue(uint16_t li, int real, bool last)
{
	struct pollfd p = { .fd = real, .events = POLLIN };
	int fl = last ? fcntl(real, F_GETFL) : -1, c, n = 0;

	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(real, F_SETFL, fl | O_NONBLOCK);
	for (;;) {
		if (!last && poll(&p, 1, 0) != 1)
			break;
		c = lc_real.accept4(real, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c >= 0 && lc_fd_get(c)) {
			lc_stash_push(li, c);
			n++;
		} else if (c >= 0) {
			lc_real.close(c); /* beyond LASTCALL_MAX_FDS: cannot be kept */
		} else if (errno != EINTR && errno != ECONNABORTED) {
			break;
		}
	}
	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(real, F_SETFL, fl);
	return n;
}

/* New handshakes are dropped now; those already under way complete and join the queue. Takes
 * them until none is left (lc_tcp_handshakes counts the queue too), for at most LC_SETTLE_MS.
 * Returns how many were taken. */
static int settle(uint16_t li, int real)
{
	struct pollfd p = { .fd = real, .events = POLLIN };
	int64_t end = lc_now_ms() + LC_SETTLE_MS;
	int n = 0, took;

	while (lc_tcp_handshakes(real) > 0 && lc_now_ms() < end) {
		if (poll(&p, 1, 10) > 0) {
			n += took = take_queue(li, real, true);
			if (took == 0)
				poll(0, 0, 10); /* queued, yet none taken (EMFILE): no spin */
		}
	}
	return n + take_queue(li, real, true);
}

/* Whether this process is the last one accepting on l's socket, so that stopping it for good
 * (dropping new handshakes, shutting it) takes nothing away from anyone. A socket inherited
 * across exec (from systemd's socket activation, a supervisor) is never the last: its other
 * holders are not counted. */
static int last_acceptor(struct lc_listener *l)
{
	int slot = lc_listener_quit(l);

	if (!lc_load(&l->owned)) {
		if (slot >= 0)
			lc_share_leave(slot);
		return 0;
	}
	if (slot < 0)
		return !lc_load(&l->shared);
	return lc_share_leave(slot) == 0;
}

/* The stand-in takes the listener's fd number, in the program's epoll sets too (registered on
 * the socket of inode ino). */
static void swap_in(int fd, int standin, bool cloexec, unsigned long ino)
{
	struct reg regs[MAX_REGS];
	int nregs = epoll_detach(fd, ino, regs), i;

	/* Mark first: an accept() that finds the stand-in must know what it is. */
	lc_release(&lc_fds[fd].kind, LC_FD_STOPPED);
	lc_real.dup3(standin, fd, cloexec ? O_CLOEXEC : 0);
	lc_real.close(standin);
	for (i = 0; i < nregs; i++)
		epoll_ctl(regs[i].epfd, EPOLL_CTL_ADD, fd, &regs[i].ev);
}

/* What became of a stopped listener's socket, for the log. */
static const char *how_stopped(bool elsewhere, bool last, int filter)
{
	if (elsewhere)
		return "the next generation serves it: left open, its queue to it";
	if (!last)
		return "other processes may accept on it: left open";
	if (filter == 0)
		return "new handshakes dropped (SYN filter), then shut down";
	if (filter == EPERM)
		return "shut down without a SYN filter (EPERM: it needs CAP_NET_ADMIN)";
	if (filter == EEXIST)
		return "shut down without a SYN filter (the program has a filter of its own)";
	if (filter == ENOTSUP)
		return "shut down (not TCP)";
	return "shut down without a SYN filter";
}

/* The program's fd gets an inert stand-in (its epoll registrations moved along), the queue goes
 * to the stash, and the last process accepting on the socket drops new handshakes, waits for
 * those under way, and shuts the socket so later attempts are refused. docs/design.md has the
 * sequence, its fallbacks and their races. */
static int stop_one(uint16_t li, bool stash)
{
	struct lc_listener *l = &lc_listeners[li];
	int fd = l->fd, real, standin, cloexec, fl, last, filter = -1, kept = 0;
	bool elsewhere;
	struct sockaddr_storage real_addr;
	socklen_t alen = sizeof(real_addr);
	char addr[64];
	struct stat st;

	if ((real = fcntl(fd, F_DUPFD_CLOEXEC, lc_own_min)) < 0) {
		lc_log_errno(LC_WARN, errno, "unable to stop intake on fd %d", fd);
		return 0;
	}
	cloexec = fcntl(fd, F_GETFD);
	fl = fcntl(fd, F_GETFL);
	if (fstat(real, &st) < 0 || (standin = make_standin(l, fl >= 0 && (fl & O_NONBLOCK))) < 0) {
		lc_log_errno(LC_WARN, errno, "unable to stop intake on fd %d", fd);
		lc_real.close(real);
		return 0;
	}
	if (getsockname(real, (struct sockaddr *)&real_addr, &alen) < 0)
		real_addr.ss_family = AF_UNSPEC;
	/* Served by the next generation now (a restart, shim/gen.c): its queue is that
	 * generation's to accept, and the socket stays open and unfiltered for it. */
	elsewhere = lc_gen_elsewhere(real);
	if (elsewhere)
		lc_listener_leave(l);
	last = !elsewhere && last_acceptor(l);
	/* First, so nothing new joins the queue while it is being moved. */
	if (last)
		filter = lc_tcp_drop_syns(real);
	swap_in(fd, standin, cloexec > 0 && (cloexec & FD_CLOEXEC), (unsigned long)st.st_ino);
	if (elsewhere)
		lc_gen_unblock(fd);
	if (stash && !elsewhere)
		kept = filter == 0 ? settle(li, real) : take_queue(li, real, last);
	/* Shutting the socket wakes threads blocked in accept() on it (they park on the
	 * stand-in) and refuses new connection attempts at once. */
	if (last)
		shutdown(real, SHUT_RD);
	lc_real.close(real);
	lc_stash_settle(li);
	lc_log(LC_DEBUG, "intake stopped on fd %d (%s): %d queued connections kept; %s", fd,
	       where(real_addr, addr, sizeof(addr)), kept, how_stopped(elsewhere, last, filter));
	return 1;
}

/* Whether intake on l is this process's to stop: it accepts on it, or it made it with listen()
 * and has not forked since, so that no other process holds it. A server stopped before its
 * first accept() (lighttpd just started, clients in their handshake or queued) then still
 * keeps what is queued and under way; closing the listener would reset them all. */
static bool ours_to_stop(struct lc_listener *l)
{
	int acceptor = lc_acquire(&l->acceptor);

	if (lc_load(&l->service))
		return false;
	return acceptor == LC_ACC_YES ||
	       (acceptor == LC_ACC_NO && lc_load(&l->owned) && !lc_load(&l->shared));
}

int lc_stop_intake(bool stash)
{
	int li, n = 0;

	lc_mutex_lock(&stop_mu);
	for (li = 0; li < LC_MAX_LISTENERS; li++) {
		struct lc_listener *l = &lc_listeners[li];

		if (lc_listener_live(li) && ours_to_stop(l) &&
		    lc_fd_kind(l->fd) == LC_FD_LISTEN && lc_fds[l->fd].li == li)
			n += stop_one((uint16_t)li, stash);
	}
	lc_listeners_leave(); /* no longer accepting anywhere */
	lc_mutex_unlock(&stop_mu);
	return n;
}

void lc_stop_fork_prepare(void)
{
	lc_mutex_lock(&stop_mu);
}

void lc_stop_fork_done(bool child)
{
	/* The child is the thread that locked it in lc_stop_fork_prepare: it may unlock it. */
	(void)child;
	lc_mutex_unlock(&stop_mu);
}
