/* SPDX-License-Identifier: MIT */
/* share.h: how many processes accept on each listening socket, counted in one page shared by a
 * process tree (mapped when the first process becomes a server, before it forks workers), so
 * the last acceptor to stop, and only it, shuts the socket for good. */
#ifndef LASTCALL_SHARE_H
#define LASTCALL_SHARE_H

#include <stdbool.h>
#include <sys/types.h>

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* Maps the page if this process has none. Returns 0 or -1. Arming. */
int lc_share_setup(void);

/* A new socket was made a listener here (listen()): any count left over for a socket that had
 * the same inode before is stale. A program thread. */
void lc_share_reset(int fd);

/* This process starts accepting on fd's socket. Returns its slot, or -1 (no page, page full):
 * then the socket is never shut down by lastcall. AS-safe (under listener.c's spin lock). */
int lc_share_join(int fd);

/* This process stops accepting on the socket in slot. Returns the acceptors left: 0 means it was
 * the last one. AS-safe. */
int lc_share_leave(int slot);

/* This process starts (yes) or stops accepting connections on any listener. Any thread. */
void lc_share_accepting(int yes);

/* A master's stop (docs/design.md, "Masters"): it holds its own stop until its workers have
 * drained, then releases them to end. */
enum lc_master_state { LC_MASTER_NONE, LC_MASTER_HOLDING, LC_MASTER_RELEASED };

/* This process, a master, says where its stop is. AS-safe. */
void lc_share_master(enum lc_master_state state);

/* Where the stop of master pid is (LC_MASTER_NONE: not stopping as a master). Any thread. */
enum lc_master_state lc_share_master_state(pid_t pid);

/* This process's drain is over: it waits for its master to release it. Cleanup thread. */
void lc_share_drained(void);

/* Children of parent on the list whose drain is not over yet. Cleanup thread. */
int lc_share_undrained(pid_t parent);

/* Whether a child of process parent is on the list: a master's worker. AS-safe. */
bool lc_share_has_worker(pid_t parent);

/* Whether process pid (a child) accepts connections itself, as a pre-fork worker does, or did
 * until its intake stopped: it leaves the list when it ends. Any context, AS-safe. */
int lc_share_accepts(pid_t pid);

/* The parent of process pid, from /proc/PID/stat; 0 if it is gone. Any thread. */
pid_t lc_share_parent(pid_t pid);

#pragma GCC visibility pop

#endif
