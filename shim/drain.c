/* SPDX-License-Identifier: MIT */
/* drain.c: one drain, on the cleanup thread: stop intake, wait for the connections to close,
 * close the idle ones, end what is left at the deadline, and say what happened. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/children.h"
#include "lastcall/config.h"
#include "lastcall/drain.h"
#include "lastcall/fds.h"
#include "lastcall/stash.h"
#include "lastcall/linger.h"
#include "lastcall/log.h"
#include "lastcall/master.h"
#include "lastcall/notify.h"
#include "lastcall/private.h"
#include "lastcall/real.h"
#include "lastcall/share.h"
#include "lastcall/sig.h"
#include "lastcall/state.h"
#include "lastcall/stop.h"
#include "lastcall/tcp.h"
#include "lastcall/util.h"
#include "lastcall/wake.h"

/* With many connections every step of a drain is long (it counts the table), and the
 * program's closes come in bursts, each waking the cleanup thread: after each step it rests
 * CPU_SHARE - 1 times as long as the step took, up to REST_MAX_US, so that a burst of closes
 * costs a step per rest, not a step per close, and the drain's end is noticed within the rest.
 * Idle connections are looked for when the first one can have become idle (see idle_due), but
 * never more often than every IDLE_CHECK_MS, nor than CPU_SHARE allows for the look itself
 * (at 25, 4 % of a core). A connection that never carried a byte must be quiet for
 * IDLE_FRESH_MS at least: its client opened it to send something. */
#define CPU_SHARE 25
#define REST_MAX_US 2000
#define IDLE_CHECK_MS 5
#define IDLE_FRESH_MS 1000
/* What systemd is asked to allow beyond lastcall's own bound, for the program's own shutdown
 * after the hand-back (EXTEND_TIMEOUT_USEC). */
#define HANDBACK_SLACK_MS 5000

static int exit_requested; /* the program called exit() (or exec) during a drain */

/* Rests until until (monotonic µs), if it is still ahead: the cleanup thread's share of the CPU
 * (CPU_SHARE). Pokes meanwhile wait in the pipe. */
static void rest_until(int64_t until)
{
	int64_t left = until - lc_now_us();
	struct timespec ts = { left / 1000000, left % 1000000 * 1000 };

	if (left > 0)
		nanosleep(&ts, 0);
}

void lc_drain_wait(int64_t timeout)
{
	int also[2] = { lc_linger_fd(), lc_children_fd() }, r;

	if ((r = lc_wake_wait(timeout, also, 2)))
		lc_private_renew(r);
}

void lc_drain_request_exit(void)
{
	lc_release(&exit_requested, 1);
}

bool lc_drain_exit_requested(void)
{
	return lc_acquire(&exit_requested);
}

/* Connections still to finish: the stash, then the table. In that order: one the program takes
 * from the stash is a connection in the table before it leaves the stash (see pop() in
 * stash.c), so it is counted at least once. */
int lc_drain_remaining(bool own)
{
	int stashed = lc_stash_count();

	return stashed + lc_fds_count(own);
}

/* A connection the drain waits for: all of them for a signal, this process's own for exit(). */
static bool counts(const struct lc_drain *d, int fd)
{
	return !d->own || lc_load(&lc_fds[fd].owner) == lc_pid;
}

/* A connection the program closed through a path no hook sees (fclose, a raw syscall) would
 * hold the drain to its deadline: forget fds that are no longer open. */
static void forget_if_closed(int fd, void *unseen)
{
	if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
		lc_fds_forget(fd);
		++*(int *)unseen;
		lc_log(LC_DEBUG, "fd %d was closed without close(): no longer waited for", fd);
	}
}

/* A busy connection needs the whole quiet time once it has answered; the kernel's times are in
 * jiffies, hence the few ms more. */
int64_t lc_drain_idle_due(enum lc_conn_state s, int64_t quiet)
{
	int64_t need = lc_config.idle_ms;

	switch (s) {
	case LC_CONN_FRESH:
		need = need > IDLE_FRESH_MS ? need : IDLE_FRESH_MS;
		/* fall through */
	case LC_CONN_ANSWERED:
		return quiet >= need ? 0 : need - quiet + IDLE_CHECK_MS;
	case LC_CONN_BUSY:
		return need + IDLE_CHECK_MS;
	default:
		return -1;
	}
}

/* Idle connections (the server answered, or the client never spoke, and nothing has crossed
 * them for LASTCALL_IDLE) are shut for reading: the program reads EOF and closes them as it
 * would a client's, and the close lingers. The others tell when the next look is worth it.
 * The look and the shutdown are by fd number, so both are made with lc_own_lock() held and the
 * entry checked under it: the program's close() of fd waits for them (util.h, lc_own_sync()),
 * and an fd the program makes next cannot take the number in between and be shut instead. */
static void close_if_idle(int fd, void *arg)
{
	struct lc_drain *d = arg;
	struct lc_fd *e = &lc_fds[fd];
	int64_t quiet = 0, due = -1;
	bool took, shut = false;
	enum lc_conn_state s;

	if (!counts(d, fd))
		return;
	took = lc_own_lock();
	if (lc_acquire(&e->kind) == LC_FD_CONN &&
	    !(lc_acquire(&e->flags) & (LC_FDF_IDLE | LC_FDF_ENDED))) {
		s = lc_tcp_classify(fd, &quiet);
		due = lc_drain_idle_due(s, quiet);
		/* Bytes waiting either way make it busy; asked only of one quiet for long enough. */
		if (!due && lc_tcp_pending(fd))
			due = lc_drain_idle_due(LC_CONN_BUSY, quiet);
		if ((shut = !due && shutdown(fd, SHUT_RD) == 0))
			lc_or(&e->flags, LC_FDF_IDLE);
	}
	lc_own_unlock(took);
	if (due > 0 && d->idle_check > d->idle_look + due)
		d->idle_check = d->idle_look + due;
	if (!shut)
		return;
	d->idle++;
	lc_log(LC_DEBUG, "fd %d closed as idle: quiet for %lld ms", fd, (long long)quiet);
}

/* At the deadline: stop writing and linger (see linger.h); under the lock, as above. */
static void end_conn(int fd, void *arg)
{
	struct lc_drain *d = arg;
	bool took;

	if (!counts(d, fd))
		return;
	took = lc_own_lock();
	if (lc_acquire(&lc_fds[fd].kind) == LC_FD_CONN &&
	    !(lc_acquire(&lc_fds[fd].flags) & LC_FDF_ENDED)) {
		lc_linger_end(fd);
		d->ended++;
	}
	lc_own_unlock(took);
}

/* Whether the user insists: the second SIGINT, counting the one that started the drain. */
static bool insisted(const struct lc_drain *d)
{
	return lc_sig_count(SIGINT) - d->ints + (d->sig == SIGINT) >= 2;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* One line of a drain's story: to the log, and to systemd as the unit's STATUS=, with an
 * EXTEND_TIMEOUT_USEC= covering left_ms more of the drain (if left_ms >= 0), the deadline's
 * lingering and killing, and the hand-back. */
static void report(const struct lc_drain *d, int64_t left_ms, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(const struct lc_drain *d, int64_t left_ms, const char *fmt, ...)
{
	char line[320];
	va_list ap;

	va_start(ap, fmt);
	lc_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	lc_log(d->quiet ? LC_DEBUG : LC_INFO, "%s", line);
	if (!d->sig)
		return; /* an exit(): the program is not being stopped */
	lc_notify(1, line,
		  left_ms < 0 ? HANDBACK_SLACK_MS
			      : left_ms + LC_LINGER_MS + (d->kids ? lc_config.kill_after_ms : 0) +
					HANDBACK_SLACK_MS);
}

/* LASTCALL_GRACE: intake goes on as usual for a while, so a load balancer can stop sending
 * traffic first. Returns false if the user insisted meanwhile. */
static bool grace(const struct lc_drain *d)
{
	int64_t end = lc_now_ms() + lc_config.grace_ms;
	char tbuf[24];

	if (!d->sig || d->helper || lc_config.grace_ms <= 0)
		return true;
	report(d, lc_config.grace_ms + lc_config.timeout_ms + lc_config.kill_after_ms,
	       "SIG%s: still accepting for %s (LASTCALL_GRACE), then draining",
	       lc_signal_name(d->sig), lc_format_ms(lc_config.grace_ms, tbuf));
	while (lc_now_ms() < end)
		if (insisted(d))
			return false;
		else
			lc_drain_wait(end - lc_now_ms());
	return true;
}

/* The deadline passed, or the user insisted: end what is left. Connections stop writing and
 * linger; children get SIGTERM, and SIGKILL LASTCALL_KILL_AFTER later. Not a master's: its
 * workers' drains end at their own deadlines, and its own handler, which runs next, stops
 * them as it would have (a worker killed before it ran would be replaced). */
static void end_all(struct lc_drain *d, int64_t t)
{
	if (!d->hurry && t < d->deadline) {
		lc_log(LC_INFO, "second SIGINT: ending the drain now");
		d->hurry = true;
	}
	lc_fds_each(LC_FD_CONN, end_conn, d);
	d->ended += lc_stash_drop(true);
	if (d->kids && !d->hurry && !d->master)
		d->termed = lc_children_signal(SIGTERM);
	d->ending = true;
	d->linger_until = d->hurry ? t : t + LC_LINGER_MS;
	d->kill_at = t + lc_config.kill_after_ms;
}

bool lc_drain_from_server(pid_t pid)
{
	pid_t p = lc_helper_parent;
	int up;

	for (up = 0; pid > 0 && p > 0 && up < 16; up++) {
		if (p == pid)
			return up == 0 || lc_children_runs_lastcall(pid);
		if (p == 1)
			break;
		p = lc_share_parent(p);
	}
	return false;
}

/* A helper that holds a signal from outside: the server's own, sent since, ends the hold. */
static void helper_released(struct lc_drain *d)
{
	pid_t s = lc_acquire(&lc_sig_sender);

	if (!d->helper || d->released || s == d->sender)
		return;
	d->sender = s;
	if ((d->released = lc_drain_from_server(s)))
		lc_log(LC_DEBUG, "SIG%s from pid %d, the server: the held signal passes",
		       lc_signal_name(d->sig), (int)s);
}

/* The periodic work of a drain, on every wake-up. Returns what is still open: connections,
 * lingering closes and children, in *n, *lingering, *kids. */
static void step(struct lc_drain *d, int64_t t, int *n, int *lingering, int *kids)
{
	int64_t looked;

	lc_stash_drop(false);
	helper_released(d);
	if (!d->ending && lc_config.idle_ms >= 0 && t >= d->idle_check) {
		/* A connection that joins later (from the stash) is looked at within the time
		 * a busy one needs. */
		d->idle_look = t;
		d->idle_check = t + lc_drain_idle_due(LC_CONN_FRESH, 0);
		lc_fds_each(LC_FD_CONN, close_if_idle, d);
		looked = lc_now_ms();
		d->idle_check = max64(d->idle_check, max64(t + IDLE_CHECK_MS,
							   looked + (looked - t) * (CPU_SHARE - 1)));
	}
	if (!d->exiting && d->sig && lc_acquire(&exit_requested)) {
		d->own = true; /* the program is ending itself: its own connections only */
		d->exiting = true;
	}
	*lingering = lc_linger_service();
	*n = lc_drain_remaining(d->own);
	*kids = d->kids && !d->hurry ? lc_children_scan() : 0;
	/* A worker that began accepting since (one started as the stop began) drains too. */
	if (*kids > 0 && d->sig && !d->ending)
		d->forwarded += lc_children_forward(d->sig);
	if (d->master && !d->ending)
		*kids = lc_share_undrained(lc_pid);
	if (d->ending && *kids > 0 && t >= d->kill_at && !d->killed && !d->master)
		d->killed = lc_children_signal(SIGKILL);
}

/* A helper holds its signal until the deadline (its work is not visible to lastcall), unless
 * the program ends itself first, or the server ends it. */
bool lc_drain_done(const struct lc_drain *d, int n, int lingering, int kids, int64_t t)
{
	if (!d->ending)
		return n == 0 && lingering == 0 && kids == 0 &&
		       (!d->helper || d->exiting || d->released) &&
		       (!d->kids || t >= lc_children_last_end() + LC_CHILD_SETTLE_MS);
	return (lingering == 0 || t >= d->linger_until) &&
	       (kids == 0 || d->master || t >= d->kill_at + LC_LINGER_MS);
}

/* When the drain must look again at the latest, at time t: the soonest of its own times still
 * ahead (a time already past would make the wait endless, and the SIGKILL at kill_at would
 * never come for a child that ignores SIGTERM), and the next second's tick. */
static int64_t next_look(const struct lc_drain *d, int64_t t, int n, int lingering, int kids,
			 int64_t tick)
{
	int64_t next = tick;

	if (!d->ending) {
		next = min64(next, d->deadline);
		if (n > 0 && lc_config.idle_ms >= 0)
			next = min64(next, d->idle_check);
	} else {
		if (lingering && d->linger_until > t)
			next = min64(next, d->linger_until);
		if (kids && d->kill_at > t)
			next = min64(next, d->kill_at);
		else if (kids && d->kill_at + LC_LINGER_MS > t)
			next = min64(next, d->kill_at + LC_LINGER_MS);
	}
	if (lingering || kids || d->kids)
		next = min64(next, t + LC_CHILD_SETTLE_MS);
	return max64(next, t);
}

/* "connection" or "connections", for the log lines. */
static const char *conns(int n)
{
	return n == 1 ? "connection" : "connections";
}

static const char *children(int n)
{
	return n == 1 ? "child" : "children";
}

static void summarise(const struct lc_drain *d, int64_t t0)
{
	int n = d->n0 - d->ended - d->idle, ended = lc_children_ended();
	char kids[160] = "";
	int64_t ms;

	if (n < 0)
		n = 0;
	if (d->kids && ended + d->forwarded + d->termed + d->killed > 0)
		lc_format(kids, sizeof(kids),
			  "; %d %s ended (%d passed the signal), %d sent SIGTERM at the "
			  "deadline, %d killed",
			  ended, children(ended), d->forwarded, d->termed, d->killed);
	ms = lc_now_ms() - t0;
	report(d, -1,
	       "drained in %lld ms: %d %s finished, %d closed as idle, %d closed at the "
	       "deadline%s",
	       (long long)ms, n, conns(n), d->idle, d->ended, kids);
	/* The same, for programs: keys never change meaning, new ones are only appended. */
	lc_log(d->quiet ? LC_DEBUG : LC_INFO,
	       "summary: on=%s%s ms=%lld finished=%d idle=%d deadline=%d children=%d passed=%d "
	       "termed=%d killed=%d unseen=%d",
	       d->sig ? "SIG" : "exit", d->sig ? lc_signal_name(d->sig) : "", (long long)ms, n,
	       d->idle, d->ended, d->kids ? ended : 0, d->forwarded, d->termed, d->killed,
	       d->unseen);
}

/* The start of drain d, after the grace period: intake stopped, connections counted, children
 * found and told, the deadline set and said. Returns the time it started from (monotonic ms). */
static int64_t begin(struct lc_drain *d)
{
	int stopped;
	int64_t t;
	char tbuf[24];

	lc_linger_setup();
	/* Sequentially consistent, as the close() that counts the last connection reads it
	 * after its count: one of the two sees the other (no lost wake-up). */
	lc_store_full(&lc_draining, 1);
	stopped = lc_stop_intake(!d->own);
	d->n0 = lc_drain_remaining(d->own);
	d->kids = lc_config.wait_children;
	if (d->kids)
		lc_children_setup();
	if (d->kids && lc_children_scan() > 0 && d->sig)
		d->forwarded = lc_children_forward(d->sig);
	t = lc_now_ms();
	d->deadline = t + lc_config.timeout_ms;
	if (lc_master_until() && d->deadline > lc_master_until())
		d->deadline = lc_master_until();
	d->idle_check = t;
	report(d, lc_config.timeout_ms,
	       "draining on %s%s: %d %s stopped, %d %s in flight, deadline %s%s",
	       d->sig ? "SIG" : "exit()", d->sig ? lc_signal_name(d->sig) : "", stopped,
	       stopped == 1 ? "listener" : "listeners", d->n0, conns(d->n0),
	       lc_format_ms(lc_config.timeout_ms, tbuf),
	       d->master ? "; a master: its workers drain first, then its own handler runs" : "");
	return t;
}

/* Once a second: connections closed behind libc's back forgotten, and progress said. */
static void each_second(struct lc_drain *d, int n, int kids)
{
	char tbuf[24];

	lc_fds_each(LC_FD_CONN, forget_if_closed, &d->unseen);
	if (!d->ending && (n > 0 || kids > 0))
		report(d, d->deadline - lc_now_ms(), "draining: %d %s in flight, %d %s, %s left", n,
		       conns(n), kids, children(kids),
		       lc_format_ms((d->deadline - lc_now_ms() + 999) / 1000 * 1000, tbuf));
}

/* Runs a drain; returns false if the program called exit() meanwhile (its exit then waits
 * for the hand-back, see cleanup_main). While lc_draining is set, a close wakes it: the last
 * connection's end is learnt from its close, not by polling. */
bool lc_drain_run(int sig)
{
	struct lc_drain d = { .sig = sig, .own = sig == 0, .helper = lc_helper && sig,
			      .master = sig && lc_master_holding(),
			      .quiet = !sig && lc_drain_remaining(true) == 0 };
	int64_t t0 = lc_now_ms(), tick, t, busy;
	int n = 0, lingering, kids;

	d.ints = lc_sig_count(SIGINT);
	d.sender = lc_acquire(&lc_sig_sender);
	/* A master's SIGKILL to this process waits while it drains (lc_master_kill). */
	prctl(PR_SET_NAME, LC_THREAD_DRAINING);
	d.hurry = !grace(&d);
	tick = begin(&d) + 1000;
	for (;;) {
		busy = lc_now_us();
		t = busy / 1000;
		step(&d, t, &n, &lingering, &kids);
		if (!d.ending && (d.hurry || t >= d.deadline || insisted(&d)))
			end_all(&d, t);
		if (lc_drain_done(&d, n, lingering, kids, t))
			break;
		busy = lc_now_us() + min64((lc_now_us() - busy) * (CPU_SHARE - 1), REST_MAX_US);
		t = lc_now_ms();
		lc_drain_wait(next_look(&d, t, n, lingering, kids, tick) - t);
		rest_until(busy);
		if (lc_now_ms() >= tick) {
			tick += 1000;
			each_second(&d, n, kids);
		}
	}
	lc_linger_drop_all();
	lc_release(&lc_draining, 0);
	summarise(&d, t0);
	lc_children_reset();
	prctl(PR_SET_NAME, LC_THREAD_NAME);
	return !d.exiting;
}


void lc_drain_fork_child(void)
{
	exit_requested = 0;
	lc_draining = 0;
}
