/* SPDX-License-Identifier: MIT */
/* real.c: fills lc_real with the next definition of each hooked function (libc's). Optional
 * functions that are missing (close_range and closefrom before glibc 2.34) leave NULL and their
 * hooks answer ENOSYS, as that libc would have. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>

#include "lastcall/log.h"
#include "lastcall/real.h"

struct lc_real lc_real;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool complete;

/* Binds one entry; a required one that is missing makes the table incomplete. */
#define BIND(field, name, required)                                                         \
	do {                                                                                 \
		lc_real.field = (__typeof__(lc_real.field))dlsym(RTLD_NEXT, name);           \
		if (!lc_real.field && (required))                                            \
			complete = false;                                                    \
	} while (0)

static void bind_all(void)
{
	complete = true;
	BIND(accept, "accept", true);
	BIND(accept4, "accept4", true);
	BIND(listen, "listen", true);
	BIND(close, "close", true);
	BIND(close_range, "close_range", false);
	BIND(closefrom, "closefrom", false);
	BIND(dup2, "dup2", true);
	BIND(dup3, "dup3", true);
	BIND(epoll_create, "epoll_create", true);
	BIND(epoll_create1, "epoll_create1", true);
	BIND(fork, "fork", true);
	BIND(sigaction, "sigaction", true);
	BIND(signal, "signal", true);
	BIND(bsd_signal, "bsd_signal", true);
	BIND(sysv_signal, "sysv_signal", true);
	BIND(sigset, "sigset", true);
	BIND(siginterrupt, "siginterrupt", true);
	BIND(exit, "exit", true);
	BIND(libc_start_main, "__libc_start_main", true);
	if (!complete)
		lc_log(LC_ERROR, "unable to find libc's functions with dlsym: lastcall is off");
}

LC_EARLY int lc_real_bind_signals(void)
{
	static int bound;

	/* Racing threads store the same pointers: harmless, and no lock is needed. */
	if (__atomic_load_n(&bound, __ATOMIC_ACQUIRE))
		return 0;
	lc_real.sigaction = (__typeof__(lc_real.sigaction))dlsym(RTLD_NEXT, "sigaction");
	lc_real.signal = (__typeof__(lc_real.signal))dlsym(RTLD_NEXT, "signal");
	lc_real.bsd_signal = (__typeof__(lc_real.bsd_signal))dlsym(RTLD_NEXT, "bsd_signal");
	lc_real.sysv_signal = (__typeof__(lc_real.sysv_signal))dlsym(RTLD_NEXT, "sysv_signal");
	lc_real.sigset = (__typeof__(lc_real.sigset))dlsym(RTLD_NEXT, "sigset");
	lc_real.siginterrupt = (__typeof__(lc_real.siginterrupt))dlsym(RTLD_NEXT, "siginterrupt");
	if (!lc_real.sigaction || !lc_real.signal || !lc_real.bsd_signal || !lc_real.sysv_signal ||
	    !lc_real.sigset || !lc_real.siginterrupt)
		return -1;
	__atomic_store_n(&bound, 1, __ATOMIC_RELEASE);
	return 0;
}

int lc_real_bind(void)
{
	pthread_once(&once, bind_all);
	return complete ? 0 : -1;
}
