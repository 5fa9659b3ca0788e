/* SPDX-License-Identifier: MIT */
/* util.c: the monotonic clock and the /proc directory walk every module shares. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lastcall/real.h"
#include "lastcall/util.h"

int64_t lc_now_us(void) /* AS-safe */
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int lc_dir_open(struct lc_dir *d, const char *path)
{
	d->n = d->off = 0;
	d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
