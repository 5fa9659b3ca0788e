/* SPDX-License-Identifier: MIT */
/* off.h: lastcall turning itself off when it cannot work. */
#ifndef LASTCALL_OFF_H
#define LASTCALL_OFF_H

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* An internal failure lastcall cannot work around: log why (and errno err, if not 0) in one
 * line, once, and pass everything through from now on, handing every trigger signal back to
 * the program. Any thread, not AS-safe. */
void lc_turn_off(const char *why, int err);

#pragma GCC visibility pop

#endif
