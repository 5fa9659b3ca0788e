/* SPDX-License-Identifier: MIT */
/* test_fds: the fd table, the connection counters a drain waits on, and the close paths that
 * must never take lastcall's own fds. lc_real and the neighbouring modules are fakes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/config.h"
#include "lastcall/fds.h"
#include "lastcall/log.h"
#include "lastcall/real.h"
#include "lastcall/state.h"
#include "lastcall/wake.h"

/* Fakes for what fds.c calls outside itself. */
struct lc_real lc_real;
pid_t lc_pid = 1000;
int lc_draining;
int lc_armed;
int lc_off;

static int pokes;
static int closed_listener = -1;
static int moved_from = -1, moved_to = -1;
static int adopted = -1;

void lc_wake_poke(void)
{
	pokes++;
}

/* The owners of the kinds, as linger.c and intake.c register them. */
static void listener_closed(int fd, uint16_t li)
{
	(void)li;
	closed_listener = fd;
}

static void conn_closing(int fd)
{
	if (lc_draining)
		adopted = fd;
}

static const struct lc_fd_owner listener_owner = { .closed = listener_closed };
static const struct lc_fd_owner conn_owner = { .closing = conn_closing };

static void private_moved(int from, int to)
{
	moved_from = from;
	moved_to = to;
}

static int fake_close(int fd)
{
	check_expected(fd);
	return (int)mock();
}

static int spans[8][2], nspans;

static int fake_close_range(unsigned first, unsigned last, int flags)
{
	(void)flags;
	spans[nspans][0] = (int)first;
	spans[nspans][1] = (int)last;
	nspans++;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	lc_config.max_fds = 1024;
	if (!lc_fds)
		assert_int_equal(lc_fds_setup(), 0);
	memset(lc_fds, 0, (size_t)lc_fds_n * sizeof(*lc_fds));
	lc_fds_hi = 0;
	lc_draining = pokes = nspans = 0;
	lc_pid = 1000;
	closed_listener = moved_from = moved_to = adopted = -1;
	lc_fds_own(LC_FD_CONN, &conn_owner);
	lc_fds_own(LC_FD_LISTEN, &listener_owner);
	lc_real.close = fake_close;
	lc_real.close_range = fake_close_range;
	return 0;
}

static void test_fds_table_size(void **state)
{
	struct rlimit rl;

	(void)state;
	getrlimit(RLIMIT_NOFILE, &rl);
	/* The hard limit, capped by LASTCALL_MAX_FDS. */
	assert_int_equal(lc_fds_n, rl.rlim_max < 1024 ? (int)rl.rlim_max : 1024);
	assert_int_equal(sizeof(struct lc_fd), 8);
	assert_null(lc_fd_get(-1));
	assert_null(lc_fd_get(lc_fds_n));
	assert_non_null(lc_fd_get(lc_fds_n - 1));
}

/* A connection this process started with (inetd style, or across exec) is a connection a drain
 * waits for, but not one of this process's own: an exit() does not wait for it. */
static void test_fds_counts_own_and_inherited(void **state)
{
	(void)state;
	lc_fds_add_conn(5);
	lc_fds_add_inherited(9);
	assert_int_equal(lc_fds[9].kind, LC_FD_CONN);
	assert_int_equal(lc_fds[9].owner, 0);
	assert_int_equal(lc_fds[5].owner, 1000);
	assert_int_equal(lc_fds_hi, 10);
	assert_int_equal(lc_fds_count(false), 2);
	assert_int_equal(lc_fds_count(true), 1);
	/* Above every fd seen so far: the scans must reach it. */
	lc_fds_add_inherited(40);
	assert_int_equal(lc_fds_hi, 41);
	assert_int_equal(lc_fds_count(false), 3);
	assert_int_equal(lc_fds_count(true), 1);
	/* Outside the table: not tracked, nothing written. */
	lc_fds_add_inherited(lc_fds_n);
	lc_fds_add_inherited(-1);
	assert_int_equal(lc_fds_hi, 41);
	assert_int_equal(lc_fds_count(false), 3);
	assert_int_equal(lc_fds_forget(9), LC_FD_CONN);
	assert_int_equal(lc_fds_count(false), 2);
	assert_int_equal(lc_fds_count(true), 1);
}

/* In a fork child the same entries are no longer its own: each names the pid that accepted. */
static void test_fds_fork_child_owns_none(void **state)
{
	(void)state;
	lc_fds_add_conn(5);
	lc_fds_add_conn(9);
	assert_int_equal(lc_fds_count(true), 2);
	lc_pid = 2000;
	assert_int_equal(lc_fds_count(true), 0);
	assert_int_equal(lc_fds_count(false), 2);
	lc_fds_add_conn(12);
	assert_int_equal(lc_fds_count(true), 1);
	assert_int_equal(lc_fds_forget(5), LC_FD_CONN);
	assert_int_equal(lc_fds_count(false), 2);
	assert_int_equal(lc_fds_count(true), 1); /* 5 was the parent's */
	assert_int_equal(lc_fds_forget(12), LC_FD_CONN);
	assert_int_equal(lc_fds_count(true), 0);
	assert_int_equal(lc_fds_forget(12), LC_FD_NONE); /* twice: counted once */
	assert_int_equal(lc_fds_count(false), 1);
}

static void test_fds_close_during_a_drain_pokes(void **state)
{
	(void)state;
	lc_fds_add_conn(3);
	lc_fds_add_conn(4);
	lc_fds_forget(3); /* not draining: no wake-up */
	assert_int_equal(pokes, 0);
	lc_fds_add_conn(3);
	lc_draining = 1;
	lc_fds_forget(3); /* each close wakes the cleanup thread, which counts what is left */
	assert_int_equal(pokes, 1);
	assert_int_equal(lc_fds_count(false), 1);
	lc_fds_forget(4);
	assert_int_equal(pokes, 2);
	assert_int_equal(lc_fds_count(false), 0);
	lc_fds_forget(4); /* already forgotten: no wake-up */
	assert_int_equal(pokes, 2);
}

static void test_fds_close_passes_through(void **state)
{
	(void)state;
	lc_fds_add_conn(7);
	expect_value(fake_close, fd, 7);
	will_return(fake_close, 0);
	assert_int_equal(lc_fds_close(7), 0);
	assert_int_equal(lc_fds_count(false), 0);
	/* An unknown fd: the real close's result and errno, untouched. */
	expect_value(fake_close, fd, 8);
	will_return(fake_close, -1);
	errno = EBADF;
	assert_int_equal(lc_fds_close(8), -1);
	assert_int_equal(errno, EBADF);
}

static void test_fds_close_during_drain_lingers(void **state)
{
	(void)state;
	lc_fds_add_conn(7);
	lc_fds_add_conn(8);
	expect_value(fake_close, fd, 7);
	will_return(fake_close, 0);
	lc_fds_close(7); /* not draining: a plain close */
	assert_int_equal(adopted, -1);
	lc_draining = 1;
	expect_value(fake_close, fd, 8);
	will_return(fake_close, 0);
	lc_fds_close(8);
	assert_int_equal(adopted, 8); /* kept by lastcall before the real close */
	lc_fds_set(9, LC_FD_LINGER, 0);
	assert_int_equal(lc_fds_close(9), -1); /* a lingering copy is lastcall's, not the program's */
}

static void test_fds_private_fds_survive_close(void **state)
{
	(void)state;
	lc_fds_set(30, LC_FD_PRIVATE, 0);
	errno = 0;
	/* fake_close expects nothing: a call would fail the test. */
	assert_int_equal(lc_fds_close(30), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(lc_fds[30].kind, LC_FD_PRIVATE);
	lc_fds_set(31, LC_FD_STASHED, 0);
	assert_int_equal(lc_fds_close(31), -1);
	assert_int_equal(lc_fds[31].kind, LC_FD_STASHED);
}

static void test_fds_listener_close_is_reported(void **state)
{
	(void)state;
	lc_fds_set(6, LC_FD_LISTEN, 3);
	expect_value(fake_close, fd, 6);
	will_return(fake_close, 0);
	lc_fds_close(6);
	assert_int_equal(closed_listener, 6);
	assert_int_equal(lc_fds[6].kind, LC_FD_NONE);
}

static void test_fds_close_range_skips_private(void **state)
{
	(void)state;
	lc_fds_add_conn(4);
	lc_fds_set(10, LC_FD_PRIVATE, 0);
	lc_fds_set(20, LC_FD_PRIVATE, 0);
	lc_fds_add_conn(15);
	assert_int_equal(lc_fds_close_range(3, ~0U, 0), 0);
	assert_int_equal(nspans, 3);
	assert_int_equal(spans[0][0], 3);
	assert_int_equal(spans[0][1], 9);
	assert_int_equal(spans[1][0], 11);
	assert_int_equal(spans[1][1], 19);
	assert_int_equal(spans[2][0], 21);
	assert_true(spans[2][1] == (int)~0U);
	assert_int_equal(lc_fds_count(false), 0);
	assert_int_equal(lc_fds[10].kind, LC_FD_PRIVATE);
	/* CLOSE_RANGE_CLOEXEC closes nothing: one call, nothing forgotten. */
	nspans = 0;
	lc_fds_add_conn(4);
	assert_int_equal(lc_fds_close_range(0, 100, CLOSE_RANGE_CLOEXEC), 0);
	assert_int_equal(nspans, 1);
	assert_int_equal(lc_fds_count(false), 1);
}

static void test_fds_dup2_moves_private(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	lc_real.dup2 = dup2;
	lc_fds_private(p[1], private_moved);
	assert_int_equal(lc_fds_dup(p[0], p[1], 0, LC_DUP2), p[1]);
	/* Moved above its old number and still private; the owner was told where. */
	assert_int_equal(moved_from, p[1]);
	assert_true(moved_to > p[1]);
	assert_int_equal(lc_fds[moved_to].kind, LC_FD_PRIVATE);
	assert_int_equal(lc_fds[p[1]].kind, LC_FD_NONE);
	close(moved_to);
	lc_fds_add_conn(p[1]);
	assert_int_equal(lc_fds_dup(p[0], p[1], 0, LC_DUP2), p[1]);
	assert_int_equal(lc_fds_count(false), 0); /* replaced by dup2: forgotten */
	close(p[0]);
	close(p[1]);
}

/* dup2() of a connection makes a connection: both flagged copied, and each knows the other is
 * open, until one of them is closed (kcmp on the real fds). A dup2 of anything else marks
 * nothing. */
static void test_fds_dup2_copies_conn(void **state)
{
	int s[2], copy;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	copy = s[1] + 5;
	lc_real.dup2 = dup2;
	lc_fds_add_conn(s[0]);
	assert_int_equal(lc_fds_dup(s[0], copy, 0, LC_DUP2), copy);
	assert_int_equal(lc_fds[copy].kind, LC_FD_CONN);
	assert_int_equal(lc_fds[copy].owner, lc_pid);
	assert_true(lc_fds[copy].flags & LC_FDF_COPIED);
	assert_true(lc_fds[s[0]].flags & LC_FDF_COPIED);
	assert_int_equal(lc_fds_count(false), 2);
	assert_true(lc_fds_copy_open(s[0]));
	assert_true(lc_fds_copy_open(copy));
	close(copy);
	lc_fds_forget(copy);
	assert_false(lc_fds_copy_open(s[0]));
	/* Not a connection: no entry made. */
	assert_int_equal(lc_fds_dup(s[1], copy, 0, LC_DUP2), copy);
	assert_int_equal(lc_fds[copy].kind, LC_FD_NONE);
	close(copy);
	close(s[0]);
	close(s[1]);
}

static void test_fds_beyond_table_untracked(void **state)
{
	(void)state;
	lc_fds_add_conn(lc_fds_n + 5);
	lc_fds_add_conn(-1);
	assert_int_equal(lc_fds_hi, 0); /* a scan never reaches past the table */
	assert_int_equal(lc_fds_count(false), 0);
	assert_int_equal(lc_fds_forget(lc_fds_n + 5), LC_FD_NONE);
}

static void count_fd(int fd, void *arg)
{
	(void)fd;
	(*(int *)arg)++;
}

static void test_fds_each_visits_one_kind(void **state)
{
	int n = 0;

	(void)state;
	lc_fds_add_conn(3);
	lc_fds_set(4, LC_FD_EPOLL, 0);
	lc_fds_add_conn(8);
	lc_fds_each(LC_FD_CONN, count_fd, &n);
	assert_int_equal(n, 2);
	n = 0;
	lc_fds_each(LC_FD_EPOLL, count_fd, &n);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fds_table_size, setup),
		cmocka_unit_test_setup(test_fds_counts_own_and_inherited, setup),
		cmocka_unit_test_setup(test_fds_fork_child_owns_none, setup),
		cmocka_unit_test_setup(test_fds_close_during_a_drain_pokes, setup),
		cmocka_unit_test_setup(test_fds_close_passes_through, setup),
		cmocka_unit_test_setup(test_fds_close_during_drain_lingers, setup),
		cmocka_unit_test_setup(test_fds_private_fds_survive_close, setup),
		cmocka_unit_test_setup(test_fds_listener_close_is_reported, setup),
		cmocka_unit_test_setup(test_fds_close_range_skips_private, setup),
		cmocka_unit_test_setup(test_fds_dup2_moves_private, setup),
		cmocka_unit_test_setup(test_fds_dup2_copies_conn, setup),
		cmocka_unit_test_setup(test_fds_beyond_table_untracked, setup),
		cmocka_unit_test_setup(test_fds_each_visits_one_kind, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
