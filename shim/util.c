/* SPDX-License-Identifier: MIT */
/* util.c: the monotonic clock, the /proc directory walk every module shares, and the lock that
 * keeps lastcall's own fds off the program's numbers. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lastcall/sys.h"
#include "lastcall/atomic.h"
#include "lastcall/real.h"
#include "lastcall/util.h"

int lc_own_min = 3;
static uintptr_t own_holder; /* the thread that holds the lock (pthread_self()), or 0 */

bool lc_own_lock(void)
{
	uintptr_t me = (uintptr_t)pthread_self(), held;

	while ((held = lc_cas_val(&own_holder, 0, me)) != 0) {
		if (held == me)
			return false;
		sched_yield();
	}
	return true;
}

void lc_own_unlock(bool took)
{
	if (took)
		lc_release(&own_holder, 0);
}

void lc_own_sync(void)
{
	lc_own_unlock(lc_own_lock());
}

int lc_own_move(int fd, int min)
{
	int high;

	if (fd < 0 || fd >= min || (high = fcntl(fd, F_DUPFD_CLOEXEC, min)) < 0)
		return fd;
	lc_real.close(fd);
	return high;
}

int lc_own_fd(int fd, bool took)
{
	int err = errno;

	fd = lc_own_move(fd, lc_own_min);
	lc_own_unlock(took);
	errno = err;
	return fd;
}

int lc_open(const char *path, int flags)
{
	return LC_OWN((int)lc_syscall(SYS_openat, AT_FDCWD, path, flags, 0));
}

#ifndef SYS_kcmp
#define SYS_kcmp 312
#endif
#define KCMP_FILE 0

bool lc_same_file(int fd, pid_t pid, int other)
{
	long r = lc_syscall(SYS_kcmp, getpid(), pid, KCMP_FILE, fd, other);

	return r == 0 || (r < 0 && errno != EBADF && errno != ESRCH);
}

void lc_own_fork_child(void)
{
	own_holder = 0;
}

int64_t lc_now_us(void) /* AS-safe */
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int lc_dir_open(struct lc_dir *d, const char *path)
{
	d->n = d->off = 0;
	d->fd = lc_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return d->fd < 0 ? -1 : 0;
}

const char *lc_dir_next(struct lc_dir *d, unsigned char *type)
{
	struct dirent64 *e;

	for (;;) {
		if (d->off >= d->n) {
			/* getdents64 rather than readdir: readdir allocates. */
			if (d->fd < 0 || (d->n = getdents64(d->fd, (void *)d->buf, sizeof(d->buf))) <= 0) {
				lc_dir_close(d);
				return 0;
			}
			d->off = 0;
		}
		e = (struct dirent64 *)(d->buf + d->off);
		d->off += e->d_reclen;
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			if (type)
				*type = e->d_type;
			return e->d_name;
		}
	}
}

void lc_dir_close(struct lc_dir *d)
{
	if (d->fd >= 0)
		lc_real.close(d->fd);
	d->fd = -1;
	d->n = d->off = 0;
}
