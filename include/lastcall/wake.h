/* SPDX-License-Identifier: MIT */
/* wake.h: the wake pipe. The cleanup thread sleeps on its read end; a trigger signal's handler,
 * a close during a drain and an exit() write a byte to wake it. */
#ifndef LASTCALL_WAKE_H
#define LASTCALL_WAKE_H

#include <stdint.h>

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* Wakes the cleanup thread (nothing if there is no pipe). Any context, AS-safe; errno is
 * preserved. */
void lc_wake_poke(void);

/* Makes the pipe, both ends close-on-exec and at fds >= min; *rd and *wr get them. Returns 0,
 * or -1 with errno. Arming, or the cleanup thread making it again (lc_private_renew()). */
int lc_wake_open(int min, int *rd, int *wr);

/* Forgets the pipe, closing the ends still open (the read end only if rd_open): the program
 * closed them behind lastcall's back (cleanup thread), or a fork child got the parent's (in a
 * child after fork). */
void lc_wake_close(int rd_open, int wr_open);

/* The pipe's read and write ends, -1 for none. Any thread. */
void lc_wake_fds(int *rd, int *wr);

/* One end of the pipe now also answers as to: the program's dup2() is about to take from.
 * A program thread. */
void lc_wake_moved(int from, int to);

/* Cleanup thread: waits up to timeout ms (-1: forever) for a poke or for one of the n (3 at
 * most) fds in also to be readable, then empties the pipe. Returns 0; or, if the program closed
 * an end by a call no hook sees (a raw close_range system call), LC_WAKE_HALF (the write end
 * only) or LC_WAKE_GONE (the read end too): the pipe must be made again. */
enum { LC_WAKE_HALF = 1, LC_WAKE_GONE = 2 };
int lc_wake_wait(int64_t timeout, const int *also, int n);

#pragma GCC visibility pop

#endif
