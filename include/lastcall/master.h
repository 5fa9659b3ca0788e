/* SPDX-License-Identifier: MIT */
/* master.h: masters and their workers at a stop (docs/design.md, "Masters"). A master (a
 * process whose children accept connections while it accepts none, Apache's or a pre-fork
 * server's parent) holds its own stop until its workers have drained, then runs its own
 * handler, then releases its workers, so a worker's end never makes it start another. */
#ifndef LASTCALL_MASTER_H
#define LASTCALL_MASTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* The longest a drain can last here, from its signal: the grace period, the deadline, the
 * children's SIGKILL and the deadline's lingering. Any context, AS-safe. */
int64_t lc_master_longest_drain_ms(void);

/* A trigger signal reached this process, whose program has a handler of its own for it:
 * whether it is a master (children that accept or did, none itself, nothing to drain). If so
 * its workers are held at once, to wait for its own handler, which runs once they have
 * drained, and its exit() will wait for its children. Signal handler, AS-safe. */
bool lc_master_check(void);

/* Whether this process holds its stop as a master (lc_master_check said so), and until when
 * its workers' drains are bound to be over (monotonic ms; 0: not stopping as a master).
 * Any thread. */
bool lc_master_holding(void);
int64_t lc_master_until(void);

/* A worker's drain is over: if its parent holds its stop as a master, it waits to be released
 * (its master's handler has run, so its end cannot make the master start a new worker), at
 * most as long as a drain may still take there. Cleanup thread. */
void lc_master_wait_release(void);

/* A master's drain is over and its signal given back: waits for its handler to have started
 * (2 s at most), then releases its workers. Does nothing in a process that is not holding as
 * a master. Cleanup thread. */
void lc_master_release(int sig);

/* kill(pid, SIGKILL): a SIGKILL to a process that is draining under lastcall waits for that
 * process to end on its own, at most as long as a drain can last here; any other is sent at
 * once. Returns as kill(). Program thread. */
int lc_master_kill(pid_t pid);

/* In a child after fork: not a master. */
void lc_master_fork_child(void);

#pragma GCC visibility pop

#endif
