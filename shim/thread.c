/* SPDX-License-Identifier: MIT */
/* thread.c: the cleanup thread's life: started, woken, a drain per trigger signal, the signal
 * handed back; and the program's exit() and exec() waiting for it. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lastcall/sys.h"
#include "lastcall/atomic.h"
#include "lastcall/children.h"
#include "lastcall/config.h"
#include "lastcall/drain.h"
#include "lastcall/fds.h"
#include "lastcall/listener.h"
#include "lastcall/stash.h"
#include "lastcall/log.h"
#include "lastcall/master.h"
#include "lastcall/sig.h"
#include "lastcall/solo.h"
#include "lastcall/state.h"
#include "lastcall/thread.h"
#include "lastcall/wake.h"

/* The thread's state, also the futex word exit() waits on. */
enum { IDLE, DRAINING, DONE };
static int state;

/* Set by the cleanup thread once it runs its own code (see lc_thread_start). */
static int thread_started;

static void set_state(int s)
{
	lc_release(&state, s);
	lc_syscall(SYS_futex, &state, FUTEX_WAKE_PRIVATE, INT32_MAX, 0, 0, 0);
}

/* Trigger signal sig arrived: drains, then gives the signal back. Returns whether the program
 * called exit() meanwhile (its exit then goes on once the signal's disposition came first). */
static bool on_trigger(int sig, siginfo_t *info)
{
	bool ending;

	set_state(DRAINING);
	/* A helper lets its server end it at once: the server knows. */
	ending = !(lc_helper && lc_drain_from_server(info->si_pid)) && !lc_drain_run(sig);
	lc_master_wait_release();
	/* A helper that ends on its own (exit, or exec of its next program) has done its part: the
	 * signal would only turn its success into a failure its script acts on ("set -e",
	 * "cmd || exit"), cutting the reply it serves. */
	if (ending && lc_helper)
		lc_log(LC_DEBUG, "SIG%s not passed on: a helper that ended on its own",
		       lc_signal_name(sig));
	else
		lc_sig_handback(sig, info);
	lc_master_release(sig);
	lc_sig_clear();
	return ending;
}

static void *cleanup_main(void *arg)
{
	siginfo_t info;
	int sig;

	(void)arg;
	/* Named by itself: pthread_setname_np() from another thread opens a /proc file, an fd at
	 * the lowest free number, in the program's way (util.h, LC_OWN). */
	prctl(PR_SET_NAME, LC_THREAD_NAME);
	lc_release(&thread_started, 1);
	lc_syscall(SYS_futex, &thread_started, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
	for (;;) {
		lc_drain_wait(-1);
		if ((sig = lc_sig_pending(&info))) {
			if (!on_trigger(sig, &info)) {
				set_state(IDLE);
				continue;
			}
		} else if (lc_drain_exit_requested()) {
			set_state(DRAINING);
			if (lc_drain_remaining(true) > 0 || lc_master_until())
				lc_drain_run(0);
		} else {
			if (lc_load(&lc_draining) == 0)
				lc_stash_drop(false);
			continue;
		}
		/* exit() meanwhile: the signal's disposition came first, as it would have; a handler
		 * that returns lets the exit go on. */
		lc_listeners_leave_all();
		set_state(DONE);
		return 0;
	}
}

int lc_thread_start(void)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 }; /* 50 of them: 0.5 s at most */
	bool solo = lc_solo_before();
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int err, i;

	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	/* Every signal blocked: the program's signals must never land on our thread. A thread
	 * starts with its creator's mask (musl has no pthread_attr_setsigmask_np). */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	lc_store(&thread_started, 0);
	err = pthread_create(&t, &attr, cleanup_main, 0);
	pthread_sigmask(SIG_SETMASK, &old, 0);
	pthread_attr_destroy(&attr);
	if (err)
		return err;
	/* Wait (bounded) until the thread runs our code: its start-up, in libc or in a runtime
	 * preloaded ahead of us (a sanitizer allocates there, under its allocator's lock), is
	 * then over, so a fork() the program makes next cannot copy that lock held into a
	 * child whose own cleanup thread would then wait on it for good. */
	for (i = 0; i < 50 && !lc_acquire(&thread_started); i++)
		lc_syscall(SYS_futex, &thread_started, FUTEX_WAIT_PRIVATE, 0, &tick, 0, 0);
	/* A thread still in libc's start-up code is not known to keep out of what the flag
	 * guards. */
	lc_solo_after(solo && lc_acquire(&thread_started));
	return 0;
}

/* Asks the cleanup thread to end the drain as for an exit() (this process's own connections
 * only, then the held signal's disposition first), and waits until it has. */
static void end_as_exit(void)
{
	int s;

	lc_drain_request_exit();
	lc_wake_poke();
	while ((s = lc_acquire(&state)) != DONE)
		lc_syscall(SYS_futex, &state, FUTEX_WAIT_PRIVATE, s, 0, 0, 0);
}

void lc_thread_exit(void)
{
	if (!lc_acquire(&lc_armed) || lc_acquire(&lc_thread_pid) != lc_pid)
		return;
	if (lc_acquire(&state) == IDLE && lc_fds_count(true) == 0 && !lc_master_until()) {
		lc_listeners_leave_all(); /* nothing of ours in flight: exit is not delayed */
		return;
	}
	end_as_exit();
}

void lc_thread_exec(void)
{
	if (!lc_sig_held() || !lc_acquire(&lc_armed) || lc_acquire(&lc_thread_pid) != getpid())
		return; /* nothing held, or a vfork child (its parent's memory, another pid) */
	end_as_exit();
}

void lc_thread_fork_child(void)
{
	state = IDLE;
}
