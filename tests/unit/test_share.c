/* SPDX-License-Identifier: MIT */
/* test_share: the acceptor count page, across a real fork. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/real.h"
#include "lastcall/share.h"

struct lc_real lc_real;

static void test_share_counts_across_fork(void **state)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), other = socket(AF_INET, SOCK_STREAM, 0);
	int slot, st, ready[2], go[2];
	char c;
	pid_t pid;

	(void)state;
	lc_real.close = close;
	assert_int_equal(lc_share_setup(), 0);
	assert_int_equal(lc_share_setup(), 0); /* once */
	slot = lc_share_join(fd);
	assert_true(slot >= 0);
	assert_true(lc_share_join(other) != slot);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	if ((pid = fork()) == 0) {
		/* A worker: joins on its first accept, leaves when it stops. */
		int mine = lc_share_join(fd);

		if (write(ready[1], "j", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(mine == slot && lc_share_leave(mine) == 0 ? 0 : 1);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	/* Two acceptors now: leaving first is not being the last. */
	assert_int_equal(lc_share_leave(slot), 1);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* the child was the last */
	close(fd);
	close(other);
}

static void test_share_reset_and_unknown(void **state)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), slot;

	(void)state;
	slot = lc_share_join(fd);
	lc_share_join(fd);
	lc_share_reset(fd); /* a new socket on an old inode: stale counts are dropped */
	assert_int_equal(lc_share_join(fd), slot);
	assert_int_equal(lc_share_leave(slot), 0);
	assert_int_equal(lc_share_join(-1), -1);
	assert_int_equal(lc_share_leave(-1), 1); /* unknown: never "the last" */
	close(fd);
}

static void test_share_accepting_processes(void **state)
{
	int st, ready[2], go[2];
	char c;
	pid_t pid;

	(void)state;
	lc_real.close = close;
	assert_int_equal(lc_share_setup(), 0);
	assert_false(lc_share_accepts(getpid()));
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	if ((pid = fork()) == 0) {
		lc_share_accepting(1);
		if (write(ready[1], "a", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		lc_share_accepting(0);
		if (write(ready[1], "s", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_true(lc_share_accepts(pid)); /* a worker: the parent sees it */
	assert_false(lc_share_accepts(getpid()));
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_false(lc_share_accepts(pid)); /* stopped accepting */
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_false(lc_share_accepts(pid)); /* gone */
}

/* A process killed while listed never leaves: its slot is taken again, so the list does not
 * fill up over a long life of worker restarts. */
static void test_share_slots_of_the_dead_reused(void **state)
{
	int st, i;
	pid_t pid;

	(void)state;
	lc_real.close = close;
	assert_int_equal(lc_share_setup(), 0);
	/* More workers ending without leaving the list than it has slots. */
	for (i = 0; i < 200; i++) {
		if ((pid = fork()) == 0) {
			lc_share_accepting(1);
			_exit(lc_share_accepts(getpid()) ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	/* And one still alive is listed. */
	assert_false(lc_share_accepts(getpid()));
	lc_share_accepting(1);
	assert_true(lc_share_accepts(getpid()));
	lc_share_accepting(0);
	assert_false(lc_share_accepts(getpid()));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share_counts_across_fork),
		cmocka_unit_test(test_share_reset_and_unknown),
		cmocka_unit_test(test_share_accepting_processes),
		cmocka_unit_test(test_share_slots_of_the_dead_reused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
