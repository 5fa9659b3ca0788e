/* SPDX-License-Identifier: MIT */
/* share.c: the acceptor count page. A pre-fork server's workers, a fork-per-connection server's
 * children and a server reloading with new workers beside old ones all share one listening
 * socket; the count tells a stopping process whether others still accept on it (leave it open)
 * or not (stop it for good). Counts are atomic operations on MAP_SHARED memory. */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "lastcall/share.h"

#define SLOTS (4096 / sizeof(struct slot))

struct slot {
	uint64_t ino; /* the socket's inode; 0: free */
	int32_t acceptors;
	int32_t unused;
};

static struct slot *page;

int lc_share_setup(void)
{
	void *p;

	if (page)
		return 0;
	p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	page = p;
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
		seen = __atomic_load_n(&page[i].ino, __ATOMIC_ACQUIRE);
		if (seen == 0 && claim &&
		    __atomic_compare_exchange_n(&page[i].ino, &seen, ino, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
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
		__atomic_store_n(&page[i].acceptors, 0, __ATOMIC_RELEASE);
}

int lc_share_join(int fd)
{
	int i = find(inode(fd), 1);

	if (i >= 0)
		__atomic_add_fetch(&page[i].acceptors, 1, __ATOMIC_ACQ_REL);
	return i;
}

int lc_share_leave(int slot)
{
	int left;

	if (!page || slot < 0)
		return 1;
	left = __atomic_sub_fetch(&page[slot].acceptors, 1, __ATOMIC_ACQ_REL);
	return left < 0 ? 0 : left;
}
