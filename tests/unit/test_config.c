/* SPDX-License-Identifier: MIT */
/* test_config: the LASTCALL_* parsers and the loader's fall-back to defaults. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/config.h"
#include "lastcall/log.h"

static void test_config_duration(void **state)
{
	static const struct {
		const char *in;
		int64_t ms;
	} good[] = { { "30s", 30000 }, { "500ms", 500 }, { "2m", 120000 }, { "1h", 3600000 },
		     { "15", 15000 },	 { "0", 0 },	   { "0ms", 0 },      { "007s", 7000 } };
	static const char *const bad[] = { "", "s",  "3O s", "30 s", " 30s", "-1s", "+5s",
					   "1.5s", "30S", "30sec", "5d", "99999999999999999999",
					   "9223372036854775807h", "ms" };
	int64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = -1;
		assert_int_equal(lc_parse_duration(good[i].in, &ms), 0);
		assert_int_equal(ms, good[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 42;
		assert_int_equal(lc_parse_duration(bad[i], &ms), -1);
		assert_int_equal(ms, 42); /* untouched on failure */
	}
}

static void test_config_duration_off(void **state)
{
	int64_t ms = 5;

	(void)state;
	assert_int_equal(lc_parse_duration_off("off", &ms), 0);
	assert_int_equal(ms, -1);
	assert_int_equal(lc_parse_duration_off("OFF", &ms), 0);
	assert_int_equal(lc_parse_duration_off("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(lc_parse_duration_off("of", &ms), -1);
	assert_int_equal(lc_parse_duration_off("-1", &ms), -1);
}

static void test_config_bool(void **state)
{
	static const char *const yes[] = { "1", "yes", "true", "on", "YES", "True" };
	static const char *const no[] = { "0", "no", "false", "off", "NO" };
	static const char *const bad[] = { "", "2", "y", "enable", "1 ", "truee" };
	bool b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(lc_parse_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		assert_int_equal(lc_parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(lc_parse_bool(bad[i], &b), -1);
}

static void test_config_signals(void **state)
{
	uint64_t set;

	(void)state;
	assert_int_equal(lc_parse_signals("TERM,INT", &set), 0);
	assert_true(set == ((1ULL << SIGTERM) | (1ULL << SIGINT)));
	assert_int_equal(lc_parse_signals("SIGTERM", &set), 0);
	assert_true(set == 1ULL << SIGTERM);
	assert_int_equal(lc_parse_signals("hup,sigusr2,15", &set), 0);
	assert_true(set == ((1ULL << SIGHUP) | (1ULL << SIGUSR2) | (1ULL << SIGTERM)));
	assert_int_equal(lc_parse_signals("QUIT,PWR,ALRM,USR1", &set), 0);
	set = 7;
	/* Uncatchable, synchronous, job-control and unknown signals are refused. */
	assert_int_equal(lc_parse_signals("KILL", &set), -1);
	assert_int_equal(lc_parse_signals("STOP", &set), -1);
	assert_int_equal(lc_parse_signals("SEGV", &set), -1);
	assert_int_equal(lc_parse_signals("CHLD", &set), -1);
	assert_int_equal(lc_parse_signals("9", &set), -1);
	assert_int_equal(lc_parse_signals("64", &set), -1);
	assert_int_equal(lc_parse_signals("TERM,", &set), -1);
	assert_int_equal(lc_parse_signals(",TERM", &set), -1);
	assert_int_equal(lc_parse_signals("TERM INT", &set), -1);
	assert_int_equal(lc_parse_signals("", &set), -1);
	assert_int_equal(lc_parse_signals("SIGTERMINATE", &set), -1);
	assert_true(set == 7);
	assert_string_equal(lc_signal_name(SIGTERM), "TERM");
	assert_null(lc_signal_name(SIGKILL));
}

static void test_config_level(void **state)
{
	int64_t l;

	(void)state;
	assert_int_equal(lc_parse_level("debug", &l), 0);
	assert_int_equal(l, LC_DEBUG);
	assert_int_equal(lc_parse_level("warning", &l), 0);
	assert_int_equal(l, LC_WARN);
	assert_int_equal(lc_parse_level("ERROR", &l), 0);
	assert_int_equal(l, LC_ERROR);
	assert_int_equal(lc_parse_level("verbose", &l), -1);
	assert_int_equal(lc_parse_level("3", &l), -1);
}

/* A fake environment for lc_config_load. */
static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
	size_t n = strlen(name);
	const char *const *e;

	for (e = fake_env; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* Captures what lc_log writes to fd 2 while fn runs. */
static void load_capturing(struct lc_config *cfg, char *out, size_t n)
{
	int p[2], saved = dup(2);
	ssize_t got;

	assert_int_equal(pipe(p), 0);
	dup2(p[1], 2);
	lc_config_load(cfg, fake_getenv);
	dup2(saved, 2);
	close(saved);
	close(p[1]);
	got = read(p[0], out, n - 1);
	out[got > 0 ? got : 0] = '\0';
	close(p[0]);
}

static void test_config_defaults(void **state)
{
	static const char *const env[] = { NULL };
	struct lc_config cfg;
	char log[1024];

	(void)state;
	memset(&cfg, 0xff, sizeof(cfg));
	fake_env = env;
	load_capturing(&cfg, log, sizeof(log));
	assert_string_equal(log, "");
	assert_false(cfg.disable);
	assert_int_equal(cfg.timeout_ms, 30000);
	assert_true(cfg.signals == ((1ULL << SIGTERM) | (1ULL << SIGINT)));
	assert_int_equal(cfg.log_level, LC_INFO);
	assert_int_equal(cfg.max_fds, 1 << 20);
	assert_int_equal(cfg.grace_ms, 0);
	assert_int_equal(cfg.idle_ms, 5000);
	assert_true(cfg.wait_children);
	assert_int_equal(cfg.kill_after_ms, 5000);
}

static void test_config_bad_values_warn_and_default(void **state)
{
	static const char *const env[] = { "LASTCALL_TIMEOUT=3O s",
					   "LASTCALL_SIGNALS=TERM,KILL",
					   "LASTCALL_DISABLE=maybe",
					   "LASTCALL_MAX_FDS=12",
					   "LASTCALL_IDLE=never",
					   "LASTCALL_CHILDREN=all",
					   NULL };
	struct lc_config cfg;
	char log[2048];

	(void)state;
	fake_env = env;
	load_capturing(&cfg, log, sizeof(log));
	assert_int_equal(cfg.timeout_ms, 30000);
	assert_true(cfg.signals == ((1ULL << SIGTERM) | (1ULL << SIGINT)));
	assert_false(cfg.disable);
	assert_int_equal(cfg.max_fds, 1 << 20);
	assert_non_null(strstr(log, ": warning: LASTCALL_TIMEOUT=\"3O s\" invalid (expected a "
				    "duration like 30s or 500ms, from 0 to 24h), using 30s\n"));
	assert_non_null(strstr(log, "LASTCALL_SIGNALS=\"TERM,KILL\" invalid"));
	assert_non_null(strstr(log, "LASTCALL_DISABLE=\"maybe\" invalid"));
	assert_non_null(strstr(log, "LASTCALL_MAX_FDS=\"12\" invalid (expected a number of file "
				    "descriptors from 64 to 67108864)"));
	assert_non_null(strstr(log, "LASTCALL_IDLE=\"never\" invalid (expected a duration like 1s "
				    "or 200ms, from 0 to 24h, or off), using 5s"));
	assert_int_equal(cfg.idle_ms, 5000);
	assert_non_null(strstr(log, "LASTCALL_CHILDREN=\"all\" invalid (expected wait or none), "
				    "using wait"));
	assert_true(cfg.wait_children);
}

static void test_config_garbage_is_quoted_safely(void **state)
{
	static const char *const env[] = {
		"LASTCALL_TIMEOUT=1s\nlastcall[1]: info: forged line\x1b[31m and a very long tail of "
		"text that goes on and on",
		NULL
	};
	struct lc_config cfg;
	char log[2048];

	(void)state;
	fake_env = env;
	load_capturing(&cfg, log, sizeof(log));
	assert_int_equal(cfg.timeout_ms, 30000);
	/* One line only: the newline and the escape are shown as '?', the tail is cut. */
	assert_ptr_equal(strchr(log, '\n'), log + strlen(log) - 1);
	assert_null(strchr(log, '\x1b'));
	assert_non_null(strstr(log, "=\"1s?lastcall[1]: info: forged line?[31m a...\" invalid"));
}

static void test_config_good_values(void **state)
{
	static const char *const env[] = { "LASTCALL_TIMEOUT=500ms", "LASTCALL_SIGNALS=QUIT",
					   "LASTCALL_DISABLE=yes", "LASTCALL_LOG=error",
					   "LASTCALL_MAX_FDS=4096",  "LASTCALL_GRACE=2s",
					   "LASTCALL_IDLE=off",	     "LASTCALL_CHILDREN=none",
					   "LASTCALL_KILL_AFTER=0",  NULL };
	struct lc_config cfg;
	char log[256];

	(void)state;
	fake_env = env;
	load_capturing(&cfg, log, sizeof(log));
	assert_string_equal(log, "");
	assert_int_equal(cfg.timeout_ms, 500);
	assert_true(cfg.signals == 1ULL << SIGQUIT);
	assert_true(cfg.disable);
	assert_int_equal(cfg.log_level, LC_ERROR);
	assert_int_equal(cfg.max_fds, 4096);
	assert_int_equal(cfg.grace_ms, 2000);
	assert_int_equal(cfg.idle_ms, -1);
	assert_false(cfg.wait_children);
	assert_int_equal(cfg.kill_after_ms, 0);
	lc_log_level = LC_INFO;
}

static void test_config_format_ms(void **state)
{
	char buf[24];

	(void)state;
	assert_string_equal(lc_format_ms(30000, buf), "30s");
	assert_string_equal(lc_format_ms(1500, buf), "1500ms");
	assert_string_equal(lc_format_ms(0, buf), "0s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_duration),
		cmocka_unit_test(test_config_duration_off),
		cmocka_unit_test(test_config_bool),
		cmocka_unit_test(test_config_signals),
		cmocka_unit_test(test_config_level),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_bad_values_warn_and_default),
		cmocka_unit_test(test_config_garbage_is_quoted_safely),
		cmocka_unit_test(test_config_good_values),
		cmocka_unit_test(test_config_format_ms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
