/* SPDX-License-Identifier: MIT */
/* init.h: lastcall's process-wide state and its one-time initialisation. Every hook starts
 * with lc_active(): a load and a branch once initialised. */
#ifndef LASTCALL_INIT_H
#define LASTCALL_INIT_H

#include <stdbool.h>
#include <signal.h>
#include <sys/types.h>

#include "lastcall/atomic.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

extern int lc_ready;  /* lc_init() has finished */
extern int lc_off;    /* pure pass-through: LASTCALL_DISABLE, or an internal failure */
extern pid_t lc_pid;  /* this process's pid, refreshed in a fork child */
extern int lc_armed;  /* this process is a server: tables, handlers and thread are up */
extern int lc_hot;    /* armed and on: accept() and close() take their fast paths */

/* Reads the configuration, binds lc_real and records the inherited signal dispositions.
 * Idempotent; safe to call from any hook, even before our constructor has run (another
 * library's constructor may call signal()). Not AS-safe the first time. */
void lc_init_slow(void);

static inline void lc_init(void)
{
	if (__builtin_expect(!lc_acquire(&lc_ready), 0))
		lc_init_slow();
}

/* lc_init(), then whether lastcall is on. */
static inline bool lc_active(void)
{
	lc_init();
	return !lc_load(&lc_off);
}

/* An internal failure lastcall cannot work around: log why (and errno err, if not 0) in one
 * line, once, and pass everything through from now on, handing every trigger signal back to
 * the program. Any thread. */
void lc_turn_off(const char *why, int err);

/* Block or unblock the trigger signals in the calling thread (around fork). */
void lc_block_triggers(sigset_t *old);

#pragma GCC visibility pop

#endif
