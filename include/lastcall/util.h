/* SPDX-License-Identifier: MIT */
/* util.h: the monotonic clock, and walking a directory of /proc without allocating (a hook's
 * path may not call malloc). */
#ifndef LASTCALL_UTIL_H
#define LASTCALL_UTIL_H

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

/* Opens path; returns 0, or -1 with errno. Any context, AS-safe. */
int lc_dir_open(struct lc_dir *d, const char *path);

/* The next entry's name ("." and ".." skipped), and its d_type in *type if type is not 0; 0
 * at the end (the directory is then closed). Any context, AS-safe. */
const char *lc_dir_next(struct lc_dir *d, unsigned char *type);

/* Any context, AS-safe. */
void lc_dir_close(struct lc_dir *d);

#pragma GCC visibility pop

#endif
