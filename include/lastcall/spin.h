/* SPDX-License-Identifier: MIT */
/* spin.h: lastcall's two locks. The spin lock may be taken in a signal handler: the holder
 * blocks every signal, so no handler can interrupt it on its own thread and then spin on it
 * forever; other threads hold it for a few instructions. AS-safe. The mutex is for threads,
 * never a signal handler, and sleeps while it waits. */
#ifndef LASTCALL_SPIN_H
#define LASTCALL_SPIN_H

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>

#include "lastcall/sys.h"
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

/* The mutex: 0 free, 1 taken, 2 taken and maybe waited for (Drepper, "Futexes Are Tricky",
 * mutex 3). Not pthread_mutex_t: glibc takes a private pthread mutex with a plain store while
 * it believes the process has one thread, and lastcall tells it so when the only other thread
 * is lastcall's own (solo.h). A fork child sets the word to 0. Out of line: it is on no hot
 * path. Program threads and the cleanup thread, not AS-safe. */
static __attribute__((noinline, unused)) void lc_mutex_lock(int *word)
{
	int c = lc_cas_val(word, 0, 1);

	if (c != 0) {
		if (c != 2)
			c = lc_xchg(word, 2);
		while (c != 0) {
			lc_syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 2, 0, 0, 0);
			c = lc_xchg(word, 2);
		}
	}
	LC_TSAN_ACQUIRE(word);
}

static __attribute__((noinline, unused)) void lc_mutex_unlock(int *word)
{
	LC_TSAN_RELEASE(word);
	if (lc_xchg(word, 0) == 2)
		lc_syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

#pragma GCC visibility pop

#endif
