/* SPDX-License-Identifier: MIT */
/* fuzz_duration: lc_parse_duration and lc_parse_duration_off agree with the documented grammar
 * (digits, then "", "ms", "s", "m" or "h", fitting int64 milliseconds), written out again
 * below; a failed parse leaves *out alone; every value parsed is printed by lc_format_ms within
 * its 24 bytes and parses back to itself; lc_format_ms prints any int64 as printf would. */
#define _GNU_SOURCE
#include <strings.h>

#include "fuzz.h"
#include "lastcall/config.h"

#define UNTOUCHED 0x5a5a5a5a5a5a5a5aLL

/* The grammar of docs/configuration.md, independently of shim/config.c. */
static int ref_duration(const char *s, int64_t *out)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = { { "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	int64_t v = 0;
	size_t i;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (INT64_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(s, units[i].unit) == 0) {
			if (v > INT64_MAX / units[i].ms)
				return -1;
			*out = v * units[i].ms;
			return 0;
		}
	return -1;
}

/* lc_format_ms(ms) is "<n>s" or "<n>ms" as snprintf prints it, and stays within 24 bytes. */
static void check_format(int64_t ms)
{
	char buf[32], want[32];

	memset(buf, 0x5a, sizeof(buf));
	CHECK(lc_format_ms(ms, buf) == buf);
	CHECK(memcmp(buf + 24, "\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a", 8) == 0);
	if (ms % 1000 == 0)
		snprintf(want, sizeof(want), "%llds", (long long)(ms / 1000));
	else
		snprintf(want, sizeof(want), "%lldms", (long long)ms);
	CHECK(strcmp(buf, want) == 0);
}

/* A parsed duration is printed and read back exactly. */
static void check_round_trip(int64_t ms)
{
	char buf[24];
	int64_t back = UNTOUCHED;

	CHECK(ms >= 0);
	check_format(ms);
	CHECK(lc_parse_duration(lc_format_ms(ms, buf), &back) == 0);
	CHECK(back == ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	int64_t got = UNTOUCHED, want = UNTOUCHED, any;
	int rc = lc_parse_duration(s, &got);

	CHECK(rc == ref_duration(s, &want));
	CHECK(got == want); /* the same value, or both untouched */
	if (rc == 0)
		check_round_trip(got);

	got = UNTOUCHED;
	if (strcasecmp(s, "off") == 0)
		CHECK(lc_parse_duration_off(s, &got) == 0 && got == -1);
	else
		CHECK(lc_parse_duration_off(s, &got) == rc && got == want);

	if (size >= sizeof(any)) {
		memcpy(&any, data, sizeof(any));
		check_format(any);
	}
	free(s);
	return 0;
}
