/* SPDX-License-Identifier: MIT */
/* intake.h: listening sockets and accept(). Stopping intake swaps an inert stand-in under the
 * program's listener fd, takes the connections already queued into a stash, and hands them to
 * the program's next accept() calls, so nothing the kernel accepted is dropped. */
#ifndef LASTCALL_INTAKE_H
#define LASTCALL_INTAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define LC_MAX_LISTENERS 256

/* accept() and accept4() (four selects which real function): passes through, records the new
 * connection, and on a stopped listener hands out stashed connections or parks the caller as an
 * idle listener would. Return value and errno are what the program would see. */
int lc_intake_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags, bool four);

/* listen(): on success, remembers fd as a listener this process created. */
int lc_intake_listen(int fd, int backlog);

/* The program closed (or replaced with dup2) listener fd with record li. */
void lc_intake_closed(int fd, uint16_t li);

/* Stops intake on every listener this process accepts on; with stash, queued connections are
 * kept for the program. Returns how many listeners were stopped. Cleanup thread. */
int lc_intake_stop(bool stash);

/* Wakes every thread blocked in accept() on a stand-in (a restarted call can land there), so
 * that after a hand-back each one decides again, in lastcall's code, between EINTR and waiting
 * on. Cleanup thread. */
void lc_intake_kick(void);

/* Queued connections waiting in stashes. Any thread. */
int lc_intake_stashed(void);

/* Closes stashed connections no one will accept (deadline, or the listener was closed): all of
 * them, or only those of closed listeners. Returns how many. Cleanup thread. */
int lc_intake_drop_stash(bool all);

/* dup2 is about to take the number of stashed connection fd: move the connection. */
void lc_intake_move_stashed(int fd);

/* Listener records in use. */
int lc_intake_listeners(void);

/* Before fork: waits for a listener being stopped, and holds off the next until after. */
void lc_intake_fork_prepare(void);

/* After fork: every listener is now shared with the other process; the child forgets which it
 * accepted on and the stash (its copies of the parent's stashed fds are closed). */
void lc_intake_fork(bool child);

#endif
