/* SPDX-License-Identifier: MIT */
/* solo.h: a program with one thread keeps glibc's single-threaded paths when lastcall's cleanup
 * thread is the only other one. glibc takes them while __libc_single_threaded is set, and
 * pthread_create() clears it for good: every cancellable call (read, write, epoll_wait,
 * accept...) then costs about 80 instructions more, malloc() takes its locks. lastcall's thread
 * never allocates, never uses stdio and takes only its own locks (spin.h), so for glibc's
 * purposes the program still has one thread, and lastcall sets the flag again. glibc is told
 * the truth around the two kinds of call whose work must reach every thread: fork(), which
 * otherwise skips the locks and resets of a multi-threaded fork, and the set*id family, which
 * otherwise changes the calling thread's credentials only (docs/design.md, "One thread in
 * glibc's eyes"). Only the glibc versions whose uses of the flag were read are told (2.36);
 * musl and the others keep the multi-threaded paths. */
#ifndef LASTCALL_SOLO_H
#define LASTCALL_SOLO_H

#include <stdbool.h>
#include <sys/types.h>

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* Before lastcall creates its thread: whether glibc sees one thread, and is a version whose
 * uses of the flag lastcall knows. Arming, under its lock. */
bool lc_solo_before(void);

/* After creating it, once it runs lastcall's code: if lc_solo_before() said so, sets the flag
 * again. Arming, under its lock. */
void lc_solo_after(bool solo);

/* Around a call glibc must make as for a multi-threaded process: clears the flag if lastcall set
 * it and no thread of the program's has cleared it since. Returns whether it did, for
 * lc_solo_resume(). Any program thread, not AS-safe (nor is the call it surrounds). */
bool lc_solo_pause(void);
void lc_solo_resume(bool paused);

/* fork() through fork_fn with the flag cleared; in the parent and in the child (which has one
 * thread) it is set again after. */
pid_t lc_solo_fork(pid_t (*fork_fn)(void));

#pragma GCC visibility pop

#endif
