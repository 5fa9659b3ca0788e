/* SPDX-License-Identifier: MIT */
/* fuzz.h: what the fuzz targets share: the libFuzzer entry point, a property check that aborts
 * (so libFuzzer, or the plain replay, reports the input), the input as getenv would see it, and
 * a pipe that catches what lastcall logs. */
#ifndef LASTCALL_FUZZ_H
#define LASTCALL_FUZZ_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lastcall/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__,        \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The input up to its first NUL byte, as a string allocated to its exact size, so that ASan
 * sees a read past its end. The caller frees it. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	size_t n = strnlen((const char *)data, size);
	char *s = malloc(n + 1);

	CHECK(s != NULL);
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/* Sends lastcall's log lines into a pipe, once; returns its non-blocking read end. */
static inline int fuzz_log_pipe(void)
{
	static int rfd = -1;
	int p[2];

	if (rfd < 0) {
		CHECK(pipe2(p, O_CLOEXEC) == 0);
		CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
		lc_log_reset(p[1]);
		rfd = p[0];
	}
	return rfd;
}

/* Reads what was logged since the last call into buf (NUL-terminated); returns its length. */
static inline size_t fuzz_log_read(char *buf, size_t n)
{
	size_t at = 0;
	ssize_t got;

	while (at < n - 1 && (got = read(fuzz_log_pipe(), buf + at, n - 1 - at)) > 0)
		at += (size_t)got;
	buf[at] = '\0';
	return at;
}

#endif
