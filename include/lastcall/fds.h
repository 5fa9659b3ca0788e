/* SPDX-License-Identifier: MIT */
/* fds.h: what lastcall knows about each file descriptor of the process, in a flat table
 * indexed by fd. The table is reserved once (virtual memory, touched only where fds are used),
 * so no hook ever allocates. */
#ifndef LASTCALL_FDS_H
#define LASTCALL_FDS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lastcall/atomic.h"
#include "lastcall/real.h"
#include "lastcall/state.h"
#include "lastcall/wake.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

enum lc_kind {
	/* Not known to lastcall: files, pipes, outgoing sockets. Most fds stay here. */
	LC_FD_NONE = 0,
	/* A connection accept() returned, in this process or in an ancestor (inherited through
	 * fork). A drain waits until these are closed. */
	LC_FD_CONN,
	/* A listening socket the program listened or accepted on. */
	LC_FD_LISTEN,
	/* A listener whose intake lastcall stopped: the fd now holds an inert AF_UNIX stand-in,
	 * readable only while queued connections wait in the stash. */
	LC_FD_STOPPED,
	/* A queued connection lastcall took from a stopping listener; it waits, unseen by the
	 * program, until the program's next accept() on that listener hands it over. */
	LC_FD_STASHED,
	/* An epoll instance: searched for listener registrations when intake stops. */
	LC_FD_EPOLL,
	/* lastcall's copy of a connection the program closed during a drain, kept until the
	 * client closes its side (see linger.h). */
	LC_FD_LINGER,
	/* lastcall's own fd (wake pipe, log copy, epoll sets, pidfds): the program's close()
	 * cannot take it, and its dup2() onto it moves it first (lc_fds_private). */
	LC_FD_PRIVATE,
	LC_FD_KINDS
};

/* lc_fd.flags: for CONN entries and the lingering ones, */
enum {
	LC_FDF_IDLE = 1,      /* shut for reading by lastcall as idle: the program sees EOF */
	LC_FDF_ENDED = 2,     /* ended by lastcall at the deadline: never again */
	LC_FDF_LINGERING = 4, /* in the linger set now */
	LC_FDF_FORKED = 8,    /* open when this process forked: a child may hold it too */
	LC_FDF_COPIED = 32,   /* dup2()/dup3() made another fd of it: that one may hold it too */
	/* and for LISTEN entries: */
	LC_FDF_ACCEPTING = 16, /* this process accepts on it (its record's acceptor is YES) */
};

/* One fd's entry: 8 bytes, read and written as one word on the hot paths (accept, close). */
struct lc_fd {
	union {
		struct {
			uint8_t kind;  /* enum lc_kind; written with atomic operations */
			uint8_t flags; /* LC_FDF_* */
			uint16_t li;   /* LISTEN, STOPPED, STASHED: the listener record;
					* PRIVATE: its move callback (lc_fds_private) */
			union {	       /* by kind: */
				int32_t owner; /* CONN: pid of the process that accepted it,
						* 0 if none of ours did (inherited) */
				int32_t next;  /* STASHED: the next fd in the stash, -1: none */
				int32_t until; /* LINGER: when its linger ends, in ms */
			};
		};
		uint16_t head; /* kind and flags, for one compare on the hot paths */
		uint64_t word;
	};
};

/* The head of an entry with this kind and these flags. Pure; any context. */
static inline uint16_t lc_fd_head(int kind, int flags)
{
	struct lc_fd v = { .kind = (uint8_t)kind, .flags = (uint8_t)flags };

	return v.head;
}

/* The word of an entry with these fields. Pure; any context. */
static inline uint64_t lc_fd_word(int kind, int flags, int li, int32_t owner)
{
	struct lc_fd v = { .kind = (uint8_t)kind, .flags = (uint8_t)flags, .li = (uint16_t)li,
			   .owner = owner };

	return v.word;
}

extern struct lc_fd *lc_fds; /* NULL until the process becomes a server */
extern int lc_fds_n;	     /* entries in lc_fds; fds at or above it are not tracked */
extern int lc_fds_hi;	     /* one more than the highest fd ever tracked */

/* Whether fd has an entry in the table and the process is armed and on (state.h: lc_hot is
 * the table's size then, 0 otherwise): the one test of the hooks on every connection's path.
 * Any context. */
static inline bool lc_fd_hot(int fd)
{
	return (unsigned)fd < (unsigned)lc_acquire(&lc_hot);
}

/* Whether fd has an entry in the table. Any context. */
static inline bool lc_fd_tracked(int fd)
{
	return (unsigned)fd < (unsigned)lc_fds_n;
}

/* The entry for fd, or NULL if fd is outside the table. Any context. */
static inline struct lc_fd *lc_fd_get(int fd)
{
	return lc_fd_tracked(fd) ? &lc_fds[fd] : 0;
}

/* The kind of fd's entry (LC_FD_NONE outside the table), read atomically. Any context. */
static inline int lc_fd_kind(int fd)
{
	struct lc_fd *e = lc_fd_get(fd);

	return e ? lc_acquire(&e->kind) : LC_FD_NONE;
}

/* Reserves the table, sized from RLIMIT_NOFILE capped by LASTCALL_MAX_FDS. Returns 0 or -1.
 * Arming, once. */
int lc_fds_setup(void);

/* The rare cases of lc_fds_add_conn(): fd outside the table, or above every fd seen.
 * Any thread, as lc_fds_add_conn(); errno is preserved. */
void lc_fds_note(int fd);

/* Records fd as a connection this process accepted: one store. There are no counters to keep
 * on this path; a drain counts the entries (lc_fds_count). Any thread; errno is preserved. */
static inline __attribute__((always_inline)) void lc_fds_add_conn(int fd)
{
	/* lc_fds_hi <= lc_fds_n: one compare for both (an fd is never negative here). */
	if (__builtin_expect((unsigned)fd >= (unsigned)lc_load(&lc_fds_hi), 0)) {
		lc_fds_note(fd);
		if (!lc_fd_tracked(fd))
			return;
	}
	lc_release(&lc_fds[fd].word, lc_fd_word(LC_FD_CONN, 0, 0, lc_pid));
}

/* Records fd as a connection this process started with (not one of its own). At start-up,
 * once from lc_init(). */
void lc_fds_add_inherited(int fd);

/* Records fd with the given kind (not CONN). Any thread. */
void lc_fds_set(int fd, enum lc_kind kind, uint16_t li);

/* Whether an fd of this kind belongs to lastcall, not to the program. Pure; any context. */
static inline int lc_fds_ours(int kind)
{
	return kind == LC_FD_PRIVATE || kind == LC_FD_STASHED || kind == LC_FD_LINGER;
}

/* fd is being closed, or replaced by dup2/dup3: forget it and return its old kind. For
 * lastcall's own fds nothing is forgotten and their kind is returned. Any thread, AS-safe. */
enum lc_kind lc_fds_forget(int fd);

/* lastcall is done with one of its own fds. Any context, AS-safe. */
void lc_fds_release(int fd);

/* Marks fd as one of lastcall's own. If the program's dup2()/dup3() wants its number, fd is
 * first copied to a higher number and moved(fd, copy) tells its owner (before the old number
 * is replaced). Any thread; up to 8 distinct owners. */
void lc_fds_private(int fd, void (*moved)(int from, int to));

/* What the module that owns a kind of entry does when the program closes or replaces such an
 * fd (close(), dup2()/dup3() onto it, close_range()); any member may be 0. Each runs on the
 * program's thread that made the call. */
struct lc_fd_owner {
	/* close() of the fd, before its entry is forgotten (a connection during a drain) */
	void (*closing)(int fd);
	/* the entry is forgotten: the fd is being closed or replaced; li was its record */
	void (*closed)(int fd, uint16_t li);
	/* dup2()/dup3() is about to replace one of lastcall's own fds of this kind: move it */
	void (*replaced)(int fd);
};

/* Registers the owner of a kind: once, when arming, before any such entry exists. */
void lc_fds_own(enum lc_kind kind, const struct lc_fd_owner *owner);

/* close() of anything but an idle connection outside a drain. Any thread, as lc_fds_close(). */
int lc_fds_close_slow(int fd);

/* close() of a connection forgotten as a drain started: the drain is told, fd closed. */
int lc_fds_close_told(int fd);

/* lc_fds_close() of an fd with an entry (lc_fd_hot() or lc_fd_tracked()). */
static inline __attribute__((always_inline)) int lc_fds_close_entry(int fd)
{
	struct lc_fd v;

	v.word = lc_acquire(&lc_fds[(unsigned)fd].word);
	if (v.kind == LC_FD_NONE)
		return lc_real.close(fd);
	/* A connection, no drain running: forget it (a full barrier). A drain that started
	 * meanwhile is told: lc_draining is read again after the entry changed; see drain(). */
	if (v.head == lc_fd_head(LC_FD_CONN, 0) && !lc_load(&lc_draining) &&
	    lc_cas(&lc_fds[(unsigned)fd].word, v.word, 0)) {
		if (__builtin_expect(lc_load_full(&lc_draining), 0))
			return lc_fds_close_told(fd);
		return lc_real.close(fd);
	}
	return lc_fds_close_slow(fd);
}

/* close(): forgets fd and passes it on; lastcall's own fds are refused with EBADF.
 * Any thread; return value and errno are the real close's. */
static inline int lc_fds_close(int fd)
{
	if (!lc_fd_tracked(fd))
		return lc_real.close(fd);
	return lc_fds_close_entry(fd);
}

/* dup2() (LC_DUP2, flags 0) and dup3() (LC_DUP3): forgets newfd first, moving lastcall's own
 * fd away if the program wants its number. Any thread; return value and errno are the real
 * call's. */
enum lc_dup_call { LC_DUP2, LC_DUP3 };
int lc_fds_dup(int oldfd, int newfd, int flags, enum lc_dup_call call);

/* Whether connection fd, copied (LC_FDF_COPIED), is still open in this process under another
 * number: a close of fd then only drops a reference. Any thread. */
bool lc_fds_copy_open(int fd);

/* close_range(): forgets the fds in the range, and closes it around lastcall's own fds.
 * Any thread. */
int lc_fds_close_range(unsigned first, unsigned last, int flags);

/* closefrom(): the same, from lowfd up; errno is left alone. Any thread. */
void lc_fds_closefrom(int lowfd);

/* An epoll instance was created (fd, or -1 on failure): remember it; returns fd. Any thread. */
int lc_fds_note_epoll(int fd);

/* Removes fd from every epoll set of the program's, as closing its last reference would: a
 * connection lastcall keeps a copy of after the program closes it must not go on reporting
 * events, with pointers the program has freed, in the program's epoll sets. Any thread. */
void lc_fds_epoll_forget(int fd);

/* Calls fn(fd, arg) for every entry of the given kind, lowest fd first. Any thread, where fn
 * may run (the cleanup thread's drain; the fork hook in the parent). */
void lc_fds_each(enum lc_kind kind, void (*fn)(int fd, void *arg), void *arg);

/* Counts CONN entries (all, or only this process's own) by scanning the table. Any context,
 * AS-safe (a master's check runs in the signal handler). */
int lc_fds_count(bool own_only);


#pragma GCC visibility pop

#endif
