/* SPDX-License-Identifier: MIT */
/* elf.h: which C library a program is for, read from its file: an ELF program's interpreter
 * (PT_INTERP), or a script's, through its #! line. A library built for glibc cannot be loaded
 * into a musl program, nor the reverse: the loader refuses to start the program at all, so a
 * program run by one of the other C library must be given the other build, or none. */
#ifndef LASTCALL_ELF_H
#define LASTCALL_ELF_H

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

enum lc_libc {
	LC_LIBC_UNKNOWN, /* not readable, not ELF, static, another class, another interpreter */
	LC_LIBC_GLIBC,   /* its interpreter is glibc's ld-linux*.so */
	LC_LIBC_MUSL,    /* musl's ld-musl-*.so */
};

/* The C library this build of lastcall is for. */
#ifdef __GLIBC__
#define LC_LIBC_SELF LC_LIBC_GLIBC
#else
#define LC_LIBC_SELF LC_LIBC_MUSL
#endif

/* "glibc", "musl" or "unknown". Pure; any context. */
const char *lc_libc_name(enum lc_libc libc);

/* The C library of the program at path (relative to dirfd, as openat() takes it; an empty path
 * with AT_EMPTY_PATH in flags: dirfd itself), following one #! line. open() and pread() only,
 * on the stack: AS-safe, fit for a vfork child. errno may change. */
enum lc_libc lc_elf_libc_at(int dirfd, const char *path, int flags);

/* The C library of the program found for file as execvp() finds it: file itself if it has a
 * '/', else the first executable file of that name in PATH (default "/bin:/usr/bin"). As
 * lc_elf_libc_at(), with getenv(), access() and stat(): fit for a vfork child. */
enum lc_libc lc_elf_libc_search(const char *file);

#pragma GCC visibility pop

#endif
