/* SPDX-License-Identifier: MIT */
/* fuzz_words: the word and number parsers (lc_parse_bool, lc_parse_level, lc_parse_children,
 * lc_parse_count) each agree with the grammar written out again below, and leave *out alone
 * when they refuse. */
#define _GNU_SOURCE
#include <strings.h>

#include "fuzz.h"
#include "lastcall/config.h"

#define UNTOUCHED 0x5a5a5a5a5a5a5a5aLL

/* The index of s in words[] (n of them), ignoring case, or -1. */
static int find_word(const char *s, const char *const *words, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcasecmp(s, words[i]) == 0)
			return i;
	return -1;
}

static void check_bool(const char *s)
{
	static const char *const words[] = { "0", "no", "false", "off", "1", "yes", "true", "on" };
	int i = find_word(s, words, 8);
	bool got;

	/* Both starting values, so that "left alone" is seen whatever the parser would write. */
	got = false;
	CHECK(lc_parse_bool(s, &got) == (i < 0 ? -1 : 0) && got == (i >= 4));
	got = true;
	CHECK(lc_parse_bool(s, &got) == (i < 0 ? -1 : 0) && got == (i < 0 || i >= 4));
}

static void check_level(const char *s)
{
	/* "warning" is accepted too: it is the word the log lines use. */
	static const char *const words[] = { "error", "warn", "info", "debug", "warning" };
	int i = find_word(s, words, 5);
	int64_t got = UNTOUCHED;

	CHECK(lc_parse_level(s, &got) == (i < 0 ? -1 : 0));
	CHECK(got == (i < 0 ? UNTOUCHED : i == 4 ? LC_WARN : i));
}

static void check_children(const char *s)
{
	/* Exactly these two words, in lower case. */
	int i = strcmp(s, "wait") == 0 ? 1 : strcmp(s, "none") == 0 ? 0 : -1;
	bool got;

	got = false;
	CHECK(lc_parse_children(s, &got) == (i < 0 ? -1 : 0) && got == (i == 1));
	got = true;
	CHECK(lc_parse_children(s, &got) == (i < 0 ? -1 : 0) && got == (i != 0));
}

static void check_count(const char *s)
{
	const char *p = s;
	int64_t got = UNTOUCHED, want = 0;
	int ok = *p >= '0' && *p <= '9';

	for (; ok && *p; p++) {
		if (*p < '0' || *p > '9' || want > (INT64_MAX - (*p - '0')) / 10)
			ok = 0;
		else
			want = want * 10 + (*p - '0');
	}
	CHECK(lc_parse_count(s, &got) == (ok ? 0 : -1));
	CHECK(got == (ok ? want : UNTOUCHED));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);

	check_bool(s);
	check_level(s);
	check_children(s);
	check_count(s);
	free(s);
	return 0;
}
