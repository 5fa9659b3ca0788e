/* SPDX-License-Identifier: MIT */
/* children.h: a server's child processes at shutdown. lastcall waits for them to end without
 * ever reaping one (their exit statuses stay the program's), forwards the trigger signal to
 * those that accept connections themselves (pre-fork workers), and ends those left at the
 * deadline: SIGTERM, then SIGKILL. Every child is held by a pidfd, so a reused pid is never
 * signalled. Most of it runs on the cleanup thread; each declaration says. */
#ifndef LASTCALL_CHILDREN_H
#define LASTCALL_CHILDREN_H

#include <stdbool.h>
#include <stdint.h>

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* The cleanup thread's name, and its name while it drains: other processes of the tree read
 * them (/proc/PID/task/TID/comm) to tell a process under lastcall, and one that drains. */
#define LC_THREAD_NAME "lastcall"
#define LC_THREAD_DRAINING "lastcall-drain"

/* Makes ready to wait for children (the set their pidfds wait in is made when the first
 * child is found). Cleanup thread. */
void lc_children_setup(void);

/* The epoll fd to wait on for a child's end, or -1 (no child found yet). Cleanup thread. */
int lc_children_fd(void);

/* Finds children not seen yet (fork, posix_spawn, system, popen alike) and counts those still
 * running. Cleanup thread. */
int lc_children_scan(void);

/* Sends sig to the children that accept connections on a listener of their own or shared, so
 * they stop intake and drain too, each once: called again, it tells only those that began
 * accepting since (a worker started or restarted as the stop began). Returns how many.
 * Cleanup thread. */
int lc_children_forward(int sig);

/* Sends sig to every child still running; returns how many. Cleanup thread. */
int lc_children_signal(int sig);

/* Children that ended since the first scan, and when the last one did (monotonic ms).
 * Cleanup thread. */
int lc_children_ended(void);
int64_t lc_children_last_end(void);

/* kill(pid, SIGKILL) to a process that drains: waits until pid ends on its own or
 * the clock reaches until (monotonic ms), then sends the SIGKILL if it is still running.
 * Returns 0 (the process is gone, as the caller wanted), or -1 with errno as kill() would.
 * A program thread (kill()), where a signal handler may run meanwhile. */
int lc_children_kill_held(pid_t pid, int64_t until);

/* Whether a child of this process holds fd's open file: at the same number, or as its standard
 * input, output or error (a CGI script). When that cannot be told (kcmp refused), yes.
 * Any thread. */
bool lc_children_share(int fd);

/* Whether process pid runs a lastcall cleanup thread: a server (or a helper) under lastcall;
 * and whether that thread is draining (it is named "lastcall-drain" meanwhile). Any thread. */
bool lc_children_runs_lastcall(pid_t pid);
bool lc_children_draining(pid_t pid);

/* Forgets every child, after a drain. Cleanup thread. */
void lc_children_reset(void);

/* In a child after fork. */
void lc_children_fork_child(void);

#pragma GCC visibility pop

#endif
