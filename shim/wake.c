/* SPDX-License-Identifier: MIT */
/* wake.c: the wake pipe's two ends, poking it and waiting on it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/real.h"
#include "lastcall/util.h"
#include "lastcall/wake.h"

static int wake_rd = -1, wake_wr = -1;

LC_EARLY void lc_wake_poke(void) /* AS-safe */
{
	int fd = lc_acquire(&wake_wr), saved = errno;
	char c = 0;

	if (fd >= 0 && write(fd, &c, 1) < 0)
		errno = saved; /* a full pipe already holds a wake-up */
	errno = saved;
}

int lc_wake_open(int min, int *rd, int *wr)
{
	bool took = lc_own_lock(); /* made out of the program's way, as LC_OWN does (util.h) */
	int p[2];

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
		lc_own_unlock(took);
		return -1;
	}
	*rd = lc_own_move(p[0], min);
	lc_release(&wake_rd, *rd);
	*wr = lc_own_move(p[1], min);
	lc_release(&wake_wr, *wr);
	lc_own_unlock(took);
	return 0;
}

void lc_wake_close(int rd_open, int wr_open)
{
	int rd = lc_acquire(&wake_rd), wr = lc_acquire(&wake_wr);

	if (rd_open && rd >= 0)
		lc_real.close(rd);
	if (wr_open && wr >= 0)
		lc_real.close(wr);
	lc_release(&wake_rd, -1);
	lc_release(&wake_wr, -1);
}

void lc_wake_fds(int *rd, int *wr)
{
	*rd = lc_acquire(&wake_rd);
	*wr = lc_acquire(&wake_wr);
}

void lc_wake_moved(int from, int to)
{
	if (from == lc_load(&wake_rd))
		lc_release(&wake_rd, to);
	else if (from == lc_load(&wake_wr))
		lc_release(&wake_wr, to);
}

int lc_wake_wait(int64_t timeout, const int *also, int n)
{
	struct pollfd p[4] = { { .fd = lc_acquire(&wake_rd), .events = POLLIN } };
	char buf[64];
	int i;

	for (i = 0; i < n && i < 3; i++)
		p[i + 1] = (struct pollfd){ .fd = also[i], .events = POLLIN };
	if (timeout > INT32_MAX)
		timeout = INT32_MAX;
	if (poll(p, (nfds_t)i + 1, (int)timeout) <= 0 || !p[0].revents)
		return 0;
	/* Closed by the program (no hook saw it): poll() would report it at once, forever. */
	if (p[0].revents & POLLNVAL)
		return LC_WAKE_GONE;
	if (p[0].revents & POLLHUP)
		return LC_WAKE_HALF;
	while (read(p[0].fd, buf, sizeof(buf)) > 0)
		;
	return 0;
}
