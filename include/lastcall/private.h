/* SPDX-License-Identifier: MIT */
/* private.h: lastcall's own fds made at arming (the wake pipe, a copy of standard error for
 * the log): where their numbers go, and making them again when the program closes them by a
 * call no hook sees. Other modules' private fds (epoll sets, pidfds) are marked with
 * lc_fds_private() where they are made. */
#ifndef LASTCALL_PRIVATE_H
#define LASTCALL_PRIVATE_H

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* The lowest number for one of lastcall's own fds: away from the low numbers programs assume
 * they own (dup2(x, 3) and the like), but below 1024 and below the fd table's size.
 * Any thread. */
int lc_private_min(void);

/* Makes the wake pipe and the log's copy of stderr, if this process has none yet. Returns 1 if
 * it made them, 0 if they were there, -1 with errno on failure. Arming, under its lock. */
int lc_private_open(void);

/* lc_wake_wait() said the program closed the wake pipe (how: LC_WAKE_HALF or LC_WAKE_GONE):
 * a new pipe is made, and a new copy of stderr if that went too; without a pipe lastcall turns
 * itself off. Cleanup thread. */
void lc_private_renew(int how);

/* In a child after fork: the pipe is the parent's (a poke must not wake the parent's thread);
 * closed, and made again if the child arms. */
void lc_private_fork_child(void);

#pragma GCC visibility pop

#endif
