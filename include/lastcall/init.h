/* SPDX-License-Identifier: MIT */
/* init.h: lastcall's one-time initialisation. Every hook starts with lc_active() (or
 * lc_init()): a load and a branch once initialised. */
#ifndef LASTCALL_INIT_H
#define LASTCALL_INIT_H

#include <stdbool.h>

#include "lastcall/atomic.h"
#include "lastcall/state.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* Reads the configuration, binds lc_real and records the inherited signal dispositions.
 * Idempotent; safe to call from any hook on any thread, even before our constructor has run
 * (another library's constructor may call signal()). Not AS-safe the first time. */
void lc_init_slow(void);

/* lc_init_slow() the first time, then a load and a branch. Any thread. */
static inline void lc_init(void)
{
	if (__builtin_expect(!lc_acquire(&lc_ready), 0))
		lc_init_slow();
}

/* lc_init(), then whether lastcall is on. Any thread. */
static inline bool lc_active(void)
{
	lc_init();
	return !lc_load(&lc_off);
}

#pragma GCC visibility pop

#endif
