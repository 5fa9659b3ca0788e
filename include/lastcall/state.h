/* SPDX-License-Identifier: MIT */
/* state.h: the state of the process as a whole, in one place. Each variable is written by the
 * one module named beside it and read anywhere, through atomic.h. In the order a process goes
 * through them:
 *
 *   lc_ready    init      lc_init() has run: configuration read, lc_real bound
 *   lc_off      init, off pure pass-through from now on (LASTCALL_DISABLE, or lastcall could
 *                         not work: no libc function, no fd table, no thread); never cleared
 *   lc_armed    arm       this process is a server: fd table, private fds, cleanup thread and
 *                         lastcall's handlers are up; cleared in a fork child until it arms
 *   lc_hot      arm, off  lc_armed and not lc_off: then the size of the fd table (lc_fds_n),
 *                         else 0. The hooks on every connection's path (accept, close) compare
 *                         the fd with this one word (lc_fd_hot)
 *   lc_draining drain     a drain runs: a close must wake the cleanup thread
 */
#ifndef LASTCALL_STATE_H
#define LASTCALL_STATE_H

#include <sys/types.h>

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

extern int lc_ready;
extern int lc_off;
extern int lc_armed;
extern int lc_hot;
extern int lc_draining;

/* This process's pid (init; refreshed in a fork child), and the pid of the process whose
 * cleanup thread runs (arm): in a fork child the two differ until it arms, and a signal
 * handler that sees them differ has no thread to wake. */
extern pid_t lc_pid;
extern pid_t lc_thread_pid;

/* This process was exec'd by a server under lastcall (a CGI script, a helper command), and
 * that server's pid (arm, at start-up and in a helper's fork child). */
extern int lc_helper;
extern pid_t lc_helper_parent;

/* In a fork child of a server (a process with listeners), that server's pid; 0 otherwise (arm,
 * at fork). A listener such a child makes on a unix socket of its own serves the server's other
 * processes (intake.c: a service). */
extern pid_t lc_server_parent;

/* The sender (si_pid) of the latest trigger signal this process caught (sig): a helper holding
 * one from outside lets the server's own, sent later, end the hold (drain.c). */
extern pid_t lc_sig_sender;

#pragma GCC visibility pop

#endif
