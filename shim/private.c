/* SPDX-License-Identifier: MIT */
/* private.c: the wake pipe's and the log's fds: placed, marked as lastcall's, renewed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>

#include "lastcall/fds.h"
#include "lastcall/log.h"
#include "lastcall/off.h"
#include "lastcall/private.h"
#include "lastcall/util.h"
#include "lastcall/wake.h"

static int renewed; /* the wake pipe had to be made again: said once */

/* The kernel sizes a process's fd table to its highest fd, so an fd near a soft limit of
 * 1048576 would cost 8 MB of table for one descriptor; and an fd above lastcall's table
 * (LASTCALL_MAX_FDS) the program's close() would take. */
int lc_private_min(void)
{
	struct rlimit rl;
	int top = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 3;
	if (rl.rlim_cur < (rlim_t)top)
		top = (int)rl.rlim_cur;
	if (top > lc_fds_n)
		top = lc_fds_n;
	return top > 128 ? top - 64 : 3;
}

static void log_moved(int from, int to)
{
	(void)from;
	lc_log_reset(to);
}

static int make_wake(void)
{
	int rd, wr;

	lc_own_min = lc_private_min(); /* the fds lastcall makes later go there too */
	if (lc_wake_open(lc_own_min, &rd, &wr) < 0)
		return -1;
	lc_fds_private(rd, lc_wake_moved);
	lc_fds_private(wr, lc_wake_moved);
	return 0;
}

static void open_log(void)
{
	if (lc_log_open(lc_private_min()) >= 0)
		lc_fds_private(lc_log_fd(), log_moved);
}

int lc_private_open(void)
{
	int rd, wr;

	lc_wake_fds(&rd, &wr);
	if (rd >= 0)
		return 0;
	if (make_wake() < 0)
		return -1;
	open_log();
	return 1;
}

void lc_private_renew(int how)
{
	int old_rd, old_wr, err;

	lc_wake_fds(&old_rd, &old_wr);
	lc_fds_release(old_rd);
	lc_fds_release(old_wr);
	/* The numbers the program closed are the program's now: only ours are closed. */
	lc_wake_close(how == LC_WAKE_HALF, 0);
	if (fcntl(lc_log_fd(), F_GETFD) < 0 && errno == EBADF) {
		lc_fds_release(lc_log_fd());
		lc_log_reset(2);
		open_log();
	}
	if (make_wake() < 0) {
		err = errno;
		lc_turn_off("the program closed the wake pipe, and a new one cannot be made", err);
		return;
	}
	if (!renewed++)
		lc_log(LC_WARN, "the program closed lastcall's wake pipe (fds %d, %d) without "
				"close(): made a new one", old_rd, old_wr);
}

void lc_private_fork_child(void)
{
	int rd, wr;

	lc_wake_fds(&rd, &wr);
	if (rd < 0)
		return;
	lc_fds_release(rd);
	lc_fds_release(wr);
	lc_wake_close(1, 1);
}
