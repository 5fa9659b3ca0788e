/* SPDX-License-Identifier: MIT */
/* faultserver [--close METHOD] [--take HOW] [options]: a thread-per-connection server
 * (examples/http.c) that accepts with accept4() (a failure, such as EMFILE with no fd left, is
 * reported once and retried every 10 ms), with two things programs do that get in an
 * interposer's way:
 *   --close METHOD  closes every fd from 3 up at start-up, and again right after it listens
 *                   (all but its listener, so lastcall's own fds too), by METHOD: loop (close()
 *                   on each fd up to the soft fd limit), close_range, closefrom, syscall
 *                   (close_range through libc's syscall()) or raw (the close_range system
 *                   call made without libc, as Go makes its calls: no hook sees it; x86-64
 *                   only). A close_range()
 *                   that fails with ENOSYS (an old libc or kernel) is followed by the loop, as
 *                   such programs do. Each sweep prints "sweep WHEN by METHOD: N of M open fds
 *                   closed, result R ERRNO";
 *   --take HOW      every signal is blocked in every thread; a thread of its own takes SIGTERM
 *                   with signalfd (HOW signalfd) or sigwaitinfo (HOW sigwait), prints "SIGTERM
 *                   from PID by HOW" and calls exit(0) while connections may still be served.
 *                   Without it, SIGTERM has its default action.
 * followed by the usual --port, --port-file... options. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "http.h"

static const char *take;

/* The inode of each fd from 3 up to limit, but keep (0: not open). fstat opens nothing (unlike
 * a look at /proc/self/fd). An fd is closed by a sweep if its inode changed: something may
 * have opened a new one at the same number since (lastcall, remaking its own). */
static void inodes(ino_t *ino, int limit, int keep)
{
	struct stat st;
	int fd;

	for (fd = 3; fd < limit; fd++)
		ino[fd] = fd != keep && fstat(fd, &st) == 0 ? st.st_ino : 0;
}

/* close() on every fd from 3 up to the soft limit, but keep. */
static void close_loop(int limit, int keep)
{
	int fd;

	for (fd = 3; fd < limit; fd++)
		if (fd != keep)
			close(fd);
}

/* glibc's since 2.34; musl has neither (close_range then fails with ENOSYS, as in an old libc,
 * and closefrom with a message), nor strerrorname_np. */
int close_range(unsigned first, unsigned last, int flags) __attribute__((weak));
void closefrom(int lowfd) __attribute__((weak));
const char *strerrorname_np(int err) __attribute__((weak));

/* The name of err (ENOSYS), or "errno N" without strerrorname_np. */
static const char *errno_name(int err)
{
	static char num[24];

	if (strerrorname_np)
		return strerrorname_np(err);
	snprintf(num, sizeof(num), "errno %d", err);
	return num;
}

/* close_range(first, ~0U, 0) by the system call instruction itself. */
static int raw_close_range(unsigned first)
{
#ifdef __x86_64__
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"((long)SYS_close_range), "D"((long)first), "S"((long)~0U), "d"(0L)
			 : "rcx", "r11", "memory");
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return (int)r;
#else
	(void)first;
	fprintf(stderr, "faultserver: --close raw is for x86-64 only\n");
	exit(2);
#endif
}

/* Closes [first, ~0U] by method (not loop); returns what the call returned. */
static int close_above(const char *method, unsigned first)
{
	if (strcmp(method, "close_range") == 0) {
		if (!close_range) {
			errno = ENOSYS;
			return -1;
		}
		return close_range(first, ~0U, 0);
	}
	if (strcmp(method, "syscall") == 0)
		return (int)syscall(SYS_close_range, first, ~0U, 0);
	if (strcmp(method, "raw") == 0)
		return raw_close_range(first);
	if (!closefrom) {
		fprintf(stderr, "faultserver: this libc has no closefrom()\n");
		exit(2);
	}
	closefrom((int)first);
	return 0;
}

/* Closes every fd from 3 up but keep (-1: none), which is the lowest (the first fd opened after
 * the sweep at start-up). */
static void sweep(const char *when, const char *method, int keep)
{
	struct rlimit rl;
	int limit, fd, before = 0, closed = 0, r = 0, err;
	ino_t *was, *now;

	getrlimit(RLIMIT_NOFILE, &rl);
	limit = (int)rl.rlim_cur;
	if (!(was = calloc((size_t)limit, sizeof(*was))) ||
	    !(now = calloc((size_t)limit, sizeof(*now))))
		exit(1);
	inodes(was, limit, keep);
	if (strcmp(method, "loop") == 0)
		close_loop(limit, keep);
	else
		r = close_above(method, keep < 0 ? 3 : (unsigned)keep + 1);
	err = r < 0 ? errno : 0;
	if (r < 0 && err == ENOSYS)
		close_loop(limit, keep);
	inodes(now, limit, keep);
	for (fd = 3; fd < limit; fd++) {
		before += was[fd] != 0;
		closed += was[fd] != 0 && now[fd] != was[fd];
	}
	printf("sweep %s by %s: %d of %d open fds closed, result %d %s\n", when, method, closed,
	       before, r, err ? errno_name(err) : "-");
	fflush(stdout);
	free(was);
	free(now);
}

/* Takes SIGTERM (blocked everywhere) by signalfd or sigwaitinfo, then exits at once. */
static void *taker(void *arg)
{
	struct signalfd_siginfo si;
	siginfo_t info;
	sigset_t term;
	int fd, pid = -1;

	(void)arg;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	if (strcmp(take, "signalfd") == 0) {
		if ((fd = signalfd(-1, &term, SFD_CLOEXEC)) >= 0 &&
		    read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			pid = (int)si.ssi_pid;
	} else {
		while (sigwaitinfo(&term, &info) < 0 && errno == EINTR)
			;
		pid = info.si_pid;
	}
	printf("SIGTERM from %d by %s\n", pid, take);
	fflush(stdout);
	exit(0);
}

int main(int argc, char **argv)
{
	const char *method = 0;
	struct options o;
	sigset_t all;
	pthread_t t;
	int lfd, fd, failed = 0;

	while (argc > 2 && strncmp(argv[1], "--", 2) == 0) {
		if (strcmp(argv[1], "--close") == 0)
			method = argv[2];
		else if (strcmp(argv[1], "--take") == 0)
			take = argv[2];
		else
			break;
		argv += 2, argc -= 2;
	}
	if (method)
		sweep("at start-up", method, -1);
	if (take) {
		sigfillset(&all);
		/* Every thread made from here on inherits the mask. */
		pthread_sigmask(SIG_BLOCK, &all, NULL);
	}
	http_options(argc, argv, &o);
	lfd = http_listen(&o);
	if (method)
		sweep("after listen", method, lfd);
	if (take && pthread_create(&t, NULL, taker, NULL) != 0)
		return 1;
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			/* Out of fds (EMFILE at once, queue or not): pause, as servers do. */
			if (!failed++)
				perror("accept4");
			poll(NULL, 0, 10);
			continue;
		}
		if (http_serve_thread(fd) < 0)
			continue;
	}
}
