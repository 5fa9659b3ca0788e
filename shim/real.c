/* SPDX-License-Identifier: MIT */
/* real.c: fills lc_real with the next definition of each hooked function (libc's), and the
 * stand-ins for those dlsym does not find. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lastcall/sys.h"
#include "lastcall/atomic.h"
#include "lastcall/libc.h"
#include "lastcall/log.h"
#include "lastcall/real.h"

struct lc_real lc_real;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *missing; /* the first required function dlsym did not find */

/* Stand-ins for required functions dlsym did not find. lastcall is then off and each hook
 * passes straight through, which for these means the system call itself: libc's function less
 * its cancellation point. (The other required functions have no system call to stand in.) */
static int sys_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return (int)lc_syscall(SYS_accept4, fd, addr, len, flags);
}

static int sys_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return sys_accept4(fd, addr, len, 0);
}

static int sys_listen(int fd, int backlog)
{
	return (int)lc_syscall(SYS_listen, fd, backlog);
}

static int sys_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	return (int)lc_syscall(SYS_bind, fd, addr, len);
}

static int sys_close(int fd)
{
	return (int)lc_syscall(SYS_close, fd);
}

static int sys_dup3(int fd, int to, int flags)
{
	return (int)lc_syscall(SYS_dup3, fd, to, flags);
}

static int sys_dup2(int fd, int to)
{
	if (fd == to) /* dup3 refuses it; dup2 checks fd and returns it */
		return fcntl(fd, F_GETFD) < 0 ? -1 : fd;
	return sys_dup3(fd, to, 0);
}

static int sys_epoll_create1(int flags)
{
	return (int)lc_syscall(SYS_epoll_create1, flags);
}

static int sys_kill(pid_t pid, int sig)
{
	return (int)lc_syscall(SYS_kill, pid, sig);
}

static int sys_epoll_create(int size)
{
	if (size <= 0) {
		errno = EINVAL;
		return -1;
	}
	return sys_epoll_create1(0);
}

/* The exec functions a system call can stand in for: execve itself, and fexecve and execveat
 * (glibc 2.34) through execveat. The rest of the family (execvpe, posix_spawn, system, popen)
 * is in every glibc lastcall builds with: missing, lastcall is off like for fork. */
static int sys_execve(const char *path, char *const argv[], char *const envp[])
{
	return (int)lc_syscall(SYS_execve, path, argv, envp);
}

static int sys_execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
			int flags)
{
	return (int)lc_syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

static int sys_fexecve(int fd, char *const argv[], char *const envp[])
{
	return sys_execveat(fd, "", argv, envp, AT_EMPTY_PATH);
}

/* Binds one entry to the next definition; a required one that is missing is remembered, and
 * gets its stand-in (if any). */
#define BIND(field, name, required, standin)                                                \
	do {                                                                                 \
		lc_real.field = (__typeof__(lc_real.field))dlsym(RTLD_NEXT, name);           \
		if (!lc_real.field && (required) && !missing)                                \
			missing = name;                                                      \
		if (!lc_real.field)                                                          \
			lc_real.field = standin;                                             \
	} while (0)

/* Optional functions that are missing (close_range and closefrom before glibc 2.34, and in
 * musl) stay NULL, and their hooks make the close_range system call themselves (the kernel's
 * ENOSYS if it has none): a program that found closefrom() could not tell that it did nothing. */
static void bind_all(void)
{
	BIND(accept, "accept", true, sys_accept);
	BIND(accept4, "accept4", true, sys_accept4);
	BIND(listen, "listen", true, sys_listen);
	BIND(bind, "bind", true, sys_bind);
	BIND(close, "close", true, sys_close);
	BIND(close_range, "close_range", false, 0);
	BIND(closefrom, "closefrom", false, 0);
	BIND(dup2, "dup2", true, sys_dup2);
	BIND(dup3, "dup3", true, sys_dup3);
	BIND(epoll_create, "epoll_create", true, sys_epoll_create);
	BIND(epoll_create1, "epoll_create1", true, sys_epoll_create1);
	BIND(fork, "fork", true, 0);
	BIND(kill, "kill", true, sys_kill);
	BIND(sigaction, "sigaction", true, 0);
	BIND(signal, "signal", true, 0);
	BIND(bsd_signal, "bsd_signal", true, 0);
	BIND(sysv_signal, LC_LIBC_SYSV_NAME, true, 0);
	BIND(sigset, "sigset", true, 0);
	BIND(siginterrupt, "siginterrupt", true, 0);
	BIND(exit, "exit", true, 0);
	BIND(libc_start_main, "__libc_start_main", true, 0);
	BIND(execve, "execve", true, sys_execve);
	BIND(execvpe, "execvpe", true, 0);
	BIND(fexecve, "fexecve", true, sys_fexecve);
	BIND(execveat, "execveat", false, sys_execveat);
	BIND(posix_spawn, "posix_spawn", true, 0);
	BIND(posix_spawnp, "posix_spawnp", true, 0);
	BIND(system, "system", true, 0);
	BIND(popen, "popen", true, 0);
	BIND(setuid, "setuid", true, 0);
	BIND(setgid, "setgid", true, 0);
	BIND(seteuid, "seteuid", true, 0);
	BIND(setegid, "setegid", true, 0);
	BIND(setreuid, "setreuid", true, 0);
	BIND(setregid, "setregid", true, 0);
	BIND(setresuid, "setresuid", true, 0);
	BIND(setresgid, "setresgid", true, 0);
	BIND(setgroups, "setgroups", true, 0);
	BIND(initgroups, "initgroups", true, 0);
	if (missing)
		lc_log(LC_ERROR, "unable to find %s with dlsym: lastcall is off, the program runs as "
				 "without it", missing);
}

LC_EARLY int lc_real_bind_signals(void)
{
	static int bound;

	/* Racing threads store the same pointers: harmless, and no lock is needed. */
	if (lc_acquire(&bound))
		return 0;
	lc_real.sigaction = (__typeof__(lc_real.sigaction))dlsym(RTLD_NEXT, "sigaction");
	lc_real.signal = (__typeof__(lc_real.signal))dlsym(RTLD_NEXT, "signal");
	lc_real.bsd_signal = (__typeof__(lc_real.bsd_signal))dlsym(RTLD_NEXT, "bsd_signal");
	lc_real.sysv_signal = (__typeof__(lc_real.sysv_signal))dlsym(RTLD_NEXT, LC_LIBC_SYSV_NAME);
	lc_real.sigset = (__typeof__(lc_real.sigset))dlsym(RTLD_NEXT, "sigset");
	lc_real.siginterrupt = (__typeof__(lc_real.siginterrupt))dlsym(RTLD_NEXT, "siginterrupt");
	if (!lc_real.sigaction || !lc_real.signal || !lc_real.bsd_signal || !lc_real.sysv_signal ||
	    !lc_real.sigset || !lc_real.siginterrupt)
		return -1;
	lc_release(&bound, 1);
	return 0;
}

int lc_real_bind(void)
{
	pthread_once(&once, bind_all);
	return missing ? -1 : 0;
}
