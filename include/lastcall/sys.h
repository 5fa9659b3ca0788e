/* SPDX-License-Identifier: MIT */
/* sys.h: system calls made directly. lastcall hooks libc's syscall() (a program may close its
 * fds through it), so its own system calls must not go through that name: lc_syscall() makes
 * them itself, returning -1 with errno set as syscall() does. Any context, AS-safe. */
#ifndef LASTCALL_SYS_H
#define LASTCALL_SYS_H

#include <errno.h>
#include <sys/syscall.h>

#if defined(__x86_64__) || defined(__aarch64__)
#define LC_HAVE_SYS 1 /* lc_syscall() is the instruction itself; syscall() is hooked */

static inline long lc_sys(long n, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
	register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
#else
	register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c, x3 __asm__("x3") = d, x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;
	long r;

	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory", "cc");
	r = x0;
#endif
	if ((unsigned long)r > -4096UL) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

#define LC_SYS7(n, a, b, c, d, e, f, ...)                                                    \
	lc_sys((long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
/* lc_syscall(SYS_x, args...): up to six arguments, each passed as a long. */
#define lc_syscall(...) LC_SYS7(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)

#else /* elsewhere syscall() is not hooked, and libc's is lastcall's */
#include <unistd.h>
#define lc_syscall syscall
#endif

#endif
