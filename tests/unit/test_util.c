/* SPDX-License-Identifier: MIT */
/* test_util: the monotonic clock; the /proc-style directory walk on a directory the test
 * fills: every entry once, "." and ".." never, types as the kernel reports them, an early stop,
 * a missing directory, and no fd left open; lastcall's own fds made at lc_own_min or above,
 * the low number they first took left free, a failed call's errno kept. lc_real is the only
 * fake. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/real.h"
#include "lastcall/util.h"

/* fakes: lc_real, whose close counts the calls */
struct lc_real lc_real;
static int closes;

static int counting_close(int fd)
{
	closes++;
	return close(fd);
}

static char dir[64];

static int setup(void **state)
{
	(void)state;
	lc_real.close = counting_close;
	closes = 0;
	snprintf(dir, sizeof(dir), "/tmp/test_util.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* The lowest fd free now: an fd the walk left open would take it. */
static int lowest_free(void)
{
	int fd = open("/dev/null", O_RDONLY), r = fd;

	close(fd);
	return r;
}

static void test_util_clock(void **state)
{
	struct timespec ts, ms = { 0, 5 * 1000 * 1000 };
	int64_t a, b;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	a = lc_now_us();
	assert_true(a >= (int64_t)ts.tv_sec * 1000000);
	nanosleep(&ms, 0);
	b = lc_now_us();
	assert_true(b - a >= 5000);
	assert_true(lc_now_ms() >= b / 1000);
	assert_true(lc_now_ms() - b / 1000 < 60 * 1000); /* the same clock, in ms */
}

/* 200 entries with long names: several getdents64 batches of the walk's 1 KiB buffer. */
static void test_util_dir_every_entry_once(void **state)
{
	char path[192], seen[200] = { 0 };
	struct lc_dir d;
	const char *name;
	unsigned char type;
	int i, n = 0, dirs = 0, free_fd = lowest_free();

	(void)state;
	for (i = 0; i < 200; i++) {
		snprintf(path, sizeof(path), "%s/entry-with-a-long-name-%03d", dir, i);
		if (i % 50 == 0)
			assert_int_equal(mkdir(path, 0700), 0);
		else
			close(open(path, O_CREAT | O_WRONLY, 0600));
	}
	assert_int_equal(lc_dir_open(&d, dir), 0);
	assert_true(d.fd >= 0);
	while ((name = lc_dir_next(&d, &type))) {
		assert_true(strcmp(name, ".") != 0);
		assert_true(strcmp(name, "..") != 0);
		assert_int_equal(strncmp(name, "entry-with-a-long-name-", 23), 0);
		i = atoi(name + 23);
		assert_true(i >= 0 && i < 200);
		assert_int_equal(seen[i]++, 0);
		assert_int_equal(type, i % 50 == 0 ? DT_DIR : DT_REG);
		dirs += type == DT_DIR;
		n++;
	}
	assert_int_equal(n, 200);
	assert_int_equal(dirs, 4);
	/* At the end the directory is closed, once; further calls stay at the end. */
	assert_int_equal(d.fd, -1);
	assert_int_equal(closes, 1);
	assert_null(lc_dir_next(&d, 0));
	assert_int_equal(closes, 1);
	assert_int_equal(lowest_free(), free_fd);
}

static void test_util_dir_stop_early(void **state)
{
	char path[128];
	struct lc_dir d;
	int i, free_fd = lowest_free();

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		close(open(path, O_CREAT | O_WRONLY, 0600));
	}
	assert_int_equal(lc_dir_open(&d, dir), 0);
	assert_non_null(lc_dir_next(&d, 0)); /* type is optional */
	lc_dir_close(&d);
	assert_int_equal(closes, 1);
	assert_int_equal(d.fd, -1);
	lc_dir_close(&d); /* twice: closed once */
	assert_int_equal(closes, 1);
	assert_null(lc_dir_next(&d, 0));
	assert_int_equal(lowest_free(), free_fd);
}

static void test_util_dir_missing_or_empty(void **state)
{
	char path[128];
	struct lc_dir d;

	(void)state;
	snprintf(path, sizeof(path), "%s/none", dir);
	errno = 0;
	assert_int_equal(lc_dir_open(&d, path), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(lc_dir_next(&d, 0)); /* safe after a failed open */
	/* Not a directory. */
	close(open(path, O_CREAT | O_WRONLY, 0600));
	assert_int_equal(lc_dir_open(&d, path), -1);
	assert_int_equal(errno, ENOTDIR);
	/* Empty: only "." and "..", both skipped. */
	snprintf(path, sizeof(path), "%s/empty", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(lc_dir_open(&d, path), 0);
	assert_null(lc_dir_next(&d, 0));
	assert_int_equal(closes, 1);
}

/* What the library walks: this process's own fds, all of them. */
static void test_util_dir_proc(void **state)
{
	struct lc_dir d;
	const char *name;
	unsigned char type;
	int fd = open("/dev/null", O_RDONLY), found = 0;

	(void)state;
	assert_int_equal(lc_dir_open(&d, "/proc/self/fd"), 0);
	while ((name = lc_dir_next(&d, &type))) {
		assert_int_equal(type, DT_LNK);
		found += atoi(name) == fd;
	}
	assert_int_equal(found, 1);
	close(fd);
}

/* LC_OWN, in lc_open() and around another call: the fd goes to lc_own_min or above,
 * close-on-exec; the low number it was made at is free again, with nothing else left open; a
 * failure passes -1 and the call's errno on; an fd already high enough stays where it is. The
 * lock is free after each, and a thread that holds it (a signal handler's dup2 hook on a thread
 * inside LC_OWN) goes on under that hold. */
static void test_util_own_fds(void **state)
{
	int low = lowest_free(), fd, again;
	bool took;

	(void)state;
	lc_own_min = 200;
	fd = lc_open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 200);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(lowest_free(), low);
	assert_int_equal(closes, 1); /* the low copy */
	errno = 0;
	assert_int_equal(lc_open("/nonexistent/x", O_RDONLY), -1);
	assert_int_equal(errno, ENOENT);
	again = LC_OWN(fcntl(fd, F_DUPFD_CLOEXEC, 300));
	assert_true(again >= 300);
	assert_int_equal(closes, 1);
	took = lc_own_lock();
	assert_true(took);
	assert_false(lc_own_lock()); /* held here: no wait, and nothing to let go */
	lc_own_unlock(false);
	lc_own_unlock(took);
	assert_true((took = lc_own_lock()));
	lc_own_unlock(took);
	close(again);
	close(fd);
	lc_own_min = 3;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util_clock),
		cmocka_unit_test_setup_teardown(test_util_dir_every_entry_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_util_dir_stop_early, setup, teardown),
		cmocka_unit_test_setup_teardown(test_util_dir_missing_or_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_util_dir_proc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_util_own_fds, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
