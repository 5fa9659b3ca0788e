/* SPDX-License-Identifier: MIT */
/* children.c: a process's children, found in /proc/self/task/TID/children (however made) and
 * held by pidfds: signalled, and waited for without ever being reaped. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lastcall/sys.h"
#include "lastcall/children.h"
#include "lastcall/fds.h"
#include "lastcall/log.h"
#include "lastcall/real.h"
#include "lastcall/share.h"
#include "lastcall/spin.h"
#include "lastcall/util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define MAX_KIDS 1024

struct kid {
	pid_t pid;
	int pidfd;	 /* -1: the slot is free */
	int ended;	 /* reaped, or given up on (see REAP_WAIT_MS) */
	int told;	 /* the stop's signal was passed on to it */
	int64_t exited;	 /* when it exited unreaped (a zombie), 0 if not */
};

/* A child that exited but is not reaped yet is waited for this long: the program's own SIGCHLD
 * handling reaps it, so no zombie is left when the process ends. A program that never reaps
 * keeps its zombies until it ends, as it would have. */
#define REAP_WAIT_MS 1000

static struct kid kids[MAX_KIDS];
static int nkids, running, ended, epfd = -1, warned;
static bool enabled; /* lc_children_setup() ran: kids[] is initialised */
static int64_t last_end; /* when a child was last seen to end */
/* The cleanup thread's entry points and lc_children_moved() (a program thread's dup2). */
static int kids_mu; /* lc_mutex_lock */

static void moved(int from, int to);

/* Says once that children may go unwaited for: an fd lastcall needed for them (an epoll set,
 * a pidfd, a /proc file) could not be had. A child that is gone already is no loss. */
static void unwatched(const char *what, int err)
{
	static int said;

	if (err != ESRCH && !said++)
		lc_log_errno(LC_WARN, err, "unable to %s: children may not be waited for", what);
}

void lc_children_setup(void)
{
	int i;

	if (!enabled) {
		for (i = 0; i < MAX_KIDS; i++)
			kids[i].pidfd = -1;
		enabled = true;
	}
}

/* The epoll set holding the children's pidfds, made when the first child is found: a process
 * without children (most servers) spends no fd on it. */
static int children_epoll(void)
{
	int fd;

	if (epfd >= 0)
		return 0;
	if ((fd = LC_OWN(lc_real.epoll_create1(EPOLL_CLOEXEC))) < 0) {
		unwatched("create an epoll set", errno);
		return -1;
	}
	lc_fds_private(fd, moved);
	lc_release(&epfd, fd);
	return 0;
}

int lc_children_fd(void)
{
	return lc_acquire(&epfd);
}

static int known(pid_t pid)
{
	int i;

	for (i = 0; i < nkids; i++)
		if (kids[i].pidfd >= 0 && kids[i].pid == pid)
			return 1;
	return 0;
}

/* Starts watching child pid. A child that is already gone (reaped meanwhile) is skipped. */
static void watch(pid_t pid)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int i, fd;

	if (known(pid))
		return;
	for (i = 0; i < MAX_KIDS && kids[i].pidfd >= 0; i++)
		;
	if (i == MAX_KIDS) {
		if (!warned++)
			lc_log(LC_WARN, "more than %d children: the rest are not waited for", MAX_KIDS);
		return;
	}
	if (children_epoll() < 0)
		return;
	if ((fd = LC_OWN((int)lc_syscall(SYS_pidfd_open, pid, 0))) < 0) {
		unwatched("open a pidfd", errno);
		return;
	}
	lc_fds_private(fd, moved);
	ev.data.u32 = (uint32_t)i;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		lc_fds_release(fd);
		lc_real.close(fd);
		return;
	}
	kids[i] = (struct kid){ pid, fd, 0, 0, 0 };
	if (i >= nkids)
		nkids = i + 1;
	running++;
	lc_log(LC_DEBUG, "waiting for child %d", (int)pid);
}

/* Reads one /proc/self/task/TID/children file: the pids, space-separated. Every way of creating
 * a child shows there. */
static void scan_task(int tid)
{
	char path[64], buf[4096], *p, *end;
	ssize_t n;
	int fd;

	lc_format(path, sizeof(path), "/proc/self/task/%d/children", tid);
	if ((fd = lc_open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT) /* a thread that has just ended */
			unwatched("read the list of children", errno);
		return;
	}
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		for (p = buf; *p; p = end) {
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid > 0)
				watch((pid_t)pid);
		}
	}
	lc_real.close(fd);
}

static void end_kid(struct kid *k, const char *how)
{
	lc_log(LC_DEBUG, "child %d %s", (int)k->pid, how);
	last_end = lc_now_ms();
	epoll_ctl(epfd, EPOLL_CTL_DEL, k->pidfd, 0);
	k->ended = 1;
	running--;
	ended++;
}

/* A child's end is learnt from its pidfd becoming readable: whether the program reaps it,
 * ignores SIGCHLD (automatic reaping) or never reaps (a zombie), lastcall never calls wait() and
 * so never takes an exit status from the program. A pidfd reads as ready when its process exits
 * (POLLIN) and hangs up when it is reaped (POLLHUP). A zombie is watched for its reaping (HUP is
 * reported with no events asked for), for at most REAP_WAIT_MS. */
static void collect(void)
{
	struct epoll_event evs[64], none = { .events = 0 };
	int64_t now = lc_now_ms();
	int n, i;

	if (epfd < 0)
		return; /* no child found yet */
	while ((n = epoll_wait(epfd, evs, 64, 0)) > 0)
		for (i = 0; i < n; i++) {
			struct kid *k = &kids[evs[i].data.u32];

			if (evs[i].events & EPOLLHUP) {
				end_kid(k, "ended and reaped");
			} else if (!k->exited) {
				k->exited = now;
				none.data = evs[i].data;
				epoll_ctl(epfd, EPOLL_CTL_MOD, k->pidfd, &none);
			}
		}
	for (i = 0; i < nkids; i++)
		if (kids[i].pidfd >= 0 && !kids[i].ended && kids[i].exited &&
		    now - kids[i].exited >= REAP_WAIT_MS)
			end_kid(&kids[i], "ended; the program has not reaped it");
}

/* Threads whose children files are read with the task directory closed: most servers have
 * fewer, and so need one fd less while scanning (at a tight fd limit, the difference between
 * waiting for the children and not). */
#define SCAN_TIDS 256

int lc_children_scan(void)
{
	struct lc_dir dir;
	const char *name = "";
	int r, tids[SCAN_TIDS], ntids, i;

	if (!enabled)
		return 0;
	lc_mutex_lock(&kids_mu);
	collect();
	if (lc_dir_open(&dir, "/proc/self/task") < 0) {
		unwatched("read the list of children", errno);
		goto out;
	}
	while (name) {
		/* A batch of thread ids, then their children (the directory closed by then, unless
		 * the batch is full). */
		for (ntids = 0; ntids < SCAN_TIDS && (name = lc_dir_next(&dir, 0));)
			tids[ntids++] = (int)strtol(name, 0, 10);
		for (i = 0; i < ntids; i++)
			scan_task(tids[i]);
	}
	collect();
out:
	r = running;
	lc_mutex_unlock(&kids_mu);
	return r;
}

static int signal_kid(struct kid *k, int sig)
{
	return lc_syscall(SYS_pidfd_send_signal, k->pidfd, sig, 0, 0) == 0;
}

int lc_children_forward(int sig)
{
	int i, n = 0;

	lc_mutex_lock(&kids_mu);
	for (i = 0; i < nkids; i++)
		if (kids[i].pidfd >= 0 && !kids[i].ended && !kids[i].exited && !kids[i].told &&
		    lc_share_accepts(kids[i].pid) && signal_kid(&kids[i], sig)) {
			kids[i].told = 1;
			n++;
		}
	lc_mutex_unlock(&kids_mu);
	return n;
}

int lc_children_kill_held(pid_t pid, int64_t until)
{
	struct pollfd p = { .events = POLLIN };
	int64_t left;
	int r = 0, err = 0;

	if ((p.fd = LC_OWN((int)lc_syscall(SYS_pidfd_open, pid, 0))) < 0)
		return lc_real.kill(pid, SIGKILL);
	lc_log(LC_DEBUG, "SIGKILL to pid %d held while it drains (%lld ms at most)", (int)pid,
	       (long long)(until - lc_now_ms()));
	/* A handler of the program's that interrupts the wait does not end it. */
	while ((left = until - lc_now_ms()) > 0 && poll(&p, 1, (int)left) <= 0)
		;
	if (!(p.revents & POLLIN) && lc_syscall(SYS_pidfd_send_signal, p.fd, SIGKILL, 0, 0) < 0)
		err = errno;
	lc_real.close(p.fd);
	/* Gone meanwhile, reaped or not: what the caller wanted. */
	if (err && err != ESRCH)
		r = -1, errno = err;
	return r;
}

/* Whether child pid has the open file of our fd at one of its fds idx[0..n). */
static bool child_has(pid_t pid, int fd, const int *idx, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (lc_same_file(fd, pid, idx[i]))
			return true;
	return false;
}

bool lc_children_share(int fd)
{
	char path[64], list[4096], *p, *end;
	int f, idx[4] = { fd, 0, 1, 2 };
	struct lc_dir dir;
	const char *tid;
	bool shared = false;
	ssize_t len;
	long pid;

	if (lc_dir_open(&dir, "/proc/self/task") < 0)
		return true;
	while (!shared && (tid = lc_dir_next(&dir, 0))) {
		lc_format(path, sizeof(path), "/proc/self/task/%s/children", tid);
		if ((f = lc_open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		len = read(f, list, sizeof(list) - 1);
		lc_real.close(f);
		list[len > 0 ? len : 0] = '\0';
		for (p = list; !shared && (pid = strtol(p, &end, 10)) > 0; p = end)
			shared = child_has((pid_t)pid, fd, idx, 4);
	}
	lc_dir_close(&dir);
	return shared;
}

/* Whether a thread of process pid is named name (with its newline, as comm reads). */
static bool has_thread(pid_t pid, const char *name)
{
	char path[64], comm[32];
	size_t want = strlen(name);
	struct lc_dir dir;
	const char *tid;
	bool found = false;
	ssize_t len;
	int fd;

	lc_format(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (lc_dir_open(&dir, path) < 0)
		return false;
	while (!found && (tid = lc_dir_next(&dir, 0))) {
		lc_format(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, tid);
		if ((fd = lc_open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		len = read(fd, comm, sizeof(comm) - 1);
		lc_real.close(fd);
		found = len == (ssize_t)want && memcmp(comm, name, want) == 0;
	}
	lc_dir_close(&dir);
	return found;
}

bool lc_children_runs_lastcall(pid_t pid)
{
	return has_thread(pid, LC_THREAD_NAME "\n") || lc_children_draining(pid);
}

bool lc_children_draining(pid_t pid)
{
	return has_thread(pid, LC_THREAD_DRAINING "\n");
}

int lc_children_signal(int sig)
{
	int i, n = 0;

	lc_mutex_lock(&kids_mu);
	collect();
	for (i = 0; i < nkids; i++)
		if (kids[i].pidfd >= 0 && !kids[i].ended && !kids[i].exited)
			n += signal_kid(&kids[i], sig);
	lc_mutex_unlock(&kids_mu);
	return n;
}

int lc_children_ended(void)
{
	return ended;
}

int64_t lc_children_last_end(void)
{
	return last_end;
}

void lc_children_reset(void)
{
	int i;

	lc_mutex_lock(&kids_mu);
	for (i = 0; i < nkids; i++)
		if (kids[i].pidfd >= 0) {
			if (epfd >= 0)
				epoll_ctl(epfd, EPOLL_CTL_DEL, kids[i].pidfd, 0);
			lc_fds_release(kids[i].pidfd);
			lc_real.close(kids[i].pidfd);
			kids[i].pidfd = -1;
		}
	nkids = running = ended = 0;
	last_end = 0;
	lc_mutex_unlock(&kids_mu);
}

/* from, one of ours (the set or a pidfd), now also answers as to: the program's dup2() is
 * about to take from. A pidfd's registration is re-keyed (an epoll item is keyed by fd number
 * too). A program thread. */
static void moved(int from, int to)
{
	struct epoll_event ev = { .events = EPOLLIN };
	bool ours = false;
	int i;

	lc_mutex_lock(&kids_mu);
	if (from == epfd) {
		lc_release(&epfd, to); /* read without the lock by lc_children_fd() */
		ours = true;
	}
	for (i = 0; !ours && i < nkids; i++) {
		if (kids[i].pidfd != from)
			continue;
		/* from still names the pidfd here: the real dup2 comes after. */
		ev.events = kids[i].ended || kids[i].exited ? 0 : EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		if (!kids[i].ended) {
			epoll_ctl(epfd, EPOLL_CTL_DEL, from, 0);
			epoll_ctl(epfd, EPOLL_CTL_ADD, to, &ev);
		}
		kids[i].pidfd = to;
		ours = true;
	}
	lc_mutex_unlock(&kids_mu);
}

void lc_children_fork_child(void)
{
	int i;

	/* The parent's children are not the child's; its pidfds and epoll set are the parent's. */
	for (i = 0; i < nkids; i++)
		if (kids[i].pidfd >= 0) {
			lc_fds_release(kids[i].pidfd);
			lc_real.close(kids[i].pidfd);
			kids[i].pidfd = -1;
		}
	if (epfd >= 0) {
		lc_fds_release(epfd);
		lc_real.close(epfd);
		epfd = -1;
	}
	nkids = running = ended = 0;
	kids_mu = 0;
}
