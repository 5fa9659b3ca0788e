/* SPDX-License-Identifier: MIT */
/* stash.h: connections queued on a listener when its intake stopped. lastcall takes them off
 * the real socket (stop.h) into a FIFO per listener, linked through lc_fds[].next, and the
 * program's next accept() calls on the listener's fd get them (intake.h). While a stash holds
 * connections, one wake-up token (a connection to the stand-in) makes the fd readable, so
 * poll, select and epoll report it as they would a real listener, and only then. */
#ifndef LASTCALL_STASH_H
#define LASTCALL_STASH_H

#include <stdbool.h>
#include <stdint.h>

#include "lastcall/fds.h"
#include "lastcall/listener.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* Adds connection c, just accepted from listener li's socket, to its stash, and makes the
 * stand-in readable: the program can take it at once. Cleanup thread. */
void lc_stash_push(uint16_t li, int c);

/* Brings the stand-in's tokens in line with its stash. Cleanup thread. */
void lc_stash_settle(uint16_t li);

/* The program's accept() on stopped listener l: the oldest stashed connection, now a
 * connection of this process's in the fd table, or -1 if the stash is empty; *foreign says how
 * many strangers' connections to the stand-in were found and closed meanwhile. Any thread. */
int lc_stash_take(struct lc_listener *l, int *foreign);

/* The program's accept() on stopped listener l returned s, from the stand-in: if s is one of
 * our tokens, it is counted as taken. Any thread. */
void lc_stash_took(struct lc_listener *l, int s);

/* dup2 is about to take the number of stashed connection fd: move the connection.
 * A program thread. */
void lc_stash_move(int fd);

/* Queued connections waiting in stashes. Any context, AS-safe. */
int lc_stash_count(void);

/* Closes stashed connections no one will accept (deadline, or the listener was closed): all of
 * them, or only those of closed listeners. Returns how many. Cleanup thread. */
int lc_stash_drop(bool all);

/* What the program's dup2() onto a stashed connection's number does (fds.h). */
extern const struct lc_fd_owner lc_stash_owner;

/* In a child after fork: its copies of the parent's stashed fds are closed. */
void lc_stash_fork_child(void);

#pragma GCC visibility pop

#endif
