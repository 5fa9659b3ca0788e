/* SPDX-License-Identifier: MIT */
/* arm.h: a process becoming a server (armed): the fd table, lastcall's private fds, the
 * cleanup thread, then lastcall's handlers on the trigger signals. A process arms when it
 * first listens or accepts, at start-up if it was started with connections (inetd style) or
 * by a server under lastcall (a helper), and at fork if it inherited connections or listeners. */
#ifndef LASTCALL_ARM_H
#define LASTCALL_ARM_H

#include <sys/types.h>

#include "lastcall/atomic.h"
#include "lastcall/state.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* Arms the process if it is not yet. Returns 0, or -1 if lastcall is off. Any thread, not
 * AS-safe. */
int lc_arm(void);

/* What the hooks call first: a load and a branch once the process is armed. Any thread, as
 * lc_arm(). */
static inline int lc_ensure_armed(void)
{
	return __builtin_expect(lc_acquire(&lc_armed), 1) ? 0 : lc_arm();
}

/* At start-up (the constructor), before main: a process started with connected TCP sockets
 * (inetd style) tracks them as connections; a process exec'd by a server under lastcall is its
 * helper. Either arms at once. Once, from lc_init(). */
void lc_arm_startup(void);

/* fork() with the trigger signals blocked; the child arms at once if it inherited connections
 * or listeners (or is a helper's), so a signal can never find it half set up. Program thread. */
pid_t lc_arm_fork(void);

/* In a child after fork (pthread_atfork, so AS-safe work only): not armed until it arms. */
void lc_arm_fork_child(void);

#pragma GCC visibility pop

#endif
