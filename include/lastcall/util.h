/* SPDX-License-Identifier: MIT */
/* util.h: the monotonic clock, walking a directory of /proc without allocating (a hook's path
 * may not call malloc), and keeping the fds lastcall makes off the numbers the program uses. */
#ifndef LASTCALL_UTIL_H
#define LASTCALL_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* CLOCK_MONOTONIC in µs and in ms. Any context, AS-safe. */
int64_t lc_now_us(void);

/* Any context, AS-safe. */
static inline int64_t lc_now_ms(void)
{
	return lc_now_us() / 1000;
}

/* A directory being read: lc_dir_open(), then lc_dir_next() until it returns 0 (which closes
 * it), or lc_dir_close() to stop early. One entry at a time from a buffer of its own; the
 * caller's stack holds it. Any thread. */
struct lc_dir {
	int fd; /* the directory's fd while open, else -1 */
	ssize_t n, off;
	char buf[1024];
};

/* The fds lastcall makes for itself (a /proc file, a netlink or token socket, a pidfd) are
 * kept off the numbers the program uses. The kernel gives the lowest free number, so one made
 * while the program has just closed a number it is about to reuse with dup2() (a shell's
 * "cmd >file": close(1), then dup2(f, 1)) would take it: the program's dup2() would replace ours
 * unseen, and our close() would then close the program's file. So each is made with a lock
 * held and moved to lc_own_min or above before it is let go, and the program's dup2() and
 * dup3() take the same lock (fds.c). docs/security.md, "lastcall's own file descriptors". */
extern int lc_own_min; /* where they go: lc_private_min() once armed, 3 before */

/* The lock: a thread that holds it (a signal handler having interrupted it there) goes on
 * under that hold, and lc_own_lock() says so by returning false. Neither side is a
 * cancellation point, nor blocks a signal: the dup2() hook costs two atomic operations. Any
 * context, AS-safe. */
bool lc_own_lock(void);
void lc_own_unlock(bool took);

/* Waits until no other thread holds the lock. The program's close() of an fd whose entry it
 * has just forgotten calls it before the real close: what the cleanup thread does to a
 * connection by its number (drain.c, linger.c) is done under the lock after checking the
 * entry, so it ends before the number can become another file's. Any context, AS-safe. */
void lc_own_sync(void);

/* fd moved to min or above (the lock held), or fd itself if it is there already or cannot be
 * moved. Any context, AS-safe. */
int lc_own_move(int fd, int min);

/* Moves fd (just made, the lock held) to lc_own_min or above, lets the lock go (took: what
 * lc_own_lock() returned), and returns the fd's number; a failed call's -1 and its errno are
 * passed on. Any context, AS-safe. */
int lc_own_fd(int fd, bool took);

/* fd = LC_OWN(call): an fd lastcall makes for itself, out of the program's way. call must
 * not be a cancellation point (the lock would stay held): for a file, lc_open(). */
#define LC_OWN(call)                                  \
	({                                            \
		bool lc_took_ = lc_own_lock();        \
		lc_own_fd((call), lc_took_);          \
	})

/* open(path, flags) for lastcall's own use: LC_OWN, without open()'s cancellation point. Any
 * context, AS-safe. */
int lc_open(const char *path, int flags);

/* In a fork child: a lock another thread of the parent held is free. */
void lc_own_fork_child(void);

/* Whether fd of this process and fd other of process pid are the same open file (kcmp); true
 * when that cannot be told (kcmp refused), false when other is not open or pid is gone. Any
 * context, AS-safe. */
bool lc_same_file(int fd, pid_t pid, int other);

/* Opens path; returns 0, or -1 with errno. Any context, AS-safe. */
int lc_dir_open(struct lc_dir *d, const char *path);

/* The next entry's name ("." and ".." skipped), and its d_type in *type if type is not 0; 0
 * at the end (the directory is then closed). Any context, AS-safe. */
const char *lc_dir_next(struct lc_dir *d, unsigned char *type);

/* Any context, AS-safe. */
void lc_dir_close(struct lc_dir *d);

#pragma GCC visibility pop

#endif
