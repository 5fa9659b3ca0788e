/* SPDX-License-Identifier: MIT */
/* intake.c: listeners and accept(). Owns the listener records, the stash of queued connections
 * lastcall takes when intake stops, and the stand-in sockets the program's listener fds point to
 * afterwards. The accept() fast path is a table load, the real call and a table store. */
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

#include "lastcall/fds.h"
#include "lastcall/init.h"
#include "lastcall/intake.h"
#include "lastcall/log.h"
#include "lastcall/real.h"
#include "lastcall/sig.h"

struct listener {
	int used;     /* the record is taken (atomic) */
	int fd;	      /* the program's fd number */
	int owned;    /* created by listen() in this process image */
	int shared;   /* a fork happened since: other processes may hold the socket */
	int acceptor; /* this process called accept() on it */
	int closed;   /* the program closed the stopped fd; its stash is orphaned */
	int head, tail, queued; /* the stash: a FIFO linked through lc_fds[].aux */
	int tokens; /* wake-up connections queued on the stand-in */
	struct sockaddr_un standin;
	socklen_t standin_len;
};

static struct listener listeners[LC_MAX_LISTENERS];
static pthread_mutex_t stash_mu = PTHREAD_MUTEX_INITIALIZER;
/* Held while a listener is being stopped, and across fork(): a child must never inherit a
 * listener half swapped (marked stopped while its fd still holds the real socket). */
static pthread_mutex_t stop_mu = PTHREAD_MUTEX_INITIALIZER;
static int stashed; /* sum of queued over all records */

/* Takes a free record for fd; -1 when all are in use (the listener is then left alone). */
static int new_listener(int fd, int owned)
{
	int i, zero;

	for (i = 0; i < LC_MAX_LISTENERS; i++) {
		zero = 0;
		if (!__atomic_compare_exchange_n(&listeners[i].used, &zero, 1, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		memset((char *)&listeners[i] + sizeof(int), 0, sizeof(listeners[i]) - sizeof(int));
		listeners[i].fd = fd;
		listeners[i].owned = owned;
		listeners[i].head = listeners[i].tail = -1;
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

	if (r == 0 && e && e->kind == LC_FD_LISTEN)
		listeners[e->li].owned = 1;
	else if (r == 0 && e && e->kind == LC_FD_NONE)
		new_listener(fd, 1);
	return r;
}

/* Wake-up tokens: the stand-in is readable while its stash holds connections (one token),
 * so poll, select and epoll (level or edge) report the listener as they would a real one. A
 * hand-back adds one more (lc_intake_kick) to wake threads blocked in accept() on it. Tokens are
 * counted exactly: each connect adds one, each accept of one removes it. With stash_mu held. */
static void add_token(struct listener *l)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	if (connect(s, (struct sockaddr *)&l->standin, l->standin_len) == 0)
		l->tokens++;
	lc_real.close(s);
}

static void take_token(struct listener *l)
{
	int s = lc_real.accept4(l->fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (s >= 0) {
		lc_real.close(s);
		l->tokens--;
	}
}

/* One token while the stash is not empty, none when it is. */
static void settle_token(struct listener *l)
{
	if (l->queued > 0 && l->tokens == 0 && !l->closed)
		add_token(l);
	else if (l->queued == 0 && l->tokens > 0)
		take_token(l);
}

static void push(struct listener *l, int c, uint16_t li)
{
	lc_fds[c].aux = -1;
	lc_fds_set(c, LC_FD_STASHED, li);
	if (l->tail >= 0)
		lc_fds[l->tail].aux = c;
	else
		l->head = c;
	l->tail = c;
	l->queued++;
	__atomic_add_fetch(&stashed, 1, __ATOMIC_RELAXED);
}

static int pop(struct listener *l)
{
	int c = l->head;

	if (c < 0)
		return -1;
	l->head = lc_fds[c].aux;
	if (l->head < 0)
		l->tail = -1;
	l->queued--;
	__atomic_sub_fetch(&stashed, 1, __ATOMIC_RELAXED);
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
	lc_fds_add_conn(c);
	return c;
}

/* accept() on a stopped listener: a stashed connection, else EAGAIN for a non-blocking fd, else
 * wait (parked) until one is stashed, as on an idle listener. passed is lc_sig_passed when the
 * program called accept(): if the program's own handler for a trigger signal has run on this
 * thread since, the call ends with EINTR unless that handler has SA_RESTART, as the kernel would
 * have done. The trigger signals stay blocked outside ppoll(), so one that is handed back
 * between the check and the wait cannot be missed. */
static int from_stash(int fd, struct lc_fd *e, struct sockaddr *addr, socklen_t *len, int flags,
		      unsigned passed)
{
	struct listener *l = &listeners[e->li];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	sigset_t triggers, old;
	int c = -1, err = 0, fl;

	lc_sig_trigger_set(&triggers);
	pthread_sigmask(SIG_BLOCK, &triggers, &old);
	for (;;) {
		pthread_mutex_lock(&stash_mu);
		c = pop(l);
		settle_token(l);
		pthread_mutex_unlock(&stash_mu);
		if (c >= 0)
			break;
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
		if (__atomic_load_n(&e->kind, __ATOMIC_ACQUIRE) != LC_FD_STOPPED) {
			err = EBADF; /* the program closed it meanwhile */
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, 0);
	if (c >= 0)
		return hand_over(c, addr, len, flags);
	errno = err;
	return -1;
}

/* Whether accepted socket c came from fd's stand-in (a token), not from a client. */
static int is_token(struct listener *l, int c)
{
	struct sockaddr_un a;
	socklen_t n = sizeof(a);

	return getsockname(c, (struct sockaddr *)&a, &n) == 0 && n == l->standin_len &&
	       memcmp(&a, &l->standin, n) == 0;
}

/* errno values after which accept() proves fd is a listening socket. */
static int is_listener_errno(int err)
{
	return err == EAGAIN || err == EINTR || err == ECONNABORTED || err == EMFILE ||
	       err == ENFILE || err == ENOBUFS || err == ENOMEM || err == EPERM || err == EPROTO;
}

/* The rare cases after the real accept: a listener seen for the first time, or one whose intake
 * stopped while the caller was inside accept. */
static int accept_slow(int fd, struct lc_fd *e, int before, int r, struct sockaddr *addr,
		       socklen_t *len, int flags, unsigned passed)
{
	int err = errno, now = __atomic_load_n(&e->kind, __ATOMIC_ACQUIRE);

	if (before == LC_FD_NONE && now == LC_FD_NONE) {
		/* Inherited across exec (socket activation, a supervisor): not created here. */
		if ((r >= 0 || is_listener_errno(err)) && new_listener(fd, 0) >= 0)
			listeners[lc_fds[fd].li].acceptor = 1;
		errno = err;
		return r;
	}
	/* Not stopped, or interrupted by a handler that does not restart: as the kernel said. */
	if (now != LC_FD_STOPPED || (r < 0 && err == EINTR)) {
		errno = err;
		return r;
	}
	if (r >= 0 && !is_token(&listeners[e->li], r))
		return r; /* a client taken from the old socket before it stopped: serve it */
	if (r >= 0) {
		lc_fds_forget(r);
		lc_real.close(r);
		pthread_mutex_lock(&stash_mu);
		listeners[e->li].tokens--;
		pthread_mutex_unlock(&stash_mu);
	}
	return from_stash(fd, e, addr, len, flags, passed);
}

int lc_intake_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags, bool four)
{
	struct lc_fd *e = lc_fd_get(fd);
	int k = e ? __atomic_load_n(&e->kind, __ATOMIC_ACQUIRE) : LC_FD_NONE;
	unsigned passed = lc_sig_passed;
	int r;

	if (k == LC_FD_STOPPED)
		return from_stash(fd, e, addr, len, flags, passed);
	if (k == LC_FD_LISTEN && !listeners[e->li].acceptor)
		listeners[e->li].acceptor = 1;
	r = four ? lc_real.accept4(fd, addr, len, flags) : lc_real.accept(fd, addr, len);
	if (r >= 0)
		lc_fds_add_conn(r);
	if (e && __builtin_expect(k != LC_FD_LISTEN || e->kind != LC_FD_LISTEN, 0))
		return accept_slow(fd, e, k, r, addr, len, flags, passed);
	return r;
}

void lc_intake_closed(int fd, uint16_t li)
{
	struct listener *l = &listeners[li];

	(void)fd;
	if (l->queued > 0) {
		/* The cleanup thread closes the orphans; this may run in a signal handler. */
		__atomic_store_n(&l->closed, 1, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&l->used, 0, __ATOMIC_RELEASE);
}

/* An inert AF_UNIX listener on an abstract autobound name, blocking like the listener it
 * replaces. Returns the fd or -1. */
static int make_standin(struct listener *l, int nonblock)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (s < 0)
		return -1;
	l->standin_len = sizeof(l->standin);
	if (bind(s, (struct sockaddr *)&a, sizeof(sa_family_t)) < 0 || lc_real.listen(s, 8) < 0 ||
	    getsockname(s, (struct sockaddr *)&l->standin, &l->standin_len) < 0) {
		lc_real.close(s);
		return -1;
	}
	return s;
}

#define MAX_REGS 16

struct reg {
	int epfd;
	struct epoll_event ev;
};

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
	int epfd, hi = lc_fds_hi, n = 0, tfd, in, got;
	struct epoll_event ev;
	unsigned long tino;

	for (epfd = 0; epfd < hi && n < MAX_REGS; epfd++) {
		if (lc_fds[epfd].kind != LC_FD_EPOLL)
			continue;
		lc_format(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
		if ((in = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		got = 0;
		for (;;) {
			ssize_t r = read(in, buf + got, sizeof(buf) - 1 - (size_t)got);

			if (r <= 0)
				break;
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

/* Takes every connection queued on the real socket into l's stash. The socket's file is
 * made non-blocking meanwhile (the program's fd no longer refers to it), so the cleanup thread
 * cannot block in accept when a program thread still inside accept() wins a connection. */
static void take_queue(struct listener *l, uint16_t li, int real)
{
	int fl = fcntl(real, F_GETFL), c;

	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(real, F_SETFL, fl | O_NONBLOCK);
	for (;;) {
		c = lc_real.accept4(real, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c >= 0) {
			pthread_mutex_lock(&stash_mu);
			push(l, c, li);
			pthread_mutex_unlock(&stash_mu);
		} else if (errno != EINTR && errno != ECONNABORTED) {
			break;
		}
	}
	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(real, F_SETFL, fl);
}

/* Stops intake on one listener; see docs/design.md for the sequence and its races. */
static int stop_one(uint16_t li, bool stash)
{
	struct listener *l = &listeners[li];
	struct reg regs[MAX_REGS];
	int fd = l->fd, real, standin, cloexec, nregs, i, fl;
	struct stat st;

	if ((real = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
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
	nregs = epoll_detach(fd, (unsigned long)st.st_ino, regs);
	/* Mark first: an accept() that finds the stand-in must know what it is. */
	__atomic_store_n(&lc_fds[fd].kind, LC_FD_STOPPED, __ATOMIC_RELEASE);
	lc_real.dup3(standin, fd, cloexec > 0 && (cloexec & FD_CLOEXEC) ? O_CLOEXEC : 0);
	lc_real.close(standin);
	for (i = 0; i < nregs; i++)
		epoll_ctl(regs[i].epfd, EPOLL_CTL_ADD, fd, &regs[i].ev);
	if (stash)
		take_queue(l, li, real);
	/* Only a socket no other process may hold is shut down: that wakes threads blocked in
	 * accept() on it (they park on the stand-in) and refuses new connections at once. */
	if (l->owned && !l->shared)
		shutdown(real, SHUT_RD);
	lc_real.close(real);
	pthread_mutex_lock(&stash_mu);
	settle_token(l);
	pthread_mutex_unlock(&stash_mu);
	lc_log(LC_DEBUG, "intake stopped on fd %d: %d queued connections kept, %d epoll sets, %s",
	       fd, l->queued, nregs, l->owned && !l->shared ? "socket shut down" : "socket shared");
	return 1;
}

int lc_intake_stop(bool stash)
{
	int li, n = 0;

	pthread_mutex_lock(&stop_mu);
	for (li = 0; li < LC_MAX_LISTENERS; li++) {
		struct listener *l = &listeners[li];

		if (__atomic_load_n(&l->used, __ATOMIC_ACQUIRE) && l->acceptor &&
		    lc_fds[l->fd].kind == LC_FD_LISTEN && lc_fds[l->fd].li == li)
			n += stop_one((uint16_t)li, stash);
	}
	pthread_mutex_unlock(&stop_mu);
	return n;
}

void lc_intake_move_stashed(int fd)
{
	struct lc_fd *e = &lc_fds[fd];
	struct listener *l;
	int moved, *link;

	pthread_mutex_lock(&stash_mu);
	if (e->kind == LC_FD_STASHED && (moved = fcntl(fd, F_DUPFD_CLOEXEC, 0)) >= 0) {
		l = &listeners[e->li];
		lc_fds_set(moved, LC_FD_STASHED, e->li);
		lc_fds[moved].aux = e->aux;
		for (link = &l->head; *link != fd; link = &lc_fds[*link].aux)
			;
		*link = moved;
		if (l->tail == fd)
			l->tail = moved;
		e->kind = LC_FD_NONE; /* the program's dup2 closes our old copy */
	}
	pthread_mutex_unlock(&stash_mu);
}

void lc_intake_kick(void)
{
	int li;

	pthread_mutex_lock(&stash_mu);
	for (li = 0; li < LC_MAX_LISTENERS; li++)
		if (listeners[li].used && !listeners[li].closed &&
		    lc_fds[listeners[li].fd].kind == LC_FD_STOPPED)
			add_token(&listeners[li]);
	pthread_mutex_unlock(&stash_mu);
}

int lc_intake_stashed(void)
{
	return __atomic_load_n(&stashed, __ATOMIC_RELAXED);
}

int lc_intake_drop_stash(bool all)
{
	int li, c, n = 0;

	pthread_mutex_lock(&stash_mu);
	for (li = 0; li < LC_MAX_LISTENERS; li++) {
		struct listener *l = &listeners[li];

		if (!l->used || !(all || l->closed))
			continue;
		while ((c = pop(l)) >= 0) {
			lc_fds_forget(c);
			shutdown(c, SHUT_RDWR);
			lc_real.close(c);
			n++;
		}
		if (l->closed)
			__atomic_store_n(&l->used, 0, __ATOMIC_RELEASE);
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
		n += __atomic_load_n(&listeners[li].used, __ATOMIC_RELAXED) != 0;
	return n;
}

void lc_intake_fork_prepare(void)
{
	pthread_mutex_lock(&stop_mu);
}

void lc_intake_fork(bool child)
{
	int li, c;

	if (child)
		pthread_mutex_init(&stop_mu, 0);
	else
		pthread_mutex_unlock(&stop_mu);

	for (li = 0; li < LC_MAX_LISTENERS; li++) {
		struct listener *l = &listeners[li];

		if (!l->used)
			continue;
		l->shared = 1;
		if (!child)
			continue;
		l->acceptor = 0;
		while ((c = pop(l)) >= 0) {
			lc_fds_forget(c);
			lc_real.close(c);
		}
		l->tokens = 0;
	}
	if (child)
		pthread_mutex_init(&stash_mu, 0);
}
