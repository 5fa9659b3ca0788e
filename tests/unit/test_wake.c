/* SPDX-License-Identifier: MIT */
/* test_wake: the wake pipe. Made high and close-on-exec; a poke wakes one wait and no more; a
 * flood of pokes never blocks and keeps errno; another fd can wake the wait too; a pipe the
 * program closed behind lastcall's back is reported, and a moved end keeps working. lc_real is
 * the only fake. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/real.h"
#include "lastcall/util.h"
#include "lastcall/wake.h"

/* fakes: lc_real (close is the real one) */
struct lc_real lc_real;

static int rd, wr;

static int setup(void **state)
{
	(void)state;
	lc_real.close = close;
	assert_int_equal(lc_wake_open(100, &rd, &wr), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lc_wake_close(1, 1);
	return 0;
}

/* How long a wait took, in ms, and what it returned (in *r). A wait that was woken returns
 * long before its 10 s timeout; one that was not lasts at least its timeout. */
static int64_t timed_wait(int64_t timeout, const int *also, int n, int *r)
{
	int64_t t0 = lc_now_ms();

	*r = lc_wake_wait(timeout, also, n);
	return lc_now_ms() - t0;
}

static void test_wake_open(void **state)
{
	(void)state;
	assert_true(rd >= 100 && wr >= 100 && rd != wr);
	assert_int_equal(fcntl(rd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(fcntl(wr, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(fcntl(wr, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
}

static void test_wake_poke_wakes_once(void **state)
{
	int r;

	(void)state;
	/* Nothing to wait for: the timeout, not an early return. */
	assert_true(timed_wait(50, 0, 0, &r) >= 49);
	assert_int_equal(r, 0);
	lc_wake_poke();
	lc_wake_poke();
	assert_true(timed_wait(10000, 0, 0, &r) < 9000);
	assert_int_equal(r, 0);
	/* Both pokes were taken by that one wake-up: the next wait sleeps. */
	assert_true(timed_wait(50, 0, 0, &r) >= 49);
}

static void test_wake_flood_never_blocks(void **state)
{
	int i, r;

	(void)state;
	/* Far more than a pipe holds: a full pipe already holds a wake-up. */
	for (i = 0; i < 200000; i++) {
		errno = EINTR;
		lc_wake_poke();
		assert_int_equal(errno, EINTR);
	}
	assert_true(timed_wait(10000, 0, 0, &r) < 9000);
	assert_int_equal(r, 0);
}

static void test_wake_other_fd(void **state)
{
	int p[2], r;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_true(timed_wait(50, &p[0], 1, &r) >= 49);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_true(timed_wait(10000, &p[0], 1, &r) < 9000);
	assert_int_equal(r, 0);
	close(p[0]);
	close(p[1]);
}

static void test_wake_closed_behind_our_back(void **state)
{
	int r;

	(void)state;
	/* The write end only: the read end hangs up. */
	close(wr);
	assert_true(timed_wait(10000, 0, 0, &r) < 9000);
	assert_int_equal(r, LC_WAKE_HALF);
	lc_wake_close(1, 0);
	errno = 0;
	lc_wake_poke(); /* no pipe: nothing happens, errno kept */
	assert_int_equal(errno, 0);
	/* Both ends. */
	assert_int_equal(lc_wake_open(100, &rd, &wr), 0);
	close(rd);
	close(wr);
	assert_true(timed_wait(10000, 0, 0, &r) < 9000);
	assert_int_equal(r, LC_WAKE_GONE);
	lc_wake_close(0, 0);
	assert_int_equal(lc_wake_open(100, &rd, &wr), 0); /* for teardown */
}

static void test_wake_moved(void **state)
{
	int to_rd, to_wr, r;

	(void)state;
	/* The program's dup2() wants both numbers: each end answers at its copy. */
	to_rd = fcntl(rd, F_DUPFD_CLOEXEC, rd + 10);
	to_wr = fcntl(wr, F_DUPFD_CLOEXEC, wr + 10);
	lc_wake_moved(rd, to_rd);
	lc_wake_moved(wr, to_wr);
	lc_wake_moved(7, 8); /* not ours: nothing */
	close(rd);
	close(wr);
	lc_wake_poke();
	assert_true(timed_wait(10000, 0, 0, &r) < 9000);
	assert_int_equal(r, 0);
	assert_true(timed_wait(50, 0, 0, &r) >= 49);
	rd = to_rd;
	wr = to_wr;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wake_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_poke_wakes_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_flood_never_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_other_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_closed_behind_our_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_moved, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
