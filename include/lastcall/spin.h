/* SPDX-License-Identifier: MIT */
/* spin.h: a lock that may be taken in a signal handler. The holder blocks every signal, so no
 * handler can interrupt it on its own thread and then spin on it forever; other threads hold it
 * for a few instructions. AS-safe. */
#ifndef LASTCALL_SPIN_H
#define LASTCALL_SPIN_H

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include "lastcall/atomic.h"
#include "lastcall/real.h"

/* The lock is taken in code ThreadSanitizer does not instrument (LC_EARLY), so a TSan build
 * tells it about the lock by hand, with every signal blocked. (The runtime's functions: not
 * hidden.) */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define LC_TSAN_ACQUIRE(addr) __tsan_acquire(addr)
#define LC_TSAN_RELEASE(addr) __tsan_release(addr)
#else
#define LC_TSAN_ACQUIRE(addr) ((void)(addr))
#define LC_TSAN_RELEASE(addr) ((void)(addr))
#endif

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* Takes the lock with every signal blocked; *old gets the mask before. Any context, AS-safe. */
LC_EARLY static inline __attribute__((always_inline)) void lc_spin_lock(int *word, sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
	while (lc_xchg(word, 1))
		sched_yield();
	LC_TSAN_ACQUIRE(word);
}

/* Releases the lock and puts the mask back. Any context, AS-safe. */
LC_EARLY static inline __attribute__((always_inline)) void lc_spin_unlock(int *word,
									  const sigset_t *old)
{
	LC_TSAN_RELEASE(word);
	lc_release(word, 0);
	pthread_sigmask(SIG_SETMASK, old, 0);
}

#pragma GCC visibility pop

#endif
