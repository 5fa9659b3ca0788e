/* SPDX-License-Identifier: MIT */
/* test_children: the bookkeeping of a server's children, with real children this test forks
 * (each waits on a pipe the test holds, and ends when the test closes it): the scan of
 * /proc/self/task/ * /children, forward and signal counts, ended and last_end once a child ends
 * (reaped, or a zombie given up on), kill_held, reset, moved, fork_child, and whether a child
 * shares an fd. The fd table and share.c's list of accepting processes are fakes. Every wait is
 * bounded; only the test's own children are killed, by pid. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/children.h"
#include "lastcall/fds.h"
#include "lastcall/real.h"
#include "lastcall/share.h"

/* fakes: lc_real, the fd table's setters (fds.c) and the list of accepting processes
 * (share.c) */
struct lc_real lc_real;

#define TABLE 1024
static uint8_t kinds[TABLE];
static int closes, kills, kill_pid;

static int counting_close(int fd)
{
	closes++;
	return close(fd);
}

/* The real kill is never needed: kill_held calls it only when it has no pidfd. */
static int fake_kill(pid_t pid, int sig)
{
	(void)sig;
	kills++;
	kill_pid = pid;
	errno = ESRCH;
	return -1;
}

void lc_fds_set(int fd, enum lc_kind kind, uint16_t li)
{
	(void)li;
	assert_true(fd >= 0 && fd < TABLE);
	kinds[fd] = (uint8_t)kind;
}

static void (*mover)(int from, int to); /* what children.c gave lc_fds_private() */

void lc_fds_private(int fd, void (*moved)(int from, int to))
{
	mover = moved;
	lc_fds_set(fd, LC_FD_PRIVATE, 0);
}

void lc_fds_release(int fd)
{
	assert_true(fd >= 0 && fd < TABLE);
	kinds[fd] = LC_FD_NONE;
}

#define MAX_ACCEPTING 8
static pid_t accepting[MAX_ACCEPTING];

int lc_share_accepts(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_ACCEPTING; i++)
		if (accepting[i] == pid)
			return 1;
	return 0;
}

/* The test's children: pid, the write end of the pipe it waits on, whether reaped. */
#define MAX_MINE 16
static struct mine {
	pid_t pid;
	int wfd;
	bool reaped;
} mine[MAX_MINE];
static int nmine;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits (5 s at most) for the byte a child writes to ready[1] once it is set up. */
static void await_ready(int ready[2])
{
	struct pollfd p = { .fd = ready[0], .events = POLLIN };
	char c;

	close(ready[1]);
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
}

/* A child that waits until the pipe closes, then exits 0. It keeps fd keep open (-1: none),
 * has fd out as its standard output (-1: as it is), and is named comm (NULL: as it is).
 * Returns once the child is set up. */
static pid_t spawn(int keep, int out, const char *comm)
{
	int p[2], ready[2], fd;
	pid_t pid;
	char c;

	assert_true(nmine < MAX_MINE);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (comm)
			prctl(PR_SET_NAME, comm);
		if (out >= 0)
			dup2(out, 1);
		for (fd = 3; fd < TABLE; fd++)
			if (fd != p[0] && fd != keep && fd != ready[1])
				close(fd);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		close(ready[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	mine[nmine++] = (struct mine){ pid, p[1], false };
	await_ready(ready);
	return pid;
}

static struct mine *find(pid_t pid)
{
	int i;

	for (i = 0; i < nmine; i++)
		if (mine[i].pid == pid)
			return &mine[i];
	fail();
	return NULL;
}

/* Lets child pid end (it exits 0). */
static void let_end(pid_t pid)
{
	struct mine *m = find(pid);

	close(m->wfd);
	m->wfd = -1;
}

/* Reaps child pid, waiting 5 s at most; returns its status. */
static int reap(pid_t pid)
{
	int64_t end = now_ms() + 5000;
	int st = 0;
	pid_t r;

	while ((r = waitpid(pid, &st, WNOHANG)) == 0 && now_ms() < end)
		poll(NULL, 0, 5);
	assert_int_equal(r, pid);
	find(pid)->reaped = true;
	return st;
}

/* Whether child pid has exited and waits to be reaped, waiting 5 s at most. */
static bool zombie_within(pid_t pid)
{
	int64_t end = now_ms() + 5000;
	siginfo_t si;

	do {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
			return true;
		poll(NULL, 0, 5);
	} while (now_ms() < end);
	return false;
}

/* Whether child pid has exited, now (not reaping it). */
static bool exited_now(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

/* Scans until lc_children_scan() returns want, 5 s at most; returns how long it took or -1. */
static int64_t scan_until(int want)
{
	int64_t t0 = now_ms();

	while (lc_children_scan() != want) {
		if (now_ms() - t0 > 5000)
			return -1;
		poll(NULL, 0, 10);
	}
	return now_ms() - t0;
}

static int privates(void)
{
	int fd, n = 0;

	for (fd = 0; fd < TABLE; fd++)
		n += kinds[fd] == LC_FD_PRIVATE;
	return n;
}

/* Whether pidfd_open() works here (valgrind, for one, does not know it): without it no child
 * is waited for, and the cases that count children are skipped. */
static bool pidfd_works(void)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

#define NEED_PIDFD()                     \
	do {                             \
		if (!pidfd_works()) {    \
			skip();          \
			return;          \
		}                        \
	} while (0)

static int setup(void **state)
{
	(void)state;
	lc_real.close = counting_close;
	lc_real.epoll_create1 = epoll_create1;
	lc_real.kill = fake_kill;
	closes = kills = 0;
	kill_pid = 0;
	memset(accepting, 0, sizeof(accepting));
	nmine = 0;
	lc_children_setup();
	return 0;
}

/* Ends and reaps whatever children the test left, then forgets them. */
static int teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < nmine; i++) {
		if (mine[i].wfd >= 0)
			close(mine[i].wfd);
		if (!mine[i].reaped) {
			kill(mine[i].pid, SIGKILL);
			waitpid(mine[i].pid, NULL, 0);
		}
	}
	nmine = 0;
	lc_children_reset();
	return 0;
}

/* Before lc_children_setup() nothing is looked for. Runs first. */
static void test_children_before_setup(void **state)
{
	(void)state;
	lc_real.close = counting_close;
	spawn(-1, -1, NULL);
	assert_int_equal(lc_children_scan(), 0);
	assert_int_equal(lc_children_fd(), -1);
	teardown(state);
}

/* No child: no fd spent, nothing counted, nothing signalled. */
static void test_children_none(void **state)
{
	(void)state;
	assert_int_equal(lc_children_scan(), 0);
	assert_int_equal(lc_children_fd(), -1); /* the epoll set comes with the first child */
	assert_int_equal(lc_children_ended(), 0);
	assert_int_equal(lc_children_last_end(), 0);
	assert_int_equal(lc_children_forward(SIGTERM), 0);
	assert_int_equal(lc_children_signal(SIGTERM), 0);
	assert_int_equal(privates(), 0);
}

/* Children are found once each, however many scans; each is held by a pidfd, lastcall's own. */
static void test_children_scan_finds(void **state)
{
	int before;

	(void)state;
	NEED_PIDFD();
	spawn(-1, -1, NULL);
	spawn(-1, -1, NULL);
	assert_int_equal(lc_children_scan(), 2);
	assert_true(lc_children_fd() >= 0);
	assert_int_equal(kinds[lc_children_fd()], LC_FD_PRIVATE);
	before = privates();
	assert_int_equal(before, 3); /* the set and two pidfds */
	assert_int_equal(lc_children_scan(), 2);
	assert_int_equal(privates(), before);
	spawn(-1, -1, NULL);
	assert_int_equal(lc_children_scan(), 3);
	assert_int_equal(privates(), before + 1);
	assert_int_equal(lc_children_ended(), 0);
}

static void *fork_in_thread(void *arg)
{
	*(pid_t *)arg = spawn(-1, -1, NULL);
	return NULL;
}

/* A child of another thread is a child of the process; a grandchild is not. */
static void test_children_scan_threads_not_grandchildren(void **state)
{
	pthread_t t;
	pid_t pid = 0;
	int p[2], ready[2];

	(void)state;
	NEED_PIDFD();
	assert_int_equal(pthread_create(&t, NULL, fork_in_thread, &pid), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(pid > 0);
	assert_int_equal(lc_children_scan(), 1);
	/* A child that forks a grandchild: it waits on the same pipe, and ends with it. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;

		close(p[1]);
		close(ready[0]);
		if (fork() == 0) {
			if (write(ready[1], "g", 1) != 1)
				_exit(2);
			close(ready[1]);
			while (read(p[0], &c, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		close(ready[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	mine[nmine++] = (struct mine){ pid, p[1], false };
	await_ready(ready); /* the grandchild runs: it must not count */
	assert_int_equal(lc_children_scan(), 2);
}

/* A child that ends and is reaped by the program: counted as ended, at a time between. */
static void test_children_ended_reaped(void **state)
{
	pid_t a, b;
	int64_t t0, t1;
	int st;

	(void)state;
	NEED_PIDFD();
	a = spawn(-1, -1, NULL);
	b = spawn(-1, -1, NULL);
	assert_int_equal(lc_children_scan(), 2);
	t0 = now_ms();
	let_end(a);
	st = reap(a); /* the program reaps: lastcall never took its status */
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(scan_until(1) >= 0);
	t1 = now_ms();
	assert_int_equal(lc_children_ended(), 1);
	assert_true(lc_children_last_end() >= t0 && lc_children_last_end() <= t1);
	assert_int_equal(lc_children_scan(), 1); /* the ended one is not found again */
	assert_int_equal(lc_children_ended(), 1);
	let_end(b);
	reap(b);
	assert_true(scan_until(0) >= 0);
	assert_int_equal(lc_children_ended(), 2);
	assert_true(lc_children_last_end() >= t0);
}

/* A child the program never reaps: still counted while the program may yet reap it, never
 * signalled, given up on after a second; and left for the program to reap. */
static void test_children_zombie(void **state)
{
	int64_t waited;
	pid_t z;
	int st;

	(void)state;
	NEED_PIDFD();
	z = spawn(-1, -1, NULL);
	assert_int_equal(lc_children_scan(), 1);
	let_end(z);
	assert_true(zombie_within(z));
	assert_int_equal(lc_children_scan(), 1);
	assert_int_equal(lc_children_signal(0), 0); /* exited: nothing to signal */
	assert_int_equal(lc_children_ended(), 0);
	waited = scan_until(0);
	assert_true(waited >= 800); /* about a second after it was first seen exited */
	assert_int_equal(lc_children_ended(), 1);
	assert_true(lc_children_last_end() > 0);
	st = reap(z); /* lastcall took no status: the program still can */
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* forward() tells only the children that accept connections, each once; signal() tells every
 * child still running. */
static void test_children_forward_and_signal(void **state)
{
	pid_t worker, helper, late;
	int st;

	(void)state;
	NEED_PIDFD();
	worker = spawn(-1, -1, NULL);
	helper = spawn(-1, -1, NULL);
	late = spawn(-1, -1, NULL);
	accepting[0] = worker;
	assert_int_equal(lc_children_scan(), 3);
	assert_int_equal(lc_children_forward(SIGTERM), 1);
	st = reap(worker);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	assert_int_equal(lc_children_forward(SIGTERM), 0); /* told once */
	/* A worker that began accepting since: told now, and only it. */
	accepting[1] = late;
	assert_int_equal(lc_children_forward(SIGTERM), 1);
	st = reap(late);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	assert_true(scan_until(1) >= 0);
	assert_false(exited_now(helper)); /* never told */
	/* signal(): every child still running, told or not. */
	assert_int_equal(lc_children_signal(0), 1);
	assert_int_equal(lc_children_signal(SIGKILL), 1);
	st = reap(helper);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_true(scan_until(0) >= 0);
	assert_int_equal(lc_children_signal(SIGKILL), 0);
	assert_int_equal(lc_children_ended(), 3);
}

/* kill_held: a process that ends by itself before the time is not killed; one that does not is
 * killed at the time; one that is gone already is reported as kill() would. */
static void test_children_kill_held(void **state)
{
	int64_t t0, took;
	pid_t slow, quick, gone;
	int st;

	(void)state;
	NEED_PIDFD();
	slow = spawn(-1, -1, NULL);
	t0 = now_ms();
	assert_int_equal(lc_children_kill_held(slow, t0 + 150), 0);
	took = now_ms() - t0;
	assert_true(took >= 140 && took < 2000);
	st = reap(slow);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* Ends by itself (its pipe closes) well before the time: no SIGKILL, no long wait. */
	quick = spawn(-1, -1, NULL);
	let_end(quick);
	t0 = now_ms();
	assert_int_equal(lc_children_kill_held(quick, t0 + 3000), 0);
	assert_true(now_ms() - t0 < 2500);
	st = reap(quick);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* The time has passed already: killed at once. */
	slow = spawn(-1, -1, NULL);
	assert_int_equal(lc_children_kill_held(slow, now_ms() - 1), 0);
	st = reap(slow);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(kills, 0); /* each had a pidfd */
	/* No such process (reaped already): no pidfd, so kill()'s answer. */
	gone = slow;
	errno = 0;
	assert_int_equal(lc_children_kill_held(gone, now_ms() + 1000), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(kills, 1);
	assert_int_equal(kill_pid, gone);
}

/* reset() forgets every child and closes their pidfds; the set stays. */
static void test_children_reset(void **state)
{
	int ep, before;

	(void)state;
	NEED_PIDFD();
	spawn(-1, -1, NULL);
	spawn(-1, -1, NULL);
	assert_int_equal(lc_children_scan(), 2);
	ep = lc_children_fd();
	before = privates();
	closes = 0;
	lc_children_reset();
	assert_int_equal(closes, 2);
	assert_int_equal(privates(), before - 2);
	assert_int_equal(lc_children_fd(), ep);
	assert_int_equal(lc_children_ended(), 0);
	assert_int_equal(lc_children_last_end(), 0);
	assert_int_equal(lc_children_signal(0), 0); /* none known */
	assert_int_equal(lc_children_scan(), 2);    /* found again */
}

/* In a fork child the parent's children, pidfds and set are forgotten. */
static void test_children_fork_child(void **state)
{
	int before, ep;

	(void)state;
	NEED_PIDFD();
	spawn(-1, -1, NULL);
	assert_int_equal(lc_children_scan(), 1);
	ep = lc_children_fd();
	assert_true(ep >= 0);
	before = privates();
	closes = 0;
	lc_children_fork_child();
	assert_int_equal(closes, 2); /* the pidfd and the set */
	assert_int_equal(privates(), before - 2);
	assert_int_equal(fcntl(ep, F_GETFD), -1);
	assert_int_equal(lc_children_fd(), -1);
	assert_int_equal(lc_children_ended(), 0);
	assert_int_equal(lc_children_signal(0), 0);
	/* Here the child is still this process's own: found again, in a new set. */
	assert_int_equal(lc_children_scan(), 1);
	assert_true(lc_children_fd() >= 0);
}

/* The program's dup2() takes the number of the set or of a pidfd: both go on working at the
 * new number. */
static void test_children_moved(void **state)
{
	int ep, pidfd = -1, fd, to;
	pid_t a;

	(void)state;
	NEED_PIDFD();
	a = spawn(-1, -1, NULL);
	assert_int_equal(lc_children_scan(), 1);
	ep = lc_children_fd();
	for (fd = 0; fd < TABLE; fd++)
		if (kinds[fd] == LC_FD_PRIVATE && fd != ep)
			pidfd = fd;
	assert_true(pidfd >= 0);
	mover(TABLE - 1, TABLE - 2); /* neither the set nor a pidfd: nothing changes */
	assert_int_equal(lc_children_fd(), ep);
	/* The set. */
	to = dup(ep);
	mover(ep, to);
	assert_int_equal(lc_children_fd(), to);
	close(ep);
	/* A pidfd: re-registered in the set under its new number before the old one goes. */
	fd = dup(pidfd);
	mover(pidfd, fd);
	close(pidfd);
	let_end(a);
	reap(a);
	assert_true(scan_until(0) >= 0);
	assert_int_equal(lc_children_ended(), 1);
	kinds[pidfd] = LC_FD_NONE; /* the fake table does not follow a dup */
	kinds[fd] = LC_FD_PRIVATE;
	kinds[ep] = LC_FD_NONE;
	kinds[to] = LC_FD_PRIVATE;
}

/* Whether kcmp() works here: without it, every fd counts as shared. */
static bool kcmp_works(void)
{
	return syscall(SYS_kcmp, getpid(), getpid(), 0, 0, 0) == 0;
}

/* A child holds an fd at the same number, or as its standard output (a CGI script). */
static void test_children_share(void **state)
{
	int kept[2], out[2], other[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, kept), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, out), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, other), 0);
	assert_false(lc_children_share(kept[0])); /* no child yet */
	spawn(kept[0], out[0], NULL);
	if (!kcmp_works()) {
		assert_true(lc_children_share(other[0])); /* cannot tell: yes */
	} else {
		assert_true(lc_children_share(kept[0]));
		assert_true(lc_children_share(out[0]));	   /* its fd 1 */
		assert_false(lc_children_share(kept[1]));  /* closed in the child */
		assert_false(lc_children_share(other[0])); /* closed in the child too */
	}
	close(kept[0]);
	close(kept[1]);
	close(out[0]);
	close(out[1]);
	close(other[0]);
	close(other[1]);
}

/* Another process runs lastcall if a thread of it has the cleanup thread's name. */
static void test_children_runs_lastcall(void **state)
{
	pid_t plain, idle, draining;

	(void)state;
	plain = spawn(-1, -1, NULL);
	idle = spawn(-1, -1, LC_THREAD_NAME);
	draining = spawn(-1, -1, LC_THREAD_DRAINING);
	assert_false(lc_children_runs_lastcall(plain));
	assert_true(lc_children_runs_lastcall(idle));
	assert_false(lc_children_draining(idle));
	assert_true(lc_children_runs_lastcall(draining));
	assert_true(lc_children_draining(draining));
	assert_false(lc_children_runs_lastcall(getpid()));
	let_end(idle);
	reap(idle);
	assert_false(lc_children_runs_lastcall(idle)); /* gone */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_children_before_setup),
		cmocka_unit_test_setup_teardown(test_children_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_children_scan_finds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_children_scan_threads_not_grandchildren, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_children_ended_reaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_children_zombie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_children_forward_and_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_children_kill_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_children_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_children_fork_child, setup, teardown),
		cmocka_unit_test_setup_teardown(test_children_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_children_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_children_runs_lastcall, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
