/* SPDX-License-Identifier: MIT */
/* thread.h: the cleanup thread. It sleeps on the wake pipe; a trigger signal (sig.h) or an
 * exit() with connections open wakes it, and it runs a drain (drain.h), then hands the end of
 * the process back to the program. The program's exit() and exec() talk to it here. */
#ifndef LASTCALL_THREAD_H
#define LASTCALL_THREAD_H

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* Starts the cleanup thread, every signal blocked in it, and waits (0.5 s at most) until it
 * runs lastcall's code. Returns 0, or pthread_create's error. Arming, under its lock. */
int lc_thread_start(void);

/* exit() or return from main: if connections this process accepted are open, stop intake and
 * wait for them (to the deadline) before returning. A process that has none is not delayed.
 * Program thread; must not be called twice on one thread (the exit hook guards recursion). */
void lc_thread_exit(void);

/* exec() while a drain holds a trigger signal: as for exit(), the signal's disposition comes
 * first (a server's wrapper script that would exec the server once its own child ends must not
 * start it after being told to stop). Returns at once otherwise. Program thread. */
void lc_thread_exec(void);

/* In a child after fork: no thread runs there. */
void lc_thread_fork_child(void);

#pragma GCC visibility pop

#endif
