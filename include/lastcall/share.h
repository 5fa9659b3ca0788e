/* SPDX-License-Identifier: MIT */
/* share.h: how many processes accept on each listening socket, counted in one page shared by a
 * process tree (mapped when the first process becomes a server, before it forks workers), so
 * the last acceptor to stop, and only it, shuts the socket for good. */
#ifndef LASTCALL_SHARE_H
#define LASTCALL_SHARE_H

#include <stdbool.h>
#include <sys/types.h>

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* Maps the page if this process has none. Returns 0 or -1. */
int lc_share_setup(void);

/* A new socket was made a listener here (listen()): any count left over for a socket that had
 * the same inode before is stale. */
void lc_share_reset(int fd);

/* This process starts accepting on fd's socket. Returns its slot, or -1 (no page, page full):
 * then the socket is never shut down by lastcall. */
int lc_share_join(int fd);

/* This process stops accepting on the socket in slot. Returns the acceptors left: 0 means it was
 * the last one. */
int lc_share_leave(int slot);

/* This process starts (yes) or stops accepting connections on any listener. */
void lc_share_accepting(int yes);

/* Whether a child of process parent is on the list: a master's worker. AS-safe. */
bool lc_share_has_worker(pid_t parent);

/* Whether process pid (a child) accepts connections itself, as a pre-fork worker does, or did
 * until its intake stopped: it leaves the list when it ends. */
int lc_share_accepts(pid_t pid);

#pragma GCC visibility pop

#endif
