/* SPDX-License-Identifier: MIT */
/* sig.h: the trigger signals. lastcall keeps its own handler installed for them, while a
 * shadow table holds the program's own dispositions; the program reads and writes only the
 * shadow, and gets it back, exactly, when a drain ends. */
#ifndef LASTCALL_SIG_H
#define LASTCALL_SIG_H

#include <signal.h>
#include <stdbool.h>

#include "lastcall/config.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* LASTCALL_SIGNALS, bit n for signal n: written once by lc_sig_init(). */
extern unsigned long long lc_sig_triggers;

/* Whether sig can never be a trigger, known before any configuration is read. Any context. */
static inline bool lc_sig_never_trigger(int sig)
{
	return sig <= 0 || sig >= 64 || !(LC_TRIGGER_MASK >> sig & 1);
}

/* Whether sig is one of LASTCALL_SIGNALS. Any context. */
static inline bool lc_sig_is_trigger(int sig)
{
	return sig > 0 && sig < 64 && (lc_sig_triggers >> sig & 1);
}

/* Signals passed to the program's own disposition on the calling thread (its handler ran, or is
 * about to run, there), and whether the last one's handler restarts interrupted calls. A
 * parked accept() compares them to decide between EINTR and waiting on. */
extern __thread unsigned lc_sig_passed __attribute__((tls_model("initial-exec")));
extern __thread int lc_sig_passed_restart __attribute__((tls_model("initial-exec")));

/* The trigger signals, as a set. Any context, AS-safe. */
void lc_sig_trigger_set(sigset_t *set);

/* How signal()-style calls install a handler: glibc's signal() (restarting unless siginterrupt()
 * said otherwise), glibc's sysv_signal() (one-shot), sigset(), and musl's signal() (always
 * restarting). Which name does which is the libc's (lastcall/libc.h). */
enum lc_sig_style { LC_SIG_BSD, LC_SIG_SYSV, LC_SIG_SET, LC_SIG_RESTART };

/* Reads the inherited dispositions of the trigger signals. Once, from lc_init(). */
void lc_sig_init(unsigned long long triggers);

/* sigaction() for a trigger signal: reads and writes the shadow; touches the real disposition
 * only when lastcall's handler is not installed, or to follow the program to SIG_IGN. Returns
 * 0 or -1 with errno, exactly as sigaction(). Any thread, AS-safe. */
int lc_sig_action(int sig, const struct sigaction *act, struct sigaction *old);

/* signal(), sysv_signal() and sigset() for a trigger signal, built on lc_sig_action() with
 * glibc's flags for each style. Returns the previous handler or SIG_ERR. AS-safe. */
sighandler_t lc_sig_signal(int sig, sighandler_t handler, enum lc_sig_style style);

/* siginterrupt() for a trigger signal. AS-safe. */
int lc_sig_interrupt(int sig, int flag);

/* Installs lastcall's handler on every trigger signal the program does not ignore. Called once
 * the cleanup thread runs. master, called by the handler on the first trigger signal for which
 * the program has a handler of its own, says whether the process holds its stop as a master
 * (master.h); the handler then wakes the cleanup thread. Arming. */
void lc_sig_arm(bool (*master)(void));

/* Blocks the trigger signals in the calling thread (around fork); *old gets the mask before.
 * A program thread (fork()). */
void lc_sig_block_triggers(sigset_t *old);

/* Gives sig back to the program: its disposition is restored and the signal re-delivered to
 * the process with its original siginfo, so the program's handler runs in signal context (or
 * the default action ends the process) exactly as it would have without lastcall.
 * Cleanup thread. */
void lc_sig_handback(int sig, const siginfo_t *info);

/* Whether trigger signal sig, given back by lc_sig_handback(), has reached the program: its
 * disposition has been acted on (a handler of the program's has started) on the thread it was
 * given to, rather than waiting there, blocked. Cleanup thread. */
bool lc_sig_handed_over(int sig);

/* Gives every trigger signal back (lastcall turning itself off). Any thread (lc_turn_off()). */
void lc_sig_disarm(void);

/* Whether a trigger signal caught is held: its drain has not handed it back yet. Any thread. */
bool lc_sig_held(void);

/* Whether the program has a handler of its own without SA_RESTART for some signal: a call it
 * makes may then end with EINTR. Any thread, not AS-safe. */
bool lc_sig_interrupts(void);

/* The first trigger signal caught since the last lc_sig_clear(), with its siginfo; 0 if none.
 * Cleanup thread. */
int lc_sig_pending(siginfo_t *info);
void lc_sig_clear(void);

/* How many times sig was caught since start-up (or fork). Any context. */
unsigned lc_sig_count(int sig);

/* In a child after fork. */
void lc_sig_fork_child(void);

#pragma GCC visibility pop

#endif
