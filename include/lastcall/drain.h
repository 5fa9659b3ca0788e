/* SPDX-License-Identifier: MIT */
/* drain.h: the cleanup thread. It sleeps on a wake pipe; a trigger signal or an exit with
 * connections open wakes it, and it stops intake, waits for the connections (to a deadline),
 * then hands the end of the process back to the program. */
#ifndef LASTCALL_DRAIN_H
#define LASTCALL_DRAIN_H

#include <stdbool.h>
#include <sys/types.h>

#include "lastcall/atomic.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

extern int lc_draining;	    /* a drain runs in this process: closes must poke the thread */
extern pid_t lc_thread_pid; /* pid of the process whose cleanup thread is running */
extern int lc_helper;	    /* this process was exec'd by a server under lastcall */
extern pid_t lc_helper_parent; /* that server */

/* Wakes the cleanup thread. AS-safe; errno is preserved. */
void lc_drain_poke(void);

/* The process becomes a server: fd table, private fds, cleanup thread, then lastcall's
 * handlers. Returns 0, or -1 if lastcall is off. Any thread, not AS-safe. */
int lc_arm(void);

/* Hooks call this first: a load and a branch once the process is armed. */
static inline int lc_server(void)
{
	extern int lc_armed;

	return __builtin_expect(lc_acquire(&lc_armed), 1) ? 0 : lc_arm();
}

/* At start-up (the constructor), before main: a process started with connected TCP sockets
 * (inetd style) tracks them as connections; a process exec'd by a server under lastcall is its
 * helper. Either becomes a server at once. */
void lc_drain_startup(void);

/* exit() or return from main: if connections this process accepted are open, stop intake and
 * wait for them (to the deadline) before returning. A process that has none is not delayed.
 * Program thread; must not be called twice on one thread (the exit hook guards recursion). */
void lc_drain_exit(void);

/* exec() while a drain holds a trigger signal: as for exit(), the signal's disposition comes
 * first (a server's wrapper script that would exec the server once its own child ends must not
 * start it after being told to stop). Returns at once otherwise. Program thread. */
void lc_drain_exec(void);

/* fork() with the trigger signals blocked; the child becomes a server at once if it inherited
 * connections or listeners, so a signal can never find it half set up. */
pid_t lc_drain_fork(void);

/* A trigger signal reached this process, whose program has a handler of its own for it: whether
 * it is a master (children that accept or did, none itself, nothing to drain). If so its workers
 * are held at once, to wait for its own handler, which runs once they have drained
 * (docs/design.md, "Masters"), and its exit() will wait for its children. Signal handler,
 * AS-safe. */
bool lc_drain_master(void);

/* kill(pid, SIGKILL): a SIGKILL to a process that is draining under lastcall waits for that
 * process to end on its own, at most as long as a drain can last here; any other is sent at
 * once. Returns as kill(). Program thread. */
int lc_drain_kill(pid_t pid);

/* fd is one of lastcall's private fds and the program wants its number (dup2): move ours. */
void lc_drain_move_private(int fd);

/* pthread_atfork handlers. */
void lc_drain_atfork_child(void);

#pragma GCC visibility pop

#endif
