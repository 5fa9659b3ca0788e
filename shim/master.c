/* SPDX-License-Identifier: MIT */
/* master.c: a master's stop held until its workers drain, and the workers' side of it. */
#define _GNU_SOURCE
#include <time.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/children.h"
#include "lastcall/config.h"
#include "lastcall/fds.h"
#include "lastcall/stash.h"
#include "lastcall/linger.h"
#include "lastcall/log.h"
#include "lastcall/master.h"
#include "lastcall/share.h"
#include "lastcall/sig.h"
#include "lastcall/state.h"
#include "lastcall/util.h"

/* How long a worker whose drain is over waits for its parent to show that it holds its stop
 * as a master, when both were signalled at once, before it ends as any server would. */
#define MASTER_DECIDE_MS 200
/* How long a master's handler may take to start after its signal is given back. */
#define RELEASE_WAIT_MS 2000

static int64_t master_until;
static int master; /* set by the signal handler: holding its stop as a master */

int64_t lc_master_longest_drain_ms(void) /* AS-safe */
{
	return lc_config.grace_ms + lc_config.timeout_ms + lc_config.kill_after_ms + LC_LINGER_MS;
}

bool lc_master_check(void) /* AS-safe */
{
	if (lc_helper || !lc_config.wait_children || lc_share_accepts(lc_pid) ||
	    lc_stash_count() + lc_fds_count(false) > 0 || !lc_share_has_worker(lc_pid))
		return false;
	lc_share_master(LC_MASTER_HOLDING);
	lc_cas(&master_until, 0, lc_now_ms() + lc_master_longest_drain_ms());
	lc_release(&master, 1);
	return true;
}

bool lc_master_holding(void)
{
	return lc_acquire(&master);
}

int64_t lc_master_until(void)
{
	return lc_acquire(&master_until);
}

void lc_master_wait_release(void)
{
	struct timespec tick = { 0, 5 * 1000 * 1000 };
	pid_t parent = getppid();
	int64_t decide = lc_now_ms() + MASTER_DECIDE_MS,
		until = lc_now_ms() + lc_master_longest_drain_ms();
	enum lc_master_state s;

	if (!lc_share_accepts(lc_pid) || !lc_children_runs_lastcall(parent))
		return;
	lc_share_drained();
	while ((s = lc_share_master_state(parent)) != LC_MASTER_RELEASED && lc_now_ms() < until &&
	       (s == LC_MASTER_HOLDING || lc_now_ms() < decide))
		nanosleep(&tick, 0);
	if (s == LC_MASTER_RELEASED)
		lc_log(LC_DEBUG, "released by master %d", (int)parent);
}

/* A program that blocks the signal but in ppoll() takes it only there: its handler may start a
 * while after the hand-back. */
void lc_master_release(int sig)
{
	struct timespec tick = { 0, 1000 * 1000 };
	int i;

	if (!lc_xchg(&master, 0))
		return;
	for (i = 0; i < RELEASE_WAIT_MS && !lc_sig_handed_over(sig); i++)
		nanosleep(&tick, 0);
	lc_share_master(LC_MASTER_RELEASED);
}

int lc_master_kill(pid_t pid)
{
	if (pid == lc_pid || !lc_children_draining(pid))
		return lc_real.kill(pid, SIGKILL);
	return lc_children_kill_held(pid, lc_now_ms() + lc_master_longest_drain_ms());
}

void lc_master_fork_child(void)
{
	master_until = 0;
	master = 0;
}
