/* SPDX-License-Identifier: MIT */
/* linger.h: ending connections without a reset. A close while the client's bytes are still
 * unread sends a reset, and a reset can destroy the reply the client has not read yet. So when
 * lastcall ends a connection, or the program closes one during a drain, lastcall stops writing
 * (a FIN follows whatever was queued) and reads and discards what the client still sends, until
 * the client closes its side or LC_LINGER_MS has passed. A close by the program lingers longer
 * while its reply is still being delivered (unacknowledged, and data went out in the last
 * LC_LINGER_MS), bounded by the drain's deadline. */
#ifndef LASTCALL_LINGER_H
#define LASTCALL_LINGER_H

#include <stdbool.h>

#include <stdint.h>

#include "lastcall/fds.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

#define LC_LINGER_MS 1000

/* Opens the epoll set lingering connections wait in (once per process). Cleanup thread. */
int lc_linger_setup(void);

/* The epoll fd the cleanup thread waits on besides its wake pipe, or -1. Any thread. */
int lc_linger_fd(void);

/* The program closes connection fd during a drain: lastcall keeps the socket (a private dup)
 * and finishes it. Returns 0 if taken, -1 if the caller must just close. Any thread. */
int lc_linger_adopt(int fd);

/* lastcall ends connection fd, which the program still holds (deadline): stop writing, discard
 * what comes in, until the client closes. Cleanup thread. */
void lc_linger_end(int fd);

/* Reads and discards what lingering connections received; closes those the client closed or
 * whose time is up. Returns how many still linger. Cleanup thread. */
int lc_linger_service(void);

/* dup2() wants the number of our lingering fd: finish it now. A program thread. */
void lc_linger_release(int fd);

/* Closes whatever still lingers (the process is ending). Cleanup thread. */
void lc_linger_drop_all(void);

/* In a child after fork: the linger set is the parent's. */
void lc_linger_fork_child(void);

/* What the program's close of a connection (during a drain: it lingers) and its dup2() onto
 * a lingering fd (finished first) do (fds.h). */
extern const struct lc_fd_owner lc_linger_conn_owner;
extern const struct lc_fd_owner lc_linger_owner;

#pragma GCC visibility pop

#endif
