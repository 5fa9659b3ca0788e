/* SPDX-License-Identifier: MIT */
/* fuzz_format: lc_format (so lc_vformat) prints what snprintf prints for its printf subset,
 * cut the same way, into buffers of 1 to 256 bytes, never writing past them; conversions
 * outside the subset print as documented; lc_log and lc_log_errno write exactly one line of at
 * most 511 bytes, the message cut to fit, and keep errno; lc_errno_name agrees with glibc.
 * Input: byte 0 the buffer size less one, byte 1 the format, bytes 2-9 a number, then two
 * strings separated by a NUL byte. */
#define _GNU_SOURCE
#include <errno.h>

#include "fuzz.h"

#define CANARY "\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a"

/* Conversions outside the subset, and what lc_vformat prints for each with a big buffer. */
static const struct {
	const char *fmt, *out;
} odd[] = { { "%q", "q" }, { "50%", "50" }, { "%l", "" }, { "a%lqb", "aqb" }, { "%5d", "5d" } };

/* Both formatters, same arguments: lc_format into buf, snprintf into ref. */
#define BOTH(...)                                                                                  \
	(got = lc_format(buf, n, __VA_ARGS__), want = snprintf(ref, (size_t)n, __VA_ARGS__))

static void check_format(int n, int which, long long v, const char *s1, const char *s2)
{
	char *buf = malloc((size_t)n + 8), ref[1024];
	const char *volatile null = NULL, *fmt;
	int got = 0, want = 0;

	CHECK(buf != NULL);
	memcpy(buf + n, CANARY, 8);
	switch (which % 20) {
	case 0:
		BOTH("%s", s1);
		break;
	case 1:
		BOTH("%s%s", s1, s2);
		break;
	case 2:
		BOTH("[%s] %s!", s1, s2);
		break;
	case 3:
		BOTH("%s=\"%s\" invalid (expected %s), using %s", "LASTCALL_X", s1, s2, "30s");
		break;
	case 4:
		BOTH("lastcall[%d]: %s: %s", (int)v, s1, s2);
		break;
	case 5:
		BOTH("%d", (int)v);
		break;
	case 6:
		BOTH("%ld", (long)v);
		break;
	case 7:
		BOTH("%lld", v);
		break;
	case 8:
		BOTH("%i|%u", (int)v, (unsigned)v);
		break;
	case 9:
		BOTH("%lu", (unsigned long)v);
		break;
	case 10:
		BOTH("%llu", (unsigned long long)v);
		break;
	case 11:
		BOTH("%x", (unsigned)v);
		break;
	case 12:
		BOTH("%lx", (unsigned long)v);
		break;
	case 13:
		BOTH("%llx", (unsigned long long)v);
		break;
	case 14:
		BOTH("%c%c%c", s1[0], (int)(char)v, 'x');
		break;
	case 15:
		BOTH("100%% %s %%", s1);
		break;
	case 16:
		BOTH("%s", null);
		break;
	case 17:
		BOTH("%s: errno %d (%s)", s1, (int)v, lc_errno_name((int)v));
		break;
	default:
		fmt = odd[(unsigned long long)v % 5].fmt;
		got = lc_format(buf, n, fmt, 0);
		want = snprintf(ref, (size_t)n, "%s", odd[(unsigned long long)v % 5].out);
	}
	CHECK(want >= 0);
	CHECK(got == (want < n - 1 ? want : n - 1));
	CHECK(memcmp(buf, ref, (size_t)got + 1) == 0); /* with its NUL */
	CHECK(memcmp(buf + n, CANARY, 8) == 0);
	free(buf);
}

/* One lc_log (or lc_log_errno, if err) line, read back from the pipe. */
static void check_log(const char *s, int err)
{
	char line[8192], want[8192];
	size_t len, cut;

	snprintf(want, sizeof(want), "lastcall[%d]: %s: %s", (int)getpid(),
	         err ? "error" : "warning", s);
	if (err)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), ": errno %d (%s)", err,
		         lc_errno_name(err));
	cut = strlen(want) < 510 ? strlen(want) : 510;
	memcpy(want + cut, "\n", 2);

	errno = 4242;
	if (err)
		lc_log_errno(LC_ERROR, err, "%s", s);
	else
		lc_log(LC_WARN, "%s", s);
	CHECK(errno == 4242);
	len = fuzz_log_read(line, sizeof(line));
	CHECK(len == cut + 1 && strcmp(line, want) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s1, *s2;
	long long v = 0;
	const char *name, *glibc;
	size_t skip;

	if (size < 10)
		return 0;
	fuzz_log_pipe(); /* before the first line */
	memcpy(&v, data + 2, sizeof(v));
	s1 = fuzz_string(data + 10, size - 10);
	skip = strlen(s1) < size - 10 ? strlen(s1) + 1 : size - 10; /* s1 and its NUL */
	s2 = fuzz_string(data + 10 + skip, size - 10 - skip);
	check_format(1 + data[0], data[1], v, s1, s2);

	lc_log_level = LC_DEBUG;
	check_log(s1, 0);
	check_log(s2, (int)v ? (int)v : 1);

	name = lc_errno_name((int)v);
	glibc = strerrorname_np((int)v);
	CHECK(strcmp(name, "E?") == 0 || (glibc && strcmp(name, glibc) == 0));
	free(s1);
	free(s2);
	return 0;
}
