/* SPDX-License-Identifier: MIT */
/* libc.h: what differs between the C libraries lastcall is built for, glibc and musl, in one
 * place (with shim/libc.c); the rest of lastcall is written once for both. Each difference is
 * described in docs/design.md ("glibc and musl"). */
#ifndef LASTCALL_LIBC_H
#define LASTCALL_LIBC_H

#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Names one libc declares and the other lacks, which lastcall defines in both builds: musl has
 * no close_range, closefrom, execveat, ssignal or sysv_signal (glibc declares them all, in
 * compatible terms). A program linked against musl never calls them; exporting them costs
 * nothing, and keeps one list of exported names (shim/exports.map). */
#define LC_LIBC_EXPORT __attribute__((visibility("default")))
LC_LIBC_EXPORT int close_range(unsigned first, unsigned last, int flags);
LC_LIBC_EXPORT void closefrom(int lowfd);
LC_LIBC_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
			    int flags);
typedef void (*lc_handler_fn)(int); /* sighandler_t, which musl declares for _GNU_SOURCE only */
LC_LIBC_EXPORT lc_handler_fn ssignal(int sig, lc_handler_fn handler);
LC_LIBC_EXPORT lc_handler_fn sysv_signal(int sig, lc_handler_fn handler);
LC_LIBC_EXPORT lc_handler_fn __sysv_signal(int sig, lc_handler_fn handler);

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

#ifdef __GLIBC__
/* glibc declares accept()'s and bind()'s address as a transparent union. */
#define LC_SOCKADDR_ARG __SOCKADDR_ARG
#define LC_CONST_SOCKADDR_ARG __CONST_SOCKADDR_ARG
#define LC_SOCKADDR(addr) ((addr).__sockaddr__)
/* __libc_start_main(main, argc, argv, init, fini, rtld_fini, stack_end): glibc passes the end
 * of the stack after the three functions; musl does not. */
#define LC_START_MAIN_END , void *stack_end
#define LC_START_MAIN_END_ARG , stack_end
/* What signal(), bsd_signal() and sysv_signal() make of a call (shim/sig.c's styles): glibc's
 * signal() and bsd_signal() restart calls unless siginterrupt() said otherwise; its
 * sysv_signal() is a one-shot handler. */
#define LC_LIBC_SIGNAL LC_SIG_BSD
#define LC_LIBC_SYSV_SIGNAL LC_SIG_SYSV
#define LC_LIBC_SYSV_NAME "sysv_signal"
/* The most stack the exec hooks take for a merged environment (lastcall/exec.h), on a program's
 * thread: glibc's threads have RLIMIT_STACK's 8 MiB by default. */
#define LC_LIBC_EXEC_STACK_MAX (64 * 1024)
#else
#define LC_SOCKADDR_ARG struct sockaddr *restrict
#define LC_CONST_SOCKADDR_ARG const struct sockaddr *
#define LC_SOCKADDR(addr) (addr)
#define LC_START_MAIN_END
#define LC_START_MAIN_END_ARG
/* musl's signal(), bsd_signal() and __sysv_signal() are one function, which always restarts
 * calls (siginterrupt() changes only the disposition in place); it has no sysv_signal. */
#define LC_LIBC_SIGNAL LC_SIG_RESTART
#define LC_LIBC_SYSV_SIGNAL LC_SIG_RESTART
#define LC_LIBC_SYSV_NAME "__sysv_signal"
/* musl's threads have 128 KiB of stack by default; its own exec functions take little of it. */
#define LC_LIBC_EXEC_STACK_MAX (16 * 1024)
/* musl's getdents64 is a macro for getdents(), which takes a struct dirent *; lastcall reads
 * into char buffers, as glibc's (void *) allows. */
#include <dirent.h>
#undef getdents64
#define getdents64(fd, buf, len) getdents((fd), (struct dirent *)(void *)(buf), (len))
#endif

#pragma GCC visibility pop

#endif
