/* SPDX-License-Identifier: MIT */
/* real.h: lc_real, the table of the libc functions lastcall hooks, bound once with
 * dlsym(RTLD_NEXT). lastcall's own code calls these, never a hooked name: that is what keeps a
 * hook from re-entering itself. The unit tests define their own lc_real full of fakes. */
#ifndef LASTCALL_REAL_H
#define LASTCALL_REAL_H

#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "lastcall/libc.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

typedef int (*lc_main_fn)(int, char **, char **);

struct lc_real {
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*listen)(int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*close)(int);
	int (*close_range)(unsigned, unsigned, int);
	void (*closefrom)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*epoll_create)(int);
	int (*epoll_create1)(int);
	pid_t (*fork)(void);
	int (*kill)(pid_t, int);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	sighandler_t (*signal)(int, sighandler_t);
	sighandler_t (*bsd_signal)(int, sighandler_t);
	sighandler_t (*sysv_signal)(int, sighandler_t);
	sighandler_t (*sigset)(int, sighandler_t);
	int (*siginterrupt)(int, int);
	void (*exit)(int) __attribute__((noreturn));
	int (*libc_start_main)(lc_main_fn, int, char **, void (*)(void), void (*)(void),
			       void (*)(void) LC_START_MAIN_END);
	/* The exec family (shim/exec.c); execv, execvp and the execl ones become these. */
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*execveat)(int, const char *, char *const[], char *const[], int);
	int (*posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			   const posix_spawnattr_t *, char *const[], char *const[]);
	int (*posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			    const posix_spawnattr_t *, char *const[], char *const[]);
	int (*system)(const char *);
	FILE *(*popen)(const char *, const char *);
	/* The set*id family (solo.h). */
	int (*setuid)(uid_t);
	int (*setgid)(gid_t);
	int (*seteuid)(uid_t);
	int (*setegid)(gid_t);
	int (*setreuid)(uid_t, uid_t);
	int (*setregid)(gid_t, gid_t);
	int (*setresuid)(uid_t, uid_t, uid_t);
	int (*setresgid)(gid_t, gid_t, gid_t);
	int (*setgroups)(size_t, const gid_t *);
	int (*initgroups)(const char *, gid_t);
};

extern struct lc_real lc_real;

/* Code ThreadSanitizer must not instrument: code that may run while another runtime preloaded
 * ahead of lastcall is starting (a sanitizer's, which installs its signal handlers through us
 * before its per-thread state exists), and lastcall's signal handler, which may interrupt that
 * runtime anywhere. */
#define LC_EARLY __attribute__((no_sanitize_thread))

/* Binds the signal functions only, with dlsym and nothing else (no lock, no allocation), for
 * the calls that go straight to libc. Returns 0, or -1 if one is missing. Any thread, LC_EARLY. */
int lc_real_bind_signals(void);

/* Binds every entry once (pthread_once). Returns 0, or -1 if a function lastcall cannot work
 * without is missing (then lastcall turns itself off). Any thread, not AS-safe. */
int lc_real_bind(void);

#pragma GCC visibility pop

#endif
