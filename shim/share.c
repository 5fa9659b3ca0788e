/* SPDX-License-Identifier: MIT */
/* share.c: the page shared by a process tree: each listening socket's acceptor count, the
 * processes that accept connections, stopping masters; all atomic operations on MAP_SHARED. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/log.h"
#include "lastcall/real.h"

#include "lastcall/share.h"
#include "lastcall/util.h"

#define SLOTS 128
#define PROCS 128
#define MASTERS 16

/* A pre-fork server's workers, a fork-per-connection server's children and a server reloading
 * with new workers beside old ones all share one listening socket; its acceptor count tells a
 * stopping process whether others still accept on it (leave it open) or not (stop it for good). */
struct slot {
	uint64_t ino; /* the socket's inode; 0: free */
	int32_t acceptors;
	int32_t unused;
};

/* A process accepting connections: its pid and start time (so a reused pid never matches), and
 * whether its drain is over while it waits for its master (docs/design.md, "Masters"). The list
 * tells a stopping parent which children to pass the signal on to. */
struct proc {
	int32_t pid; /* 0: free */
	int32_t drained;
	uint64_t start;
};

/* A master stopping: it holds its own stop until its workers have drained, then releases them. */
struct master {
	int32_t pid; /* 0: free */
	int32_t state; /* enum lc_master_state */
	uint64_t start;
};

struct page {
	struct slot slots[SLOTS];
	struct proc procs[PROCS];
	struct master masters[MASTERS];
};

static struct slot *page;
static struct proc *procs;
static struct master *masters;

int lc_share_setup(void)
{
	void *p;

	if (page)
		return 0;
	p = mmap(0, sizeof(struct page), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	page = ((struct page *)p)->slots;
	procs = ((struct page *)p)->procs;
	masters = ((struct page *)p)->masters;
	return 0;
}

static uint64_t inode(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* The slot for ino, taking the first free one if claim; -1 if none. One ordered pass, and slots
 * are never freed: two processes claiming the same socket at once meet on the same slot (the
 * loser's compare-and-swap finds the winner's inode). A full page means "unknown": such a
 * socket is never shut down by lastcall. */
static int find(uint64_t ino, int claim)
{
	uint64_t seen;
	size_t i;

	if (!page || !ino)
		return -1;
	for (i = 0; i < SLOTS; i++) {
		seen = lc_acquire(&page[i].ino);
		if (seen == 0 && claim && (seen = lc_cas_val(&page[i].ino, 0, ino)) == 0)
			return (int)i;
		/* seen is what the slot holds: this socket, another one, or 0 (not claiming) */
		if (seen == ino)
			return (int)i;
		if (seen == 0)
			return -1;
	}
	return -1;
}

void lc_share_reset(int fd)
{
	int i = find(inode(fd), 0);

	if (i >= 0)
		lc_release(&page[i].acceptors, 0);
}

int lc_share_join(int fd)
{
	int i = find(inode(fd), 1);

	if (i >= 0)
		lc_add(&page[i].acceptors, 1);
	return i;
}

int lc_share_leave(int slot)
{
	int left;

	if (!page || slot < 0)
		return 1;
	left = lc_add(&page[slot].acceptors, -1) - 1;
	return left < 0 ? 0 : left;
}

/* The decimal number at p (strtoull touches the locale: not for a signal handler). AS-safe. */
static uint64_t dec(const char *p)
{
	uint64_t n = 0;

	while (*p >= '0' && *p <= '9')
		n = n * 10 + (uint64_t)(*p++ - '0');
	return n;
}

/* Fields 4 (the parent) and 22 (when the process started, in clock ticks since boot) of
 * /proc/PID/stat; the start is 0 if the process is gone. AS-safe. */
static uint64_t stat_fields(pid_t pid, pid_t *parent)
{
	char path[40], buf[1024], *p;
	ssize_t n;
	int fd, field;

	lc_format(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = lc_open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	lc_real.close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The name, field 2, is in parentheses and may hold anything: count from the last ')'. */
	if (!(p = strrchr(buf, ')')))
		return 0;
	for (field = 2; field < 22 && p; field++) {
		p = strchr(p + 1, ' ');
		if (field == 3 && p && parent)
			*parent = (pid_t)dec(p + 1);
	}
	return p ? dec(p + 1) : 0;
}

pid_t lc_share_parent(pid_t pid)
{
	pid_t parent = 0;

	return stat_fields(pid, &parent) ? parent : 0;
}

static uint64_t start_time(pid_t pid)
{
	return stat_fields(pid, 0);
}

bool lc_share_has_worker(pid_t parent)
{
	pid_t pid, pp;
	size_t i;

	if (!procs)
		return false;
	for (i = 0; i < PROCS; i++) {
		pp = 0;
		pid = lc_acquire(&procs[i].pid);
		if (pid > 0 && procs[i].start == stat_fields(pid, &pp) && pp == parent)
			return true;
	}
	return false;
}

void lc_share_accepting(int yes)
{
	pid_t me = getpid();
	int32_t was;
	size_t i;

	if (!procs)
		return;
	for (i = 0; i < PROCS; i++) {
		was = lc_acquire(&procs[i].pid);
		if (!yes) {
			if (was == me) {
				lc_release(&procs[i].pid, 0);
				return;
			}
			continue;
		}
		/* A free slot, or one whose process ended without leaving it (killed). */
		if (was < 0 || (was > 0 && procs[i].start == start_time(was)))
			continue;
		if (lc_cas(&procs[i].pid, was, -1)) {
			/* Claimed with a placeholder (-1) first, so no reader sees our pid with
			 * another process's start time. */
			procs[i].start = start_time(me);
			lc_store(&procs[i].drained, 0);
			lc_release(&procs[i].pid, me);
			return;
		}
	}
}

int lc_share_accepts(pid_t pid)
{
	size_t i;

	if (!procs)
		return 0;
	for (i = 0; i < PROCS; i++)
		if (lc_acquire(&procs[i].pid) == pid)
			return procs[i].start == start_time(pid);
	return 0;
}

/* This process's entry on the list, or -1. AS-safe. */
static int mine(void)
{
	pid_t me = getpid();
	size_t i;

	for (i = 0; procs && i < PROCS; i++)
		if (lc_acquire(&procs[i].pid) == me)
			return (int)i;
	return -1;
}

void lc_share_drained(void)
{
	int i = mine();

	if (i >= 0)
		lc_release(&procs[i].drained, 1);
}

int lc_share_undrained(pid_t parent)
{
	pid_t pid, pp;
	size_t i;
	int n = 0;

	for (i = 0; procs && i < PROCS; i++) {
		pp = 0;
		pid = lc_acquire(&procs[i].pid);
		if (pid > 0 && !lc_acquire(&procs[i].drained) &&
		    procs[i].start == stat_fields(pid, &pp) && pp == parent)
			n++;
	}
	return n;
}

void lc_share_master(enum lc_master_state state)
{
	pid_t me = getpid();
	int32_t was;
	size_t i;

	if (!masters)
		return;
	for (i = 0; i < MASTERS; i++) {
		was = lc_acquire(&masters[i].pid);
		if (was == me) {
			lc_release(&masters[i].state, state);
			return;
		}
	}
	for (i = 0; i < MASTERS; i++) {
		/* A free entry, or one whose process ended without freeing it. */
		was = lc_acquire(&masters[i].pid);
		if (was < 0 || (was > 0 && masters[i].start == start_time(was)))
			continue;
		if (lc_cas(&masters[i].pid, was, -1)) {
			masters[i].start = start_time(me);
			lc_release(&masters[i].state, state);
			lc_release(&masters[i].pid, me);
			return;
		}
	}
}

enum lc_master_state lc_share_master_state(pid_t pid)
{
	size_t i;

	for (i = 0; masters && pid > 0 && i < MASTERS; i++)
		if (lc_acquire(&masters[i].pid) == pid &&
		    masters[i].start == start_time(pid))
			return (enum lc_master_state)lc_acquire(&masters[i].state);
	return LC_MASTER_NONE;
}
