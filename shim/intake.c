/* SPDX-License-Identifier: MIT */
/* intake.c: listen() and accept(): new listeners recorded, connections recorded, and accept() on
 * a stopped listener served from its stash or parked as on an idle listener. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/fds.h"
#include "lastcall/gen.h"
#include "lastcall/intake.h"
#include "lastcall/listener.h"
#include "lastcall/log.h"
#include "lastcall/notify.h"
#include "lastcall/real.h"
#include "lastcall/share.h"
#include "lastcall/sig.h"
#include "lastcall/stash.h"
#include "lastcall/state.h"

/* A unix socket that a helper, or a child a server forked, listens on by itself serves the
 * server's other processes: mod_cgid's daemon, which Apache's workers ask to start each CGI
 * script. It must take their requests for as long as they drain, so its process becomes a
 * helper (a trigger signal from outside waits until the server ends it, or until it ends on
 * its own, docs/design.md "Helpers"), and the listener is not a worker's: the server does not
 * pass the signal on to it, nor wait for it, and its intake is never stopped. */
static void service(int li)
{
	struct sockaddr_storage a;
	socklen_t n = sizeof(a);
	pid_t parent = getppid();

	if (!lc_helper && (!lc_server_parent || lc_server_parent != parent))
		return;
	if (getsockname(lc_listeners[li].fd, (struct sockaddr *)&a, &n) < 0 ||
	    a.ss_family != AF_UNIX)
		return;
	lc_store(&lc_listeners[li].service, 1);
	if (!lc_helper) {
		lc_helper_parent = parent;
		lc_release(&lc_helper, 1);
	}
	lc_log(LC_DEBUG, "fd %d: a unix socket of its own, for the processes of server %d: "
			 "served until the server ends this process", lc_listeners[li].fd, (int)parent);
}

int lc_intake_listen(int fd, int backlog)
{
	int r = lc_real.listen(fd, backlog), li;
	struct lc_fd *e = lc_fd_get(fd);

	if (r == 0 && e && lc_acquire(&e->kind) == LC_FD_LISTEN) {
		lc_store(&lc_listeners[e->li].owned, 1);
	} else if (r == 0 && e && lc_acquire(&e->kind) == LC_FD_NONE) {
		lc_share_reset(fd);
		if ((li = lc_listener_new(fd, 1)) >= 0)
			service(li);
	}
	if (r == 0) {
		lc_notify_listening();
		lc_gen_listened(fd);
	}
	return r;
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
/* One wait of a parked accept() on stopped listener fd (entry e), with the trigger signals
 * blocked but in ppoll() (old: the mask to wait with). Returns 0 to look at the stash again, or
 * the errno the call ends with. *passed follows the program's handlers run on this thread. */
static int park(int fd, struct lc_fd *e, const sigset_t *old, unsigned *passed)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int fl, r;

	if (lc_sig_passed != *passed) {
		*passed = lc_sig_passed;
		if (!lc_sig_passed_restart)
			return EINTR;
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0 || (fl & O_NONBLOCK))
		return fl < 0 ? errno : EAGAIN;
	if ((r = ppoll(&p, 1, 0, old)) < 0 && errno != EINTR)
		return errno;
	/* A handler ran here. For one without SA_RESTART the kernel would have ended accept()
	 * with EINTR, and the program may count on it (Python runs its own handlers only once
	 * the call returns); which signal it was cannot be told, so any such handler of the
	 * program's makes it EINTR: a program with one expects EINTR from accept() anyway. */
	if (r < 0 && lc_sig_interrupts())
		return EINTR;
	if (lc_acquire(&e->kind) != LC_FD_STOPPED)
		return EBADF; /* the program closed it meanwhile */
	return 0;
}

static int from_stash(int fd, struct lc_fd *e, struct sockaddr *addr, socklen_t *len, int flags,
		      unsigned passed)
{
	struct lc_listener *l = &lc_listeners[e->li];
	sigset_t triggers, old;
	int c, err = 0, foreign;
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
	while ((c = lc_stash_take(l, &foreign)) < 0) {
		/* A stranger's connection, now closed, is what made the stand-in readable: the
		 * caller was likely told by poll() that a connection waits, and may not expect to
		 * block here. Fail as for a connection aborted in the queue. */
		if (first && foreign > 0) {
			err = ECONNABORTED;
			break;
		}
		first = false;
		if ((err = park(fd, e, &old, &passed)))
			break;
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
		if ((r >= 0 || is_listener_errno(err)) && lc_listener_new(fd, 0) >= 0)
			lc_listener_join(&lc_listeners[lc_fds[fd].li]);
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
		lc_stash_took(&lc_listeners[e->li], r);
		lc_fds_forget(r);
		lc_real.close(r);
	}
	return from_stash(fd, e, addr, len, flags, passed);
}

int lc_intake_accept_changed(int r, const struct lc_accept_args *a)
{
	return lc_intake_accepted((int)a->fd, &lc_fds[a->fd], LC_FD_LISTEN, r, a->addr, a->len,
				  a->flags, a->passed);
}

int lc_intake_accept_slow(int fd, struct sockaddr *addr, socklen_t *len, int flags,
			  enum lc_accept_call call)
{
	struct lc_fd *e = lc_fd_get(fd);
	int k = e ? lc_acquire(&e->kind) : LC_FD_NONE;
	unsigned passed = lc_sig_passed;
	int r;

	if (k == LC_FD_STOPPED)
		return from_stash(fd, e, addr, len, flags, passed);
	if (k == LC_FD_LISTEN && !(lc_acquire(&e->flags) & LC_FDF_ACCEPTING) &&
	    lc_load(&lc_listeners[e->li].acceptor) != LC_ACC_DONE)
		lc_listener_join(&lc_listeners[e->li]);
	r = call == LC_ACCEPT4 ? lc_real.accept4(fd, addr, len, flags) : lc_real.accept(fd, addr, len);
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
	lc_listener_leave(l);
	if (l->queued > 0) {
		/* The cleanup thread closes the orphans; this may run in a signal handler. */
		lc_release(&l->closed, 1);
		return;
	}
	lc_release(&l->used, LC_REC_FREE);
}

void lc_intake_fork(bool child)
{
	lc_listeners_fork(child);
	if (child)
		lc_stash_fork_child();
}

const struct lc_fd_owner lc_intake_listener_owner = { .closed = lc_intake_closed };
