/* SPDX-License-Identifier: MIT */
/* fds.c: the fd table: one 8-byte entry per fd, changed by the hot paths (accept, close) with
 * atomic operations and no lock; the program's closes passed on to each kind's owner. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lastcall/sys.h"
#include "lastcall/atomic.h"
#include "lastcall/config.h"
#include "lastcall/fds.h"
#include "lastcall/log.h"
#include "lastcall/real.h"
#include "lastcall/state.h"
#include "lastcall/util.h"
#include "lastcall/wake.h"

struct lc_fd *lc_fds;
int lc_fds_n;
int lc_fds_hi;

static int warned_full;

static const struct lc_fd_owner *owners[LC_FD_KINDS];
#define MAX_MOVERS 8
static void (*movers[MAX_MOVERS])(int from, int to);

/* The program's epoll fds, for lc_fds_epoll_forget(); past MAX_EPOLLS the table is scanned. */
#define MAX_EPOLLS 64
static int epolls[MAX_EPOLLS];
static int nepolls;

int lc_fds_setup(void)
{
	struct rlimit rl;
	rlim_t n = (rlim_t)lc_config.max_fds;
	void *p;

	/* The hard limit, not the soft one: programs (nginx, redis) raise their soft limit
	 * after start-up. The reservation is virtual; only pages holding used fds are touched. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max < n)
		n = rl.rlim_max < 64 ? 64 : rl.rlim_max;
	p = mmap(0, n * sizeof(struct lc_fd), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		lc_log_errno(LC_ERROR, errno, "unable to reserve the fd table (%lu entries)",
			     (unsigned long)n);
		return -1;
	}
	lc_fds = p;
	lc_release(&lc_fds_n, (int)n);
	return 0;
}

static void note_fd(int fd)
{
	int hi = lc_load(&lc_fds_hi), seen;

	while (fd >= hi && (seen = lc_cas_val(&lc_fds_hi, hi, fd + 1)) != hi)
		hi = seen;
}

static void warn_full(int fd)
{
	if (!lc_xchg(&warned_full, 1))
		lc_log(LC_WARN, "fd %d is above LASTCALL_MAX_FDS (%d): such fds are not tracked",
		       fd, lc_fds_n);
}

void lc_fds_note(int fd)
{
	if (lc_fd_get(fd))
		note_fd(fd);
	else if (lc_fds && fd >= 0)
		warn_full(fd);
}

/* Remembers epoll fd ep in the short list (a slot holds -1 when free). */
static void remember_epoll(int ep)
{
	int i, n = lc_acquire(&nepolls);

	for (i = 0; i < n; i++)
		if (lc_cas(&epolls[i], -1, ep))
			return;
	i = lc_add(&nepolls, 1);
	if (i < MAX_EPOLLS)
		lc_release(&epolls[i], ep);
}

static void forget_epoll(int ep)
{
	int i, n = lc_acquire(&nepolls);

	for (i = 0; i < n && i < MAX_EPOLLS; i++)
		if (lc_acquire(&epolls[i]) == ep)
			lc_release(&epolls[i], -1);
}

void lc_fds_add_inherited(int fd)
{
	struct lc_fd *e = lc_fd_get(fd);

	if (!e)
		return;
	/* owner 0: no process of ours accepted it */
	lc_release(&e->word, lc_fd_word(LC_FD_CONN, 0, 0, 0));
	note_fd(fd);
}

void lc_fds_set(int fd, enum lc_kind kind, uint16_t li)
{
	struct lc_fd *e = lc_fd_get(fd);

	if (!e) {
		if (!lc_fds || fd < 0)
			return;
		warn_full(fd);
		return;
	}
	lc_store(&e->li, li);
	lc_release(&e->kind, kind);
	note_fd(fd);
	if (kind == LC_FD_EPOLL)
		remember_epoll(fd);
}

void lc_fds_epoll_forget(int fd)
{
	int i, ep, n = lc_acquire(&nepolls), hi;

	if (n <= MAX_EPOLLS) {
		for (i = 0; i < n; i++)
			if ((ep = lc_acquire(&epolls[i])) >= 0)
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, 0);
		return;
	}
	hi = lc_acquire(&lc_fds_hi);
	for (ep = 0; ep < hi; ep++)
		if (lc_acquire(&lc_fds[ep].kind) == LC_FD_EPOLL)
			epoll_ctl(ep, EPOLL_CTL_DEL, fd, 0);
}

enum lc_kind lc_fds_forget(int fd) /* AS-safe */
{
	struct lc_fd *e = lc_fd_get(fd), old, gone;

	if (!e || lc_acquire(&e->kind) == LC_FD_NONE)
		return LC_FD_NONE;
	/* Only the kind goes: a connection ended in place keeps its LINGERING flag, for
	 * lc_linger_adopt() to finish that linger. */
	do {
		old.word = lc_acquire(&e->word);
		if (old.kind == LC_FD_NONE || lc_fds_ours(old.kind))
			return old.kind;
		gone = old;
		gone.kind = LC_FD_NONE;
	} while (!lc_cas(&e->word, old.word, gone.word));
	if (old.kind == LC_FD_EPOLL)
		forget_epoll(fd);
	/* A drain counts what is left when woken (see lc_fds_close). */
	if (old.kind == LC_FD_CONN && lc_load_full(&lc_draining))
		lc_wake_poke();
	return old.kind;
}

void lc_fds_release(int fd)
{
	struct lc_fd *e = lc_fd_get(fd);

	if (e)
		lc_release(&e->kind, LC_FD_NONE);
}

void lc_fds_own(enum lc_kind kind, const struct lc_fd_owner *owner)
{
	owners[kind] = owner;
}

void lc_fds_private(int fd, void (*moved)(int from, int to))
{
	void (*f)(int, int);
	int i;

	for (i = 0; i < MAX_MOVERS; i++)
		if ((f = lc_acquire(&movers[i])) == moved ||
		    (!f && (lc_cas(&movers[i], 0, moved) || lc_acquire(&movers[i]) == moved)))
			break;
	lc_fds_set(fd, LC_FD_PRIVATE, i < MAX_MOVERS ? (uint16_t)(i + 1) : 0);
}

/* fd, one of lastcall's private fds, has a number the program's dup2() wants: copied above
 * it, its owner told, the old number given up. */
static void move_private(int fd, uint16_t owner)
{
	void (*tell)(int, int) = owner > 0 && owner <= MAX_MOVERS ? lc_acquire(&movers[owner - 1]) : 0;
	int moved;

	if ((moved = fcntl(fd, F_DUPFD_CLOEXEC, fd + 1)) < 0)
		return;
	lc_fds_set(moved, LC_FD_PRIVATE, owner);
	if (tell)
		tell(fd, moved);
	lc_fds_release(fd);
}

/* The owner of kind k, told that the program closes or replaces fd (its entry is forgotten
 * already, and was of kind k with record li). */
static void tell_closed(int fd, int k, uint16_t li)
{
	if (owners[k] && owners[k]->closed)
		owners[k]->closed(fd, li);
}

int lc_fds_close_told(int fd)
{
	lc_wake_poke();
	lc_own_sync(); /* what the drain is doing to fd ends first (util.h) */
	return lc_real.close(fd);
}

int lc_fds_close_slow(int fd)
{
	struct lc_fd *e = lc_fd_get(fd);
	uint16_t li;
	int k;

	if (!e || (k = lc_acquire(&e->kind)) == LC_FD_NONE)
		return lc_real.close(fd);
	li = lc_load(&e->li);
	/* During a drain a connection is not just closed: it lingers (see linger.h). The linger
	 * starts before the entry goes, as forgetting the last connection wakes the drain, which
	 * must then find the linger to wait for rather than end the process under it. */
	if (owners[k] && owners[k]->closing)
		owners[k]->closing(fd);
	k = lc_fds_forget(fd);
	if (lc_fds_ours(k)) {
		errno = EBADF; /* not the program's: as if lastcall were not there */
		return -1;
	}
	tell_closed(fd, k, li);
	lc_own_sync(); /* as in lc_fds_close_told() */
	return lc_real.close(fd);
}

/* newfd is now a copy of oldfd: a connection's copy is a connection too (a CGI script's
 * standard input and output, made in the server before it forks: mod_cgid's daemon), and
 * each is flagged, so that a close of one during a drain does not shut the socket the other
 * still serves (lc_fds_copy_open, linger.c). */
static void copied(int oldfd, int newfd)
{
	struct lc_fd *o = lc_fd_get(oldfd), *n = lc_fd_get(newfd);
	struct lc_fd v;

	if (!o || !n || (v.word = lc_acquire(&o->word), v.kind != LC_FD_CONN))
		return;
	lc_or(&o->flags, LC_FDF_COPIED);
	v.flags = (uint8_t)((v.flags & LC_FDF_FORKED) | LC_FDF_COPIED);
	lc_release(&n->word, v.word);
	note_fd(newfd);
}

/* Forgets newfd before dup2/dup3 replaces it; lastcall's own fds move out of the way. The call
 * itself is made with lc_own_lock held: an fd lastcall is making cannot be at newfd then. */
int lc_fds_dup(int oldfd, int newfd, int flags, enum lc_dup_call call)
{
	struct lc_fd *e = lc_fd_get(newfd);
	bool took;
	uint16_t li;
	int k, r, err;

	if (e && lc_acquire(&e->kind) != LC_FD_NONE && oldfd != newfd &&
	    fcntl(oldfd, F_GETFD) >= 0) {
		li = lc_load(&e->li);
		k = lc_fds_forget(newfd);
		if (k == LC_FD_PRIVATE)
			move_private(newfd, li);
		else if (lc_fds_ours(k) && owners[k] && owners[k]->replaced)
			owners[k]->replaced(newfd);
		else
			tell_closed(newfd, k, li);
	}
	took = lc_own_lock();
	r = call == LC_DUP3 ? lc_real.dup3(oldfd, newfd, flags) : lc_real.dup2(oldfd, newfd);
	err = errno;
	lc_own_unlock(took);
	if (r >= 0 && oldfd != newfd)
		copied(oldfd, newfd);
	errno = err;
	return r;
}

bool lc_fds_copy_open(int fd)
{
	int other, hi = lc_acquire(&lc_fds_hi);

	for (other = 0; other < hi; other++)
		if (other != fd && lc_acquire(&lc_fds[other].kind) == LC_FD_CONN &&
		    (lc_acquire(&lc_fds[other].flags) & LC_FDF_COPIED) &&
		    lc_same_file(fd, getpid(), other))
			return true;
	return false;
}

/* Closes a range with the real close_range, skipping lastcall's own fds. */
static int close_span(unsigned first, unsigned last, int flags)
{
	if (first > last)
		return 0;
	lc_own_sync(); /* as in lc_fds_close_told() */
	if (lc_real.close_range)
		return lc_real.close_range(first, last, flags);
	return (int)lc_syscall(SYS_close_range, first, last, flags);
}

int lc_fds_close_range(unsigned first, unsigned last, int flags)
{
	unsigned fd, hi = (unsigned)lc_acquire(&lc_fds_hi), start = first;
	struct lc_fd *e;
	uint16_t li;
	int k;

	if (!lc_fds || lc_off || (flags & CLOSE_RANGE_CLOEXEC))
		return close_span(first, last, flags);
	for (fd = first; fd < hi && fd <= last; fd++) {
		e = &lc_fds[fd];
		if (lc_acquire(&e->kind) == LC_FD_NONE)
			continue;
		li = lc_load(&e->li);
		k = lc_fds_forget((int)fd);
		if (lc_fds_ours(k)) {
			if (close_span(start, fd - 1, flags) < 0)
				return -1;
			start = fd + 1;
		} else {
			tell_closed((int)fd, k, li);
		}
	}
	return start <= last ? close_span(start, last, flags) : 0;
}

void lc_fds_closefrom(int lowfd)
{
	int err = errno;

	if (lowfd < 0) {
		errno = EBADF; /* glibc's closefrom: nothing closed */
		return;
	}
	if (!lc_fds || lc_off) {
		if (lc_real.closefrom)
			lc_real.closefrom(lowfd);
		else
			close_span((unsigned)lowfd, ~0U, 0);
		return;
	}
	lc_fds_close_range((unsigned)lowfd, ~0U, 0);
	errno = err; /* closefrom() returns nothing and leaves errno alone */
}

int lc_fds_note_epoll(int fd)
{
	if (fd >= 0 && lc_fds)
		lc_fds_set(fd, LC_FD_EPOLL, 0);
	return fd;
}

void lc_fds_each(enum lc_kind kind, void (*fn)(int fd, void *arg), void *arg)
{
	int fd, hi = lc_acquire(&lc_fds_hi);

	for (fd = 0; fd < hi; fd++)
		if (lc_acquire(&lc_fds[fd].kind) == kind)
			fn(fd, arg);
}

int lc_fds_count(bool own_only)
{
	int fd, n = 0, hi = lc_acquire(&lc_fds_hi);

	for (fd = 0; fd < hi; fd++)
		if (lc_acquire(&lc_fds[fd].kind) == LC_FD_CONN &&
		    (!own_only || lc_load(&lc_fds[fd].owner) == lc_pid))
			n++;
	return n;
}
