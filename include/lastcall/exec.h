/* SPDX-License-Identifier: MIT */
/* exec.h: programs a process under lastcall runs stay under lastcall. At start-up lastcall notes
 * how it was preloaded (its library in LD_PRELOAD, and in a sanitizer test build the runtime
 * ahead of it) and the LASTCALL_* settings; the exec, posix_spawn, system and popen hooks put
 * back whatever of that an environment the program passes lacks, and change nothing else. */
#ifndef LASTCALL_EXEC_H
#define LASTCALL_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/types.h>

#include "lastcall/libc.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* What a program's environment must hold. Strings are the process's own copies (the program
 * may overwrite its initial environment, as setproctitle() does). */
struct lc_exec_set {
	const char *lib;	 /* lastcall's library: its LD_PRELOAD entry, absolute; NULL: none */
	const char *lead;	 /* what precedes it in a sanitizer test build's LD_PRELOAD, or "" */
	dev_t dev;		 /* the library's file, so that another name for it counts as ours */
	ino_t ino;		 /* (both 0: only its exact name counts) */
	const char *const *vars; /* "NAME=value" to carry: LASTCALL_*, a sanitizer's options */
	size_t nvars;
	/* For programs of the other C library: the set whose library an LD_PRELOAD entry must
	 * not name (it cannot be loaded there); lib is then the other build, or NULL if there is
	 * none. NULL for the set of this process's own C library. */
	const struct lc_exec_set *replaces;
};

/* The set this process carries, filled by lc_exec_init(); lib stays NULL if there is nothing
 * to carry (not preloaded with LD_PRELOAD, secure execution). */
extern struct lc_exec_set lc_exec_carry;
/* The set for a program of the other C library (glibc for a musl build, musl for a glibc one):
 * the other build, where make install puts it beside this one (LIB/liblastcall.so and
 * LIB/musl/liblastcall.so), or no library at all. */
extern struct lc_exec_set lc_exec_cross;

/* Captures lc_exec_carry from the initial environment, and lc_exec_cross. Called once from
 * lc_init() when lastcall is on; reads nothing in secure execution. Not AS-safe. */
void lc_exec_init(void);

/* Whether envp (NULL: empty) lacks something of set, or (set->replaces) its LD_PRELOAD names
 * the library it must not. If so, *ptrs and *bytes say how much storage lc_exec_merge() needs:
 * pointers (its NULL included) and string bytes. Pure, apart from stat() of an LD_PRELOAD entry
 * named like the library; any thread, errno may change. */
bool lc_exec_missing(char *const envp[], const struct lc_exec_set *set, size_t *ptrs,
		     size_t *bytes);

/* Builds envp with what it lacks of set into out (nout pointers) and buf (nbuf bytes): an
 * LD_PRELOAD without the library gets it first (after a sanitizer runtime that leads it), a
 * missing LD_PRELOAD becomes lead:lib, missing variables are added, everything else is envp's
 * own, in its order. With set->replaces, LD_PRELOAD loses the entries naming that set's
 * library, and gets set->lib first if there is one. Returns envp itself if nothing changes,
 * out if something did, NULL if the storage is too small. Pure, as lc_exec_missing():
 * any thread. */
char **lc_exec_merge(char *const envp[], const struct lc_exec_set *set, char **out, size_t nout,
		     char *buf, size_t nbuf);

/* The set for running the program at path (relative to dirfd, with execveat()'s flags), or
 * found for it in PATH if search: lc_exec_carry, or lc_exec_cross for a program of the other C
 * library (said once). Any thread, AS-safe; errno is kept. */
const struct lc_exec_set *lc_exec_set_find(bool search, int dirfd, const char *path, int flags);

#define LC_SHELL "/bin/sh"
/* lc_exec_set_find() for path itself, as execve() takes it. Any thread, AS-safe. */
static inline const struct lc_exec_set *lc_exec_set_for(const char *path)
{
	return lc_exec_set_find(false, AT_FDCWD, path, 0);
}

/* system() and popen() take no environment: glibc's read environ. While the real call runs,
 * environ points to a merged copy if it lacks something (see docs/design.md for the race with
 * other threads). Program thread, not AS-safe. */
int lc_exec_system(const char *cmd);
FILE *lc_exec_popen(const char *cmd, const char *mode);

#pragma GCC visibility pop

#endif
