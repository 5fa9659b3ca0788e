/* SPDX-License-Identifier: MIT */
/* drain.h: one drain, run by the cleanup thread (thread.h): stop intake, wait for the
 * connections to close, close the idle ones, end what is left at the deadline, say what
 * happened. Its decisions are functions of their own (lc_drain_idle_due, lc_drain_done), for
 * the unit tests. */
#ifndef LASTCALL_DRAIN_H
#define LASTCALL_DRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "lastcall/tcp.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* After the last child ends, the program gets this long to finish its own SIGCHLD handling (it
 * may be between its waitpid() and its bookkeeping when the hand-back would land there). */
#define LC_CHILD_SETTLE_MS 20

/* One drain: sig is the trigger signal, or 0 for exit() (then only this process's own
 * connections are waited for, and queued ones are not taken, as no one will accept them). */
struct lc_drain {
	int sig;
	bool own;     /* only this process's own connections count */
	bool helper;  /* this process is a server's helper: it holds the signal to the deadline */
	bool released; /* ...until the server's own signal came (lc_drain_from_server) */
	pid_t sender;  /* the sender of the latest trigger signal seen, a helper's */
	bool kids;    /* children are waited for */
	bool ending;  /* the deadline has passed (or the user insisted): finishing up */
	bool hurry;   /* the user insisted: no lingering, no waiting for children */
	bool exiting; /* the program called exit() meanwhile: its own connections only */
	bool master;  /* a master: done when its workers' drains are, its own stop comes after */
	bool quiet;   /* a master's exit after its stop, waiting for its workers to end: said at
		       * debug level, the stop's own summary having said it all */
	unsigned ints;
	int64_t deadline, linger_until, kill_at;
	int64_t idle_look, idle_check; /* the last look for idle connections, and the next */
	int n0, idle, ended, forwarded, termed, killed;
	int unseen; /* connections found closed without close(), by the once-a-second look */
};

/* Runs a drain for trigger signal sig (0: for exit()). Returns false if the program called
 * exit() meanwhile (its exit then waits for the hand-back). Cleanup thread. */
bool lc_drain_run(int sig);

/* Waits up to timeout ms (-1: forever) for a poke, a lingering connection's news or a child's
 * end; a wake pipe the program closed is made again. Cleanup thread. */
void lc_drain_wait(int64_t timeout);

/* The program calls exit() (or exec) while the thread drains or holds a signal: set by the
 * program's thread, read by the cleanup thread. */
void lc_drain_request_exit(void);
bool lc_drain_exit_requested(void);

/* Connections still to finish: those queued in stashes, then the table's (all, or only this
 * process's own). Any thread. */
int lc_drain_remaining(bool own);

/* How long a connection in state s, quiet for quiet ms, must still stay quiet to count as
 * idle: 0 if it is idle now, -1 if it cannot be (not an established TCP connection). Reads
 * LASTCALL_IDLE. Cleanup thread (and the unit tests). */
int64_t lc_drain_idle_due(enum lc_conn_state s, int64_t quiet);

/* Whether drain d has nothing left to wait for at time t (monotonic ms), with n connections,
 * lingering closes and kids children still open. Cleanup thread (and the unit tests). */
bool lc_drain_done(const struct lc_drain *d, int n, int lingering, int kids, int64_t t);

/* Whether pid, which sent this helper a trigger signal, is the server it helps: its parent, or
 * a process above it that runs lastcall (a shell may be between them, as in Apache's
 * "|sh -c 'cat >>log'"). Such a signal is the server ending its helper: it passes at once, and
 * ends the hold of one that came from outside before it. Cleanup thread. */
bool lc_drain_from_server(pid_t pid);

/* In a child after fork. */
void lc_drain_fork_child(void);

#pragma GCC visibility pop

#endif
