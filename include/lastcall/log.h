/* SPDX-License-Identifier: MIT */
/* log.h: lastcall's one log grammar, "lastcall[PID]: level: message", written to a private
 * copy of stderr. Safe in any context: no malloc, no stdio, no locks; errno is preserved. */
#ifndef LASTCALL_LOG_H
#define LASTCALL_LOG_H

#include <stdarg.h>

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

enum lc_level {
	LC_ERROR = 0,
	LC_WARN = 1,
	LC_INFO = 2,
	LC_DEBUG = 3,
};

/* Lines above this level are dropped; set once from LASTCALL_LOG. */
extern int lc_log_level;

/* Formats with a printf subset (%s %c %d %u %x %ld %lu %lld %llu %%) and writes one line.
 * AS-safe; errno is preserved. */
void lc_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Same, with ": errno N (NAME)" appended for the errno value err. AS-safe. */
void lc_log_errno(int level, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Format into buf (size n, always NUL-terminated); return the length. AS-safe. */
int lc_vformat(char *buf, int n, const char *fmt, va_list ap);
int lc_format(char *buf, int n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The symbolic name of an errno value ("ECONNRESET"), or "E?" if unknown. AS-safe. */
const char *lc_errno_name(int err);

/* Moves logging to a private close-on-exec duplicate of fd 2 numbered at least min_fd, so the
 * program may close or redirect its stderr later. Returns the new fd, or -1 if fd 2 is not open
 * (then nothing is logged from now on). Any thread. */
int lc_log_open(int min_fd);

/* The fd lines go to (2 until lc_log_open succeeds). Any context. */
int lc_log_fd(void);

/* Lines go to fd from now on; the old fd is not closed. A program thread (its dup2() moved the
 * private copy), or the cleanup thread (the copy was closed: 2 again). */
void lc_log_reset(int fd);

#pragma GCC visibility pop

#endif
