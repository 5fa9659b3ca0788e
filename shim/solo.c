/* SPDX-License-Identifier: MIT */
/* solo.c: glibc's __libc_single_threaded set again after lastcall's thread is created in a
 * program with one thread, and cleared around the calls that need the truth (solo.h). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/solo.h"

/* glibc's, since 2.32 (<sys/single_threaded.h>); weak: musl has neither. A program that reads
 * the flag itself (C++ code inlined from libstdc++'s headers) has its own copy of it (a copy
 * relocation), which this name then means; libc's own code reads libc's, which is the next
 * definition after lastcall's. glibc writes both, and so does lastcall. */
extern char __libc_single_threaded __attribute__((weak));
extern const char *gnu_get_libc_version(void) __attribute__((weak));
static char *libcs; /* libc's own flag */

/* Whether lastcall set the flag. Then, while libc's is set, the program has one thread: glibc
 * never sets it, and the program's first pthread_create() clears it (both copies). */
static bool told;

static void set(char v)
{
	lc_store(libcs, v);
	lc_store(&__libc_single_threaded, v);
}

/* The glibc versions whose every use of the flag was read (docs/design.md): in 2.36, the
 * cancellable system calls, malloc, calloc and realloc, pthread_mutex_lock and trylock, fork,
 * the set*id family, pthread_create and pthread_cancel. A later version may use it for more. */
static bool known_glibc(void)
{
	if (!&__libc_single_threaded || !gnu_get_libc_version ||
	    strcmp(gnu_get_libc_version(), "2.36") != 0)
		return false;
	if (!libcs)
		libcs = (char *)dlsym(RTLD_NEXT, "__libc_single_threaded");
	return libcs != 0;
}

bool lc_solo_before(void)
{
	return known_glibc() && lc_load(libcs) && lc_load(&__libc_single_threaded);
}

void lc_solo_after(bool solo)
{
	if (!solo)
		return;
	lc_store(&told, true);
	set(1);
}

bool lc_solo_pause(void)
{
	if (!lc_load(&told) || !lc_load(libcs))
		return false;
	set(0);
	return true;
}

void lc_solo_resume(bool paused)
{
	if (paused)
		set(1);
}

pid_t lc_solo_fork(pid_t (*fork_fn)(void))
{
	bool paused = lc_solo_pause();
	pid_t pid = fork_fn();

	lc_solo_resume(paused);
	return pid;
}
