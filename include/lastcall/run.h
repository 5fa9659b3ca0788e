/* SPDX-License-Identifier: MIT */
/* run.h: the exec family and posix_spawn once lastcall is on: the program run gets the set
 * it needs (exec.h) merged into the environment it is given. */
#ifndef LASTCALL_RUN_H
#define LASTCALL_RUN_H

#include <stdarg.h>
#include <stdbool.h>
#include <spawn.h>
#include <sys/types.h>

#include "lastcall/libc.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* Environments whose merged copy would take more stack than this are passed unchanged. (The
 * caller's stack: a musl program's threads have 128 KiB, lastcall/libc.h.) */
#define LC_RUN_STACK_MAX LC_LIBC_EXEC_STACK_MAX
/* execl, execle and execlp take at most this many arguments (more: E2BIG). */
#define LC_RUN_MAX_ARGS 65536

/* The hooks once lastcall is on: the real call with envp merged (on the stack: these may run
 * in a vfork child, where nothing may be allocated). Return values and errno are the real
 * call's. Any thread. */
int lc_run_execve(const char *path, char *const argv[], char *const envp[]);
int lc_run_execvpe(const char *file, char *const argv[], char *const envp[]);
int lc_run_fexecve(int fd, char *const argv[], char *const envp[]);
int lc_run_execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		     int flags);
int lc_run_spawn(bool search, pid_t *pid, const char *path,
		  const posix_spawn_file_actions_t *acts, const posix_spawnattr_t *attr,
		  char *const argv[], char *const envp[]);

/* execl, execle, execlp: which one, and whether lastcall is on. Any thread, as the above. */
enum lc_run_list { LC_RUN_EXECL, LC_RUN_EXECLE, LC_RUN_EXECLP };
int lc_run_list(enum lc_run_list kind, bool on, const char *path, const char *arg, va_list ap);

#pragma GCC visibility pop

#endif
