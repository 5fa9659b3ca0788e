/* SPDX-License-Identifier: MIT */
/* atomic.h: the only ways lastcall touches a variable that another thread, a signal handler or
 * another process may touch at the same moment, in the spirit of the kernel's READ_ONCE and
 * WRITE_ONCE. Such a variable is always accessed through these, never plainly (except where a
 * single thread owns it: initialisation before any other thread can see it, or a fork child
 * resetting it before its first thread starts). The name says the ordering:
 *
 *   lc_load, lc_store          relaxed: the value itself, no ordering (counters, flags read
 *                              for a hint)
 *   lc_acquire, lc_release     publication: what was written before the release is seen by
 *                              whoever acquires the value written
 *   lc_load_full, lc_store_full  sequentially consistent: two threads each write one flag and
 *                              read the other's, and at least one of them sees the other's
 *                              write (the drain flag against a close: no lost wake-up)
 *   lc_xchg, lc_cas, lc_or, lc_and, lc_add  read-modify-write, acquire and release
 *
 * All are async-signal-safe and lock-free on the word sizes lastcall uses. */
#ifndef LASTCALL_ATOMIC_H
#define LASTCALL_ATOMIC_H

#define lc_load(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define lc_store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define lc_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define lc_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define lc_load_full(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define lc_store_full(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

/* Stores v and returns the value it replaced. */
#define lc_xchg(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)

/* Stores new if *p holds old; returns whether it did (lc_cas), or what *p held (lc_cas_val:
 * old if it did). A full barrier either way. */
#define lc_cas(p, old, new) __sync_bool_compare_and_swap((p), (old), (new))
#define lc_cas_val(p, old, new) __sync_val_compare_and_swap((p), (old), (new))

/* *p |= v, *p &= v, *p += v; each returns the value before. */
#define lc_or(p, v) __atomic_fetch_or((p), (v), __ATOMIC_ACQ_REL)
#define lc_and(p, v) __atomic_fetch_and((p), (v), __ATOMIC_ACQ_REL)
#define lc_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)

#endif

