/* SPDX-License-Identifier: MIT */
/* fuzz_signals: lc_parse_signals agrees with the grammar written out again below (a comma-
 * separated list of trigger names, with or without SIG, in any case, or their numbers); a
 * failed parse leaves *out alone; a parsed set is not empty, holds only triggers, and reads
 * back the same when written out as names or as numbers. */
#define _GNU_SOURCE
#include <signal.h>
#include <strings.h>

#include "fuzz.h"
#include "lastcall/config.h"

#define UNTOUCHED 0x5a5a5a5a5a5a5a5aULL

/* The signals docs/configuration.md lists; anything else is refused. */
static const char *const triggers[64] = {
	[SIGHUP] = "HUP",   [SIGINT] = "INT",	[SIGQUIT] = "QUIT", [SIGUSR1] = "USR1",
	[SIGUSR2] = "USR2", [SIGALRM] = "ALRM", [SIGTERM] = "TERM", [SIGPWR] = "PWR",
};

/* One element: its signal, or -1. Elements longer than 15 bytes are refused, as the parser's
 * copy of an element holds 15 (none of the valid spellings is that long). */
static int ref_one(const char *s, size_t len)
{
	size_t i;
	int sig = 0;

	if (len == 0 || len > 15)
		return -1;
	if (*s >= '0' && *s <= '9') {
		for (i = 0; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			sig = sig * 10 + (s[i] - '0');
			if (sig >= 64)
				return -1;
		}
		return triggers[sig] ? sig : -1;
	}
	if (len > 3 && strncasecmp(s, "SIG", 3) == 0)
		s += 3, len -= 3;
	for (sig = 0; sig < 64; sig++)
		if (triggers[sig] && strlen(triggers[sig]) == len &&
		    strncasecmp(s, triggers[sig], len) == 0)
			return sig;
	return -1;
}

static int ref_signals(const char *s, uint64_t *out)
{
	uint64_t set = 0;
	const char *end;
	int sig;

	for (;; s = end + 1) {
		end = s + strcspn(s, ",");
		sig = ref_one(s, (size_t)(end - s));
		if (sig < 0)
			return -1;
		set |= 1ULL << sig;
		if (!*end)
			break;
	}
	*out = set;
	return 0;
}

/* set written out as "TERM,INT" (names) or "15,2" (numbers), and parsed again. */
static void check_round_trip(uint64_t set, int numbers)
{
	char list[128] = "";
	uint64_t back = UNTOUCHED;
	size_t at = 0;
	int sig;

	for (sig = 0; sig < 64; sig++) {
		if (!(set & (1ULL << sig)))
			continue;
		CHECK(lc_signal_name(sig) != NULL);
		CHECK(strcmp(lc_signal_name(sig), triggers[sig]) == 0);
		if (numbers)
			at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%d", at ? "," : "", sig);
		else
			at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%s", at ? "," : "",
					       lc_signal_name(sig));
	}
	CHECK(lc_parse_signals(list, &back) == 0);
	CHECK(back == set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	uint64_t got = UNTOUCHED, want = UNTOUCHED;
	int rc = lc_parse_signals(s, &got);

	CHECK(rc == ref_signals(s, &want));
	CHECK(got == want); /* the same set, or both untouched */
	if (rc == 0) {
		CHECK(got != 0);
		check_round_trip(got, 0);
		check_round_trip(got, 1);
	}
	free(s);
	return 0;
}
