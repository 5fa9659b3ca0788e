/* SPDX-License-Identifier: MIT */
/* environ.c: system() and popen() keep lastcall in the commands they run: environ points to a
 * merged copy (shim/exec.c) while the real call runs, if it lacks something. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/exec.h"
#include "lastcall/real.h"
#include "lastcall/state.h"

/* Several threads may be in such calls at once: the first makes the copy, the last puts the
 * program's environ back. The lock word holds its holder's pid, so a child forked while another
 * thread held it (that thread did not come along) takes it over. Held for a few instructions
 * and one mmap or munmap, with every signal blocked, so a handler that calls system() cannot
 * wait for its own thread. */
static int swap_lock;
static char **swap_env;	  /* the copy environ points to, or NULL */
static char **swap_saved; /* the program's environ, put back by the last user */
static size_t swap_size;  /* the copy's mapping */
static unsigned swap_users;

static void swap_lock_take(sigset_t *old)
{
	sigset_t all;
	int owner;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
	for (;;) {
		if (!(owner = lc_cas_val(&swap_lock, 0, lc_pid)))
			return;
		if (owner != lc_pid && lc_cas(&swap_lock, owner, lc_pid))
			return;
		sched_yield();
	}
}

static void swap_lock_drop(const sigset_t *old)
{
	lc_release(&swap_lock, 0);
	pthread_sigmask(SIG_SETMASK, old, 0);
}

/* Makes the merged copy of env in a mapping of its own (not malloc: no hook path allocates).
 * Returns it, or NULL. Under the lock. */
static char **swap_make(const struct lc_exec_set *set, char **env, size_t ptrs, size_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len;
	char **m;
	void *mem;

	len = (ptrs * sizeof(char *) + bytes + page - 1) / page * page;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return NULL;
	m = lc_exec_merge(env, set, mem, ptrs, (char *)mem + ptrs * sizeof(char *), bytes);
	if (m != mem) {
		munmap(mem, len);
		return NULL;
	}
	swap_size = len;
	return m;
}

/* Points environ at a merged copy if it lacks something: system() and popen() take no
 * environment, and glibc's read environ in calls no hook sees. (setenv() into the program's own
 * environment would change what the program sees after the call.) Returns whether this call
 * holds the swap (then swap_out() must follow). errno may change. */
static bool swap_in(void)
{
	const struct lc_exec_set *set;
	size_t ptrs, bytes;
	bool held = false;
	sigset_t old;
	char **m;

	if (!lc_exec_carry.lib) /* nothing to carry: no lock, no look */
		return false;
	set = lc_exec_set_for(LC_SHELL); /* both C libraries run commands with /bin/sh */
	swap_lock_take(&old);
	if (swap_env && environ == swap_env) {
		swap_users++;
		held = true;
	} else if (!swap_env && lc_exec_missing(environ, set, &ptrs, &bytes) &&
		   (m = swap_make(set, environ, ptrs, bytes))) {
		swap_saved = environ;
		swap_env = environ = m;
		swap_users = 1;
		held = true;
	}
	/* (A swap in force while environ points elsewhere: the program replaced environ during
	 * another thread's call. This call passes through.) */
	swap_lock_drop(&old);
	return held;
}

/* The last user puts the program's environ back. If the program replaced environ meanwhile
 * (setenv() from another thread copies the array), the copy stays: the program's new array
 * may point into it. Also a cancellation handler. */
static void swap_out(void *unused)
{
	sigset_t old;
	int err = errno;

	(void)unused;
	swap_lock_take(&old);
	if (--swap_users == 0) {
		if (environ == swap_env) {
			environ = swap_saved;
			munmap(swap_env, swap_size);
		}
		swap_env = NULL;
	}
	swap_lock_drop(&old);
	errno = err;
}

int lc_exec_system(const char *cmd)
{
	int r, err = errno;
	bool held = swap_in();

	errno = err;
	if (!held)
		return lc_real.system(cmd);
	/* system() is a cancellation point: a cancelled call still puts environ back. */
	pthread_cleanup_push(swap_out, NULL);
	r = lc_real.system(cmd);
	pthread_cleanup_pop(1);
	return r;
}

FILE *lc_exec_popen(const char *cmd, const char *mode)
{
	int err = errno;
	bool held = swap_in();
	FILE *f;

	errno = err;
	if (!held)
		return lc_real.popen(cmd, mode);
	pthread_cleanup_push(swap_out, NULL);
	f = lc_real.popen(cmd, mode);
	pthread_cleanup_pop(1);
	return f;
}
