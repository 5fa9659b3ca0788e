/* SPDX-License-Identifier: MIT */
/* libfault.so: makes lastcall's own calls fail, never the program's. Preloaded after the
 * library (LD_PRELOAD=liblastcall.so:libfault.so), so the library's calls to these names reach
 * it first. FAULT is a comma list of what fails when liblastcall.so calls it:
 *   thread            pthread_create: EAGAIN
 *   wake              pipe2 and eventfd (its wake fd): EMFILE
 *   dlsym:NAME[:NAME] dlsym returns NULL for these names
 *   tcpinfo           getsockopt(TCP_INFO) returns 400 ms late: widens the window between
 *                     lastcall's look at a connection and what it does to it
 * Each fault injected prints one line "libfault[PID]: ..." on stderr. Built for musl, it has no
 * dlsym faults: musl has no dlvsym, so a dlsym of this library's could not reach musl's (every
 * lookup of the name would find this one). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#if __has_include(<execinfo.h>)
#include <execinfo.h> /* backtrace(): glibc's; musl has none */
#define HAVE_BACKTRACE 1
#endif
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The file name of the object holding code at addr, without its directory ("" if none). No
 * string functions: a sanitizer's runtime calls dlsym while it starts, before its interceptors
 * of them work. Not inlined, nor are the others: dlsym must keep no local whose address is
 * taken, or it could not jump to the real one. */
__attribute__((noinline)) static const char *object(const void *addr)
{
	Dl_info info;
	const char *name = "", *p;

	if (dladdr(addr, &info) && info.dli_fname)
		for (name = p = info.dli_fname; *p; p++)
			if (*p == '/')
				name = p + 1;
	return name;
}

/* Whether code at addr belongs to liblastcall.so (any build directory's). */
__attribute__((noinline)) static int lastcalls(const void *addr)
{
	const char *name = object(addr), *want = "liblastcall.so";

	while (*name && *name == *want)
		name++, want++;
	return *name == *want;
}

/* Whether liblastcall.so made the call that reached this library: the first caller outside it
 * and outside a sanitizer's runtime (whose interceptors may stand between, backtrace's too).
 * Without backtrace() (musl, where no sanitizer runs), the interposed function's caller. */
__attribute__((noinline)) static int from_lastcall(const void *caller)
{
#ifndef HAVE_BACKTRACE
	return lastcalls(caller);
#else
	const char *self = object((void *)from_lastcall), *name;
	void *frames[8];
	int i, n = backtrace(frames, 8);

	for (i = 0; i < n; i++) {
		name = object(frames[i]);
		if (strcmp(name, self) != 0 && !strstr(name, "san.so"))
			return lastcalls(frames[i]);
	}
	(void)caller;
	return 0;
#endif
}

/* Whether FAULT lists item (exactly), or with prefix "item:" a list holding name. */
__attribute__((noinline)) static int faulty(const char *item, const char *name)
{
	const char *f = getenv("FAULT"), *end, *p;
	size_t n = strlen(item), len;

	for (; f && *f; f = *end ? end + 1 : end) {
		end = strchrnul(f, ',');
		if ((size_t)(end - f) < n || strncmp(f, item, n) != 0)
			continue;
		if (!name && f + n == end)
			return 1;
		for (p = f + n; name && p < end && *p == ':'; p += len + 1) {
			len = strcspn(p + 1, ":,");
			if (len == strlen(name) && strncmp(p + 1, name, len) == 0)
				return 1;
		}
	}
	return 0;
}

__attribute__((noinline)) static void say(const char *what)
{
	char line[160];
	int n = snprintf(line, sizeof(line), "libfault[%d]: %s\n", (int)getpid(), what);

	if (write(2, line, (size_t)n) < 0)
		_exit(5);
}

static void *next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		say("no next definition");
		abort();
	}
	return p;
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

	if (faulty("thread", 0) && from_lastcall(__builtin_return_address(0))) {
		say("pthread_create of lastcall's thread: EAGAIN");
		return EAGAIN;
	}
	if (!real)
		real = next("pthread_create");
	return real(t, attr, fn, arg);
}

int pipe2(int fds[2], int flags)
{
	static int (*real)(int *, int);

	if (faulty("wake", 0) && from_lastcall(__builtin_return_address(0))) {
		say("pipe2 from lastcall: EMFILE");
		errno = EMFILE;
		return -1;
	}
	if (!real)
		real = next("pipe2");
	return real(fds, flags);
}

int eventfd(unsigned count, int flags)
{
	static int (*real)(unsigned, int);

	if (faulty("wake", 0) && from_lastcall(__builtin_return_address(0))) {
		say("eventfd from lastcall: EMFILE");
		errno = EMFILE;
		return -1;
	}
	if (!real)
		real = next("eventfd");
	return real(count, flags);
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	static int (*real)(int, int, int, void *, socklen_t *);
	struct timespec slow = { 0, 400 * 1000 * 1000 };
	int r, err;

	if (!real)
		real = next("getsockopt");
	r = real(fd, level, name, val, len);
	err = errno;
	if (level == IPPROTO_TCP && name == TCP_INFO && faulty("tcpinfo", 0) &&
	    from_lastcall(__builtin_return_address(0))) {
		say("getsockopt(TCP_INFO) from lastcall: returns 400 ms late");
		nanosleep(&slow, 0);
	}
	errno = err;
	return r;
}

#ifdef __GLIBC__
__attribute__((noinline)) static void *refuse(const char *name)
{
	char line[120];

	snprintf(line, sizeof(line), "dlsym(\"%s\") from lastcall: NULL", name);
	say(line);
	return 0;
}

/* dlsym itself: the real one finds RTLD_NEXT relative to its caller's return address, so it
 * is reached by a tail call (a jump, at -O2), which leaves that address the caller's own. */
void *dlsym(void *handle, const char *name)
{
	static void *(*real)(void *, const char *);

	if (!real && !(real = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34")) &&
	    !(real = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5")))
		abort();
	if (lastcalls(__builtin_return_address(0)) && faulty("dlsym", name))
		return refuse(name);
	return real(handle, name);
}
#endif
