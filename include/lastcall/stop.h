/* SPDX-License-Identifier: MIT */
/* stop.h: stopping intake without losing what the kernel already accepted. See docs/design.md
 * for the sequence, its fallbacks and their races. */
#ifndef LASTCALL_STOP_H
#define LASTCALL_STOP_H

#include <stdbool.h>

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* How long to wait for handshakes under way once new ones are dropped. */
#define LC_SETTLE_MS 1000

/* Stops intake on every listener this process accepts on; with stash, queued connections are
 * kept for the program's next accept(). Returns how many listeners were stopped.
 * Cleanup thread. */
int lc_stop_intake(bool stash);

/* Before fork: waits for a listener being stopped, and holds off the next until after. The
 * fork handlers: prepare on the forking program thread, done in the parent and in the child. */
void lc_stop_fork_prepare(void);
void lc_stop_fork_done(bool child);

#pragma GCC visibility pop

#endif
