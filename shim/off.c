/* SPDX-License-Identifier: MIT */
/* off.c: turning lastcall off: pass-through from then on, trigger signals handed back. */
#define _GNU_SOURCE
#include "lastcall/atomic.h"
#include "lastcall/log.h"
#include "lastcall/off.h"
#include "lastcall/sig.h"
#include "lastcall/state.h"

void lc_turn_off(const char *why, int err)
{
	lc_release(&lc_hot, 0);
	if (lc_xchg(&lc_off, 1))
		return;
	if (err)
		lc_log(LC_ERROR, "%s: errno %d (%s): lastcall is off, the program runs as without it",
		       why, err, lc_errno_name(err));
	else
		lc_log(LC_ERROR, "%s: lastcall is off, the program runs as without it", why);
	lc_sig_disarm();
}
