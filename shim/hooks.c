/* SPDX-License-Identifier: MIT */
/* hooks.c: every libc name lastcall exports, and nothing else: each initialises lastcall, passes
 * straight through when it is off, or hands over to the module that owns the behaviour. */
#define _GNU_SOURCE
/* unistd.h declares syscall() variadic; the hook below takes the words the arguments arrive in
 * (the registers and stack slots of a variadic call are those of a plain one on the ABIs where
 * sys.h makes system calls itself), so it can pass them all on untouched. */
#define syscall lc_syscall_as_declared
#include <unistd.h>
#undef syscall
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/arm.h"
#include "lastcall/exec.h"
#include "lastcall/fds.h"
#include "lastcall/gen.h"
#include "lastcall/init.h"
#include "lastcall/intake.h"
#include "lastcall/libc.h"
#include "lastcall/master.h"
#include "lastcall/real.h"
#include "lastcall/run.h"
#include "lastcall/sig.h"
#include "lastcall/solo.h"
#include "lastcall/sys.h"
#include "lastcall/thread.h"

#define LC_EXPORT __attribute__((visibility("default")))

/* Set on a thread that is ending the process: a second exit() from an atexit handler or from
 * a handler run during the drain goes straight to libc. */
static __thread int exiting __attribute__((tls_model("initial-exec")));

/* Not declared by glibc's headers (bsd_signal only for older X/Open levels). */
LC_EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler);
LC_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
LC_EXPORT int __libc_start_main(lc_main_fn main, int argc, char **argv, void (*init)(void),
				void (*fini)(void), void (*rtld_fini)(void) LC_START_MAIN_END);

/* accept, accept4 and close are on every connection's path: once the process is a server, one
 * compare leads to their fast paths (lc_fd_hot; intake.h, fds.h); the rest is out of line.
 * Each hook's body is also what syscall() does for its number. accept's keeps the arguments
 * of its rare path in a struct on the stack, which has no array to overflow: no canary. */
#if defined(__has_attribute) && __has_attribute(no_stack_protector)
#define LC_NO_CANARY __attribute__((no_stack_protector))
#else
#define LC_NO_CANARY
#endif
/* GCC packs those arguments into vector registers first, which costs more than it saves. */
#if defined(__GNUC__) && !defined(__clang__)
#define LC_PLAIN_STORES __attribute__((optimize("no-tree-slp-vectorize")))
#else
#define LC_PLAIN_STORES
#endif

static __attribute__((noinline)) int accept_cold(int fd, struct sockaddr *addr, socklen_t *len,
						 int flags, enum lc_accept_call call)
{
	if (!lc_active() || lc_ensure_armed() < 0)
		return call == LC_ACCEPT4 ? lc_real.accept4(fd, addr, len, flags)
					  : lc_real.accept(fd, addr, len);
	return lc_intake_accept_slow(fd, addr, len, flags, call);
}

static inline __attribute__((always_inline)) int do_accept(int fd, struct sockaddr *addr,
							   socklen_t *len)
{
	if (__builtin_expect(lc_fd_hot(fd), 1))
		return lc_intake_accept_hot(fd, addr, len, 0, LC_ACCEPT);
	return accept_cold(fd, addr, len, 0, LC_ACCEPT);
}

static inline __attribute__((always_inline)) int do_accept4(int fd, struct sockaddr *addr,
							    socklen_t *len, int flags)
{
	if (__builtin_expect(lc_fd_hot(fd), 1))
		return lc_intake_accept_hot(fd, addr, len, flags, LC_ACCEPT4);
	return accept_cold(fd, addr, len, flags, LC_ACCEPT4);
}

LC_EXPORT LC_NO_CANARY LC_PLAIN_STORES int accept(int fd, LC_SOCKADDR_ARG addr, socklen_t *restrict len)
{
	return do_accept(fd, LC_SOCKADDR(addr), len);
}

LC_EXPORT LC_NO_CANARY LC_PLAIN_STORES int accept4(int fd, LC_SOCKADDR_ARG addr,
						   socklen_t *restrict len, int flags)
{
	return do_accept4(fd, LC_SOCKADDR(addr), len, flags);
}

/* bind(): in a generation restarted by lastcall-parent, an address the last generation
 * listened on gets its listener (shim/gen.c). */
LC_EXPORT int bind(int fd, LC_CONST_SOCKADDR_ARG addr, socklen_t len)
{
	if (!lc_active() || !lc_gen_inherits())
		return lc_real.bind(fd, LC_SOCKADDR(addr), len);
	return lc_gen_bind(fd, LC_SOCKADDR(addr), len);
}

LC_EXPORT int listen(int fd, int backlog)
{
	if (!lc_active() || lc_ensure_armed() < 0)
		return lc_real.listen(fd, backlog);
	return lc_intake_listen(fd, backlog);
}

static __attribute__((noinline)) int close_cold(int fd)
{
	if (!lc_active())
		return lc_real.close(fd);
	return lc_fds_close(fd);
}

static inline __attribute__((always_inline)) int do_close(int fd)
{
	if (__builtin_expect(lc_fd_hot(fd), 1))
		return lc_fds_close_entry(fd);
	return close_cold(fd);
}

static int do_dup2(int oldfd, int newfd)
{
	if (!lc_active())
		return lc_real.dup2(oldfd, newfd);
	return lc_fds_dup(oldfd, newfd, 0, LC_DUP2);
}

static int do_dup3(int oldfd, int newfd, int flags)
{
	if (!lc_active())
		return lc_real.dup3(oldfd, newfd, flags);
	return lc_fds_dup(oldfd, newfd, flags, LC_DUP3);
}

static int do_close_range(unsigned first, unsigned last, int flags)
{
	lc_init();
	return lc_fds_close_range(first, last, flags);
}

LC_EXPORT int close(int fd)
{
	return do_close(fd);
}

LC_EXPORT int dup2(int oldfd, int newfd)
{
	return do_dup2(oldfd, newfd);
}

LC_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return do_dup3(oldfd, newfd, flags);
}

LC_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	return do_close_range(first, last, flags);
}

#ifdef LC_HAVE_SYS
/* The system calls of the hooks above, made through syscall(): what the hooks do. */
static __attribute__((noinline)) long hooked_syscall(long nr, long a, long b, long c, long d)
{
	switch (nr) {
	case SYS_accept:
		return do_accept((int)a, (struct sockaddr *)b, (socklen_t *)c);
	case SYS_accept4:
		return do_accept4((int)a, (struct sockaddr *)b, (socklen_t *)c, (int)d);
#ifdef SYS_dup2
	case SYS_dup2:
		return do_dup2((int)a, (int)b);
#endif
	case SYS_dup3:
		return do_dup3((int)a, (int)b, (int)c);
#ifdef SYS_close_range
	case SYS_close_range:
		return do_close_range((unsigned)a, (unsigned)b, (int)c);
#endif
	default:
		return do_close((int)a);
	}
}

LC_EXPORT long syscall(long nr, long a, long b, long c, long d, long e, long f);

/* syscall(): libuv (Node.js) closes fds with syscall(SYS_close, fd), behind close(). The
 * numbers of the hooks above do what the hooks do; every other is made here as libc's
 * syscall() makes it, with no initialisation and nothing else on its way. */
LC_EXPORT long syscall(long nr, long a, long b, long c, long d, long e, long f)
{
	switch (nr) {
	case SYS_close:
	case SYS_accept:
	case SYS_accept4:
#ifdef SYS_dup2
	case SYS_dup2:
#endif
	case SYS_dup3:
#ifdef SYS_close_range
	case SYS_close_range:
#endif
		return hooked_syscall(nr, a, b, c, d);
	default:
		return lc_sys(nr, a, b, c, d, e, f);
	}
}
#endif

LC_EXPORT void closefrom(int lowfd)
{
	lc_init();
	lc_fds_closefrom(lowfd);
}

LC_EXPORT int epoll_create(int size)
{
	if (!lc_active())
		return lc_real.epoll_create(size);
	return lc_fds_note_epoll(lc_real.epoll_create(size));
}

LC_EXPORT int epoll_create1(int flags)
{
	if (!lc_active())
		return lc_real.epoll_create1(flags);
	return lc_fds_note_epoll(lc_real.epoll_create1(flags));
}

LC_EXPORT pid_t fork(void)
{
	if (!lc_active())
		return lc_solo_fork(lc_real.fork);
	return lc_arm_fork();
}

/* The set*id family: glibc makes every thread take the new credentials, lastcall's included,
 * only if it knows there is more than one (solo.h). */
#define SETXID(name, params, args)                                                           \
	LC_EXPORT int name params                                                            \
	{                                                                                    \
		bool paused;                                                                 \
		int ret;                                                                     \
                                                                                             \
		lc_init();                                                                   \
		paused = lc_solo_pause();                                                    \
		ret = lc_real.name args;                                                     \
		lc_solo_resume(paused);                                                      \
		return ret;                                                                  \
	}
SETXID(setuid, (uid_t u), (u))
SETXID(setgid, (gid_t g), (g))
SETXID(seteuid, (uid_t u), (u))
SETXID(setegid, (gid_t g), (g))
SETXID(setreuid, (uid_t r, uid_t e), (r, e))
SETXID(setregid, (gid_t r, gid_t e), (r, e))
SETXID(setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s))
SETXID(setresgid, (gid_t r, gid_t e, gid_t s), (r, e, s))
SETXID(setgroups, (size_t n, const gid_t *list), (n, list))
SETXID(initgroups, (const char *user, gid_t g), (user, g)) /* its setgroups() is libc's own */

/* A master's SIGKILL to a worker while the worker drains waits for the drain (master.h). Every
 * other kill() passes straight through. */
LC_EXPORT int kill(pid_t pid, int sig)
{
	if (sig != SIGKILL || pid <= 0 || !lc_active())
		return lc_real.kill(pid, sig);
	return lc_master_kill(pid);
}

/* The signal functions: a signal that can never be a trigger (SEGV, CHLD...) goes straight to
 * libc without even reading the configuration, so that a runtime preloaded ahead of lastcall (a
 * sanitizer's) can install its handlers while it starts, before it can serve the C library
 * calls lastcall's initialisation makes. Any signal goes there while lastcall is off or when it
 * is not a trigger. */
LC_EARLY static inline __attribute__((always_inline)) bool straight_to_libc(int sig)
{
	if (lc_sig_never_trigger(sig) && (lc_real_bind_signals() == 0 || lc_real_bind() == 0))
		return true;
	return !lc_active() || !lc_sig_is_trigger(sig);
}

LC_EXPORT LC_EARLY int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (straight_to_libc(sig))
		return lc_real.sigaction(sig, act, old);
	return lc_sig_action(sig, act, old);
}

LC_EXPORT LC_EARLY int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old);
}

LC_EXPORT LC_EARLY sighandler_t signal(int sig, sighandler_t handler)
{
	if (straight_to_libc(sig))
		return lc_real.signal(sig, handler);
	return lc_sig_signal(sig, handler, LC_LIBC_SIGNAL);
}

LC_EXPORT LC_EARLY sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	if (straight_to_libc(sig))
		return lc_real.bsd_signal(sig, handler);
	return lc_sig_signal(sig, handler, LC_LIBC_SIGNAL);
}

LC_EXPORT LC_EARLY sighandler_t ssignal(int sig, sighandler_t handler)
{
	return signal(sig, handler);
}

LC_EXPORT LC_EARLY sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	if (straight_to_libc(sig))
		return lc_real.sysv_signal(sig, handler);
	return lc_sig_signal(sig, handler, LC_LIBC_SYSV_SIGNAL);
}

LC_EXPORT LC_EARLY sighandler_t __sysv_signal(int sig, sighandler_t handler)
{
	return sysv_signal(sig, handler);
}

LC_EXPORT LC_EARLY sighandler_t sigset(int sig, sighandler_t disp)
{
	if (straight_to_libc(sig))
		return lc_real.sigset(sig, disp);
	return lc_sig_signal(sig, disp, LC_SIG_SET);
}

LC_EXPORT LC_EARLY int siginterrupt(int sig, int flag)
{
	if (straight_to_libc(sig))
		return lc_real.siginterrupt(sig, flag);
	return lc_sig_interrupt(sig, flag);
}

LC_EXPORT void exit(int status)
{
	if (lc_active() && !exiting++)
		lc_thread_exit();
	lc_real.exit(status);
}

static lc_main_fn program_main;

/* Return from main never reaches exit() above (glibc calls its own), so main is wrapped. */
static int main_then_drain(int argc, char **argv, char **envp)
{
	int status = program_main(argc, argv, envp);

	if (lc_active() && !exiting++)
		lc_thread_exit();
	return status;
}

/* Only binds lc_real. musl runs the constructors (lastcall's, which initialises it) from inside
 * the real __libc_start_main, after its own start-up (the stack protector's guard, the
 * program's name), which lastcall's start-up, a thread perhaps, must follow, as under glibc,
 * which has run them all by now. */
LC_EXPORT int __libc_start_main(lc_main_fn main, int argc, char **argv, void (*init)(void),
				void (*fini)(void), void (*rtld_fini)(void) LC_START_MAIN_END)
{
	lc_real_bind();
	program_main = main;
	return lc_real.libc_start_main(main_then_drain, argc, argv, init, fini,
				       rtld_fini LC_START_MAIN_END_ARG);
}

/* The exec family: the program run keeps lastcall's library in LD_PRELOAD and the LASTCALL_*
 * settings, even from an environment built without them (shim/exec.c). execv, execvp and the
 * execl ones are what glibc makes of them: execve or execvpe, with environ. */
LC_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	if (!lc_active())
		return lc_real.execve(path, argv, envp);
	return lc_run_execve(path, argv, envp);
}

LC_EXPORT int execv(const char *path, char *const argv[])
{
	if (!lc_active())
		return lc_real.execve(path, argv, environ);
	return lc_run_execve(path, argv, environ);
}

LC_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	if (!lc_active())
		return lc_real.execvpe(file, argv, envp);
	return lc_run_execvpe(file, argv, envp);
}

LC_EXPORT int execvp(const char *file, char *const argv[])
{
	if (!lc_active())
		return lc_real.execvpe(file, argv, environ);
	return lc_run_execvpe(file, argv, environ);
}

LC_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	if (!lc_active())
		return lc_real.fexecve(fd, argv, envp);
	return lc_run_fexecve(fd, argv, envp);
}

LC_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		       int flags)
{
	if (!lc_active())
		return lc_real.execveat(dirfd, path, argv, envp, flags);
	return lc_run_execveat(dirfd, path, argv, envp, flags);
}

LC_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = lc_run_list(LC_RUN_EXECL, lc_active(), path, arg, ap);
	va_end(ap);
	return r;
}

LC_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = lc_run_list(LC_RUN_EXECLE, lc_active(), path, arg, ap);
	va_end(ap);
	return r;
}

LC_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = lc_run_list(LC_RUN_EXECLP, lc_active(), file, arg, ap);
	va_end(ap);
	return r;
}

LC_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *acts,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	if (!lc_active())
		return lc_real.posix_spawn(pid, path, acts, attr, argv, envp);
	return lc_run_spawn(false, pid, path, acts, attr, argv, envp);
}

LC_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *acts,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	if (!lc_active())
		return lc_real.posix_spawnp(pid, file, acts, attr, argv, envp);
	return lc_run_spawn(true, pid, file, acts, attr, argv, envp);
}

LC_EXPORT int system(const char *cmd)
{
	if (!lc_active())
		return lc_real.system(cmd);
	return lc_exec_system(cmd);
}

LC_EXPORT FILE *popen(const char *cmd, const char *mode)
{
	if (!lc_active())
		return lc_real.popen(cmd, mode);
	return lc_exec_popen(cmd, mode);
}
