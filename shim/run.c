/* SPDX-License-Identifier: MIT */
/* run.c: the exec family and posix_spawn with the environment merged on the caller's stack. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/exec.h"
#include "lastcall/log.h"
#include "lastcall/real.h"
#include "lastcall/run.h"
#include "lastcall/thread.h"

static size_t count(char *const envp[])
{
	size_t n = 0;

	while (envp && envp[n])
		n++;
	return n;
}

/* Whether envp lacks something of set, with the storage a merge needs (never 0 bytes: it
 * becomes a VLA). A merged copy larger than LC_RUN_STACK_MAX is not made: said once. errno is
 * kept. */
static bool need(const struct lc_exec_set *set, char *const envp[], size_t *ptrs, size_t *bytes)
{
	static int warned;
	int err = errno;
	bool missing = lc_exec_missing(envp, set, ptrs, bytes);

	errno = err;
	if (!missing)
		return false;
	if (*ptrs * sizeof(char *) + *bytes <= LC_RUN_STACK_MAX) {
		*bytes += !*bytes;
		return true;
	}
	if (!lc_xchg(&warned, 1))
		lc_log(LC_WARN, "unable to keep lastcall in a program run with an environment of "
				"%lu variables: the copy would take more than %d bytes of stack",
		       (unsigned long)count(envp), LC_RUN_STACK_MAX);
	return false;
}

/* lc_exec_merge() into the caller's storage; envp itself if that fails. errno is kept. */
static char *const *merged(const struct lc_exec_set *set, char *const envp[], char **out,
			   size_t nout, char *buf, size_t nbuf)
{
	int err = errno;
	char **m = lc_exec_merge(envp, set, out, nout, buf, nbuf);

	errno = err;
	return m ? m : envp;
}

/* Returns CALL, an expression of env: envp, or a copy of it merged with SET on this frame's
 * stack (these may run in a vfork child, where nothing may be allocated). */
#define WITH_ENV(SET, envp, CALL)                                                                  \
	do {                                                                                       \
		const struct lc_exec_set *set_ = (SET);                                            \
		char *const *env = (envp);                                                         \
		size_t np_, nb_;                                                                   \
		if (!need(set_, env, &np_, &nb_))                                                  \
			return CALL;                                                               \
		{                                                                                  \
			char *out_[np_], buf_[nb_];                                                \
			env = merged(set_, env, out_, np_, buf_, nb_);                              \
			return CALL;                                                               \
		}                                                                                  \
	} while (0)

int lc_run_execve(const char *path, char *const argv[], char *const envp[])
{
	lc_thread_exec();
	WITH_ENV(lc_exec_set_find(false, AT_FDCWD, path, 0), envp, lc_real.execve(path, argv, env));
}

int lc_run_execvpe(const char *file, char *const argv[], char *const envp[])
{
	lc_thread_exec();
	WITH_ENV(lc_exec_set_find(true, AT_FDCWD, file, 0), envp, lc_real.execvpe(file, argv, env));
}

int lc_run_fexecve(int fd, char *const argv[], char *const envp[])
{
	lc_thread_exec();
	WITH_ENV(lc_exec_set_find(false, fd, "", AT_EMPTY_PATH), envp, lc_real.fexecve(fd, argv, env));
}

int lc_run_execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		     int flags)
{
	lc_thread_exec();
	WITH_ENV(lc_exec_set_find(false, dirfd, path, flags), envp,
		 lc_real.execveat(dirfd, path, argv, env, flags));
}

/* posix_spawn's child runs on the caller's memory until it execs, and posix_spawn returns only
 * then, so a copy on this frame outlives its use. */
int lc_run_spawn(bool search, pid_t *pid, const char *path,
		  const posix_spawn_file_actions_t *acts, const posix_spawnattr_t *attr,
		  char *const argv[], char *const envp[])
{
	if (search)
		WITH_ENV(lc_exec_set_find(true, AT_FDCWD, path, 0), envp,
			 lc_real.posix_spawnp(pid, path, acts, attr, argv, env));
	WITH_ENV(lc_exec_set_find(false, AT_FDCWD, path, 0), envp,
		 lc_real.posix_spawn(pid, path, acts, attr, argv, env));
}

/* execl, execle, execlp: the list becomes an argv on the stack, as glibc makes it, and the call
 * is glibc's equivalent (execve, or execvpe with environ). */
int lc_run_list(enum lc_run_list kind, bool on, const char *path, const char *arg, va_list ap)
{
	size_t argc = 0, i;
	char *const *envp;
	va_list count;

	va_copy(count, ap);
	if (arg)
		for (argc = 1; va_arg(count, const char *); argc++)
			if (argc >= LC_RUN_MAX_ARGS) {
				va_end(count);
				errno = E2BIG;
				return -1;
			}
	va_end(count);
	{
		char *argv[argc + 1];

		argv[0] = (char *)arg;
		for (i = 1; i <= argc; i++)
			argv[i] = va_arg(ap, char *); /* argv[argc]: the list's NULL */
		envp = kind == LC_RUN_EXECLE ? va_arg(ap, char *const *) : environ;
		if (kind == LC_RUN_EXECLP)
			return on ? lc_run_execvpe(path, argv, envp)
				  : lc_real.execvpe(path, argv, envp);
		return on ? lc_run_execve(path, argv, envp) : lc_real.execve(path, argv, envp);
	}
}
