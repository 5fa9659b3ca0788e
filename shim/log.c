/* SPDX-License-Identifier: MIT */
/* log.c: formats and writes lastcall's log lines. One write(2) per line, so lines from several
 * processes sharing a journal never interleave; nothing here allocates, locks or uses stdio. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/log.h"

int lc_log_level = LC_INFO;
static int log_fd = 2;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

/* Only the values lastcall can meet; anything else prints as E?. */
static const char *const errno_names[] = {
	[EPERM] = "EPERM",	   [ENOENT] = "ENOENT",	    [ESRCH] = "ESRCH",
	[EINTR] = "EINTR",	   [EIO] = "EIO",	    [EBADF] = "EBADF",
	[ECHILD] = "ECHILD",	   [EAGAIN] = "EAGAIN",	    [ENOMEM] = "ENOMEM",
	[EACCES] = "EACCES",	   [EFAULT] = "EFAULT",	    [EBUSY] = "EBUSY",
	[EEXIST] = "EEXIST",	   [ENOTDIR] = "ENOTDIR",   [EINVAL] = "EINVAL",
	[ENFILE] = "ENFILE",	   [EMFILE] = "EMFILE",	    [ENOSPC] = "ENOSPC",
	[EPIPE] = "EPIPE",	   [ERANGE] = "ERANGE",	    [ENOSYS] = "ENOSYS",
	[ENOTSOCK] = "ENOTSOCK",   [EOPNOTSUPP] = "EOPNOTSUPP", [EADDRINUSE] = "EADDRINUSE",
	[ENOBUFS] = "ENOBUFS",	   [ECONNRESET] = "ECONNRESET", [ENOTCONN] = "ENOTCONN",
	[ETIMEDOUT] = "ETIMEDOUT", [ECONNREFUSED] = "ECONNREFUSED", [EPROTONOSUPPORT] = "EPROTONOSUPPORT",
	[EAFNOSUPPORT] = "EAFNOSUPPORT", [ENOPROTOOPT] = "ENOPROTOOPT",
};

const char *lc_errno_name(int err) /* AS-safe */
{
	if (err > 0 && err < (int)(sizeof(errno_names) / sizeof(errno_names[0])) && errno_names[err])
		return errno_names[err];
	return "E?";
}

static int put_str(char *buf, int n, int at, const char *s)
{
	if (!s)
		s = "(null)";
	while (*s && at < n - 1)
		buf[at++] = *s++;
	return at;
}

static int put_num(char *buf, int n, int at, unsigned long long v, int neg, unsigned base)
{
	char tmp[24];
	int i = 0;

	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[i++] = '-';
	while (i > 0 && at < n - 1)
		buf[at++] = tmp[--i];
	return at;
}

int lc_vformat(char *buf, int n, const char *fmt, va_list ap) /* AS-safe */
{
	int at = 0, longs;
	long long sv;
	unsigned long long uv;

	if (n <= 0)
		return 0; /* no room even for the NUL */
	for (; *fmt && at < n - 1; fmt++) {
		if (*fmt != '%') {
			buf[at++] = *fmt;
			continue;
		}
		for (longs = 0; *++fmt == 'l';)
			longs++;
		switch (*fmt) {
		case 'd':
		case 'i':
			sv = longs >= 2 ? va_arg(ap, long long) : longs ? va_arg(ap, long) : va_arg(ap, int);
			uv = sv < 0 ? 0ULL - (unsigned long long)sv : (unsigned long long)sv;
			at = put_num(buf, n, at, uv, sv < 0, 10);
			break;
		case 'u':
		case 'x':
			uv = longs >= 2 ? va_arg(ap, unsigned long long)
			     : longs    ? va_arg(ap, unsigned long)
					: va_arg(ap, unsigned);
			at = put_num(buf, n, at, uv, 0, *fmt == 'x' ? 16 : 10);
			break;
		case 's':
			at = put_str(buf, n, at, va_arg(ap, const char *));
			break;
		case 'c':
			buf[at++] = (char)va_arg(ap, int);
			break;
		case '%':
			buf[at++] = '%';
			break;
		default: /* not in the subset: print it as is, so the mistake shows */
			if (!*fmt)
				fmt--;
			else
				buf[at++] = *fmt;
		}
	}
	buf[at] = '\0';
	return at;
}

int lc_format(char *buf, int n, const char *fmt, ...) /* AS-safe */
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = lc_vformat(buf, n, fmt, ap);
	va_end(ap);
	return len;
}

/* Writes line to fd. stderr may be a pipe whose reader has gone (a logger that died): the
 * kernel then raises SIGPIPE, whose default action ends the process, where without lastcall
 * the program may never have written there. So SIGPIPE is blocked on this thread for the
 * write, and one that the write raised (none was pending before) is taken back. AS-safe. */
static void write_line(int fd, const char *line, size_t n)
{
	sigset_t pipe, old, pending;
	const struct timespec now = { 0, 0 };
	ssize_t r;
	int was;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	was = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	while ((r = write(fd, line, n)) < 0 && errno == EINTR)
		;
	if (r < 0 && errno == EPIPE && !was)
		sigtimedwait(&pipe, 0, &now);
	pthread_sigmask(SIG_SETMASK, &old, 0);
}

static void emit(int level, int err, const char *fmt, va_list ap) /* AS-safe */
{
	char line[512];
	int at, saved = errno, fd = lc_load(&log_fd);

	if (level > lc_log_level || fd < 0)
		return;
	if (level < LC_ERROR)
		level = LC_ERROR;
	at = lc_format(line, (int)sizeof(line) - 1, "lastcall[%d]: %s: ", (int)getpid(),
		    level_names[level]);
	at += lc_vformat(line + at, (int)sizeof(line) - 1 - at, fmt, ap);
	if (err)
		at += lc_format(line + at, (int)sizeof(line) - 1 - at, ": errno %d (%s)", err,
			     lc_errno_name(err));
	line[at++] = '\n';
	write_line(fd, line, (size_t)at);
	errno = saved;
}

void lc_log(int level, const char *fmt, ...) /* AS-safe */
{
	va_list ap;

	va_start(ap, fmt);
	emit(level, 0, fmt, ap);
	va_end(ap);
}

void lc_log_errno(int level, int err, const char *fmt, ...) /* AS-safe */
{
	va_list ap;

	va_start(ap, fmt);
	emit(level, err, fmt, ap);
	va_end(ap);
}

int lc_log_open(int min_fd)
{
	int fd, saved = errno;

	if (lc_load(&log_fd) != 2)
		return lc_load(&log_fd);
	fd = fcntl(2, F_DUPFD_CLOEXEC, min_fd);
	if (fd < 0 && errno != EBADF)
		fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	/* No stderr (a daemon closed it): log nowhere rather than into whatever takes fd 2. */
	lc_store(&log_fd, fd);
	errno = saved;
	return fd;
}

int lc_log_fd(void)
{
	return lc_load(&log_fd);
}

void lc_log_reset(int fd)
{
	lc_store(&log_fd, fd);
}
