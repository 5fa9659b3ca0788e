/* SPDX-License-Identifier: MIT */
/* init.c: lc_init() (configuration, real functions, inherited signal dispositions), the
 * constructor that forces it before main, and the fork handlers. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "lastcall/arm.h"
#include "lastcall/children.h"
#include "lastcall/config.h"
#include "lastcall/drain.h"
#include "lastcall/exec.h"
#include "lastcall/fds.h"
#include "lastcall/gen.h"
#include "lastcall/init.h"
#include "lastcall/intake.h"
#include "lastcall/linger.h"
#include "lastcall/log.h"
#include "lastcall/master.h"
#include "lastcall/notify.h"
#include "lastcall/private.h"
#include "lastcall/real.h"
#include "lastcall/sig.h"
#include "lastcall/stop.h"
#include "lastcall/thread.h"
#include "lastcall/util.h"

static int init_claimed;

/* secure_getenv: a setuid or otherwise secure-execution process reads no LASTCALL_*. */
static const char *env(const char *name)
{
	return secure_getenv(name);
}

static void atfork_prepare(void)
{
	lc_stop_fork_prepare();
}

static void atfork_parent(void)
{
	lc_stop_fork_done(false);
	lc_intake_fork(false);
}

/* Runs in the child of a possibly multi-threaded parent: only AS-safe work. The thread did not
 * survive the fork and the wake pipe is the parent's: a signal in the child must neither wake
 * the parent nor wait for a thread that is not there. */
static void atfork_child(void)
{
	lc_pid = getpid();
	lc_own_fork_child();
	lc_private_fork_child();
	lc_drain_fork_child();
	lc_master_fork_child();
	lc_thread_fork_child();
	lc_arm_fork_child();
	lc_sig_fork_child();
	lc_stop_fork_done(true);
	lc_intake_fork(true);
	lc_linger_fork_child();
	lc_children_fork_child();
	lc_notify_fork_child();
}

void lc_init_slow(void)
{
	/* One thread initialises; any other waits. lastcall's own code calls no hooked name,
	 * so the initialising thread never comes back here. */
	if (!lc_cas(&init_claimed, 0, 1)) {
		while (!lc_acquire(&lc_ready))
			sched_yield();
		return;
	}
	lc_pid = getpid();
	if (lc_real_bind() < 0)
		lc_off = 1;
	lc_config_load(&lc_config, env);
	if (lc_config.disable)
		lc_off = 1;
	if (!lc_off) {
		lc_sig_init(lc_config.signals);
		lc_notify_init(env);
		lc_exec_init();
		pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	}
	lc_release(&lc_ready, 1);
	if (!lc_off)
		lc_arm_startup();
	if (!lc_off && lc_gen_claim(env) && lc_arm() == 0)
		lc_gen_startup();
}

__attribute__((constructor)) static void lc_constructor(void)
{
	lc_init();
}
