/* SPDX-License-Identifier: MIT */
/* test_log: the async-signal-safe formatter and the log line grammar. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/log.h"

static void test_log_format_conversions(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(lc_format(buf, sizeof(buf), "%d %i %u %x", -42, 7, 4000000000U, 0xbeefU),
			 21);
	assert_string_equal(buf, "-42 7 4000000000 beef");
	lc_format(buf, sizeof(buf), "%ld %lu %lld %llu", -1L, 18446744073709551615UL,
		  (long long)INT64_MIN, 0ULL);
	assert_string_equal(buf, "-1 18446744073709551615 -9223372036854775808 0");
	lc_format(buf, sizeof(buf), "[%s] %c%%", "x", 'y');
	assert_string_equal(buf, "[x] y%");
}

static void test_log_format_truncates(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(lc_format(buf, sizeof(buf), "%s", "0123456789"), 7);
	assert_string_equal(buf, "0123456");
	assert_int_equal(lc_format(buf, sizeof(buf), "ab%d", 123456789), 7);
	assert_string_equal(buf, "ab12345");
}

static void test_log_errno_names(void **state)
{
	(void)state;
	assert_string_equal(lc_errno_name(ECONNRESET), "ECONNRESET");
	assert_string_equal(lc_errno_name(EBADF), "EBADF");
	assert_string_equal(lc_errno_name(0), "E?");
	assert_string_equal(lc_errno_name(-3), "E?");
	assert_string_equal(lc_errno_name(4095), "E?");
}

/* Runs the logger with fd 2 on a pipe and returns what it wrote. */
static void capture(char *out, size_t n, int level, int err)
{
	int p[2], saved = dup(2);
	ssize_t got;

	assert_int_equal(pipe(p), 0);
	dup2(p[1], 2);
	errno = EINTR;
	if (err)
		lc_log_errno(level, err, "unable to %s fd %d", "close", 9);
	else
		lc_log(level, "draining %d", 3);
	assert_int_equal(errno, EINTR); /* preserved */
	dup2(saved, 2);
	close(saved);
	close(p[1]);
	got = read(p[0], out, n - 1);
	out[got > 0 ? got : 0] = '\0';
	close(p[0]);
}

static void test_log_line_grammar(void **state)
{
	char out[256], want[256];

	(void)state;
	lc_log_level = LC_INFO;
	capture(out, sizeof(out), LC_INFO, 0);
	snprintf(want, sizeof(want), "lastcall[%d]: info: draining 3\n", (int)getpid());
	assert_string_equal(out, want);
	capture(out, sizeof(out), LC_WARN, ECONNRESET);
	snprintf(want, sizeof(want),
		 "lastcall[%d]: warning: unable to close fd 9: errno %d (ECONNRESET)\n",
		 (int)getpid(), ECONNRESET);
	assert_string_equal(out, want);
}

static void test_log_level_filters(void **state)
{
	char out[256];

	(void)state;
	lc_log_level = LC_WARN;
	capture(out, sizeof(out), LC_INFO, 0);
	assert_string_equal(out, "");
	capture(out, sizeof(out), LC_DEBUG, 0);
	assert_string_equal(out, "");
	capture(out, sizeof(out), LC_ERROR, 0);
	assert_non_null(strstr(out, ": error: draining 3\n"));
	lc_log_level = LC_INFO;
}

static void test_log_private_fd(void **state)
{
	int fd;

	(void)state;
	assert_int_equal(lc_log_fd(), 2);
	fd = lc_log_open(100);
	assert_true(fd >= 100);
	assert_int_equal(lc_log_fd(), fd);
	assert_int_equal(lc_log_open(200), fd); /* once only */
	close(fd);
	lc_log_reset(2);
}

/* stderr a pipe whose reader has gone: a line is lost, the process is not (SIGPIPE, left to
 * its default action, would end it, and cmocka with it), and the SIGPIPE the write raised is
 * not left pending; one that was pending before stays. */
static void test_log_broken_pipe(void **state)
{
	sigset_t pipe_set, pending;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_DFL);
	lc_log_reset(p[1]);
	errno = ENOENT;
	lc_log(LC_ERROR, "nobody reads this");
	assert_int_equal(errno, ENOENT);
	assert_int_equal(sigpending(&pending), 0);
	assert_false(sigismember(&pending, SIGPIPE));

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, 0);
	raise(SIGPIPE);
	lc_log(LC_ERROR, "nor this");
	assert_int_equal(sigpending(&pending), 0);
	assert_true(sigismember(&pending, SIGPIPE)); /* the program's own, kept */
	signal(SIGPIPE, SIG_IGN);		     /* discards it */
	sigprocmask(SIG_UNBLOCK, &pipe_set, 0);
	signal(SIGPIPE, SIG_DFL);
	lc_log_reset(2);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_format_conversions),
		cmocka_unit_test(test_log_format_truncates),
		cmocka_unit_test(test_log_errno_names),
		cmocka_unit_test(test_log_line_grammar),
		cmocka_unit_test(test_log_level_filters),
		cmocka_unit_test(test_log_private_fd),
		cmocka_unit_test(test_log_broken_pipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
