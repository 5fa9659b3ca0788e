/* SPDX-License-Identifier: MIT */
/* drain.c: the cleanup thread and the drain it runs: stop intake, wait for the connections to
 * close (woken by the close that empties the count, never by polling), close what is left at the
 * deadline, then hand the end of the process back to the program. Also arming a process as a
 * server, and the exit() side of a drain. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/children.h"
#include "lastcall/config.h"
#include "lastcall/drain.h"
#include "lastcall/fds.h"
#include "lastcall/init.h"
#include "lastcall/intake.h"
#include "lastcall/linger.h"
#include "lastcall/log.h"
#include "lastcall/notify.h"
#include "lastcall/real.h"
#include "lastcall/share.h"
#include "lastcall/sig.h"
#include "lastcall/stop.h"
#include "lastcall/tcp.h"

#include <netinet/in.h>

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
#define CHILD_SETTLE_MS 20
/* What systemd is asked to allow beyond lastcall's own bound, for the program's own shutdown
 * after the hand-back (EXTEND_TIMEOUT_USEC). */
#define HANDBACK_SLACK_MS 5000

int lc_draining;
pid_t lc_thread_pid;
int lc_helper;
pid_t lc_helper_parent;

static int wake_rd = -1, wake_wr = -1;
static int renewed; /* the wake pipe had to be made again: said once */
static pthread_mutex_t arm_mu = PTHREAD_MUTEX_INITIALIZER;

/* While this process stops as a master (see lc_drain_master), when its workers' drains are
 * bound to be over (monotonic ms; 0: not stopping as a master). Until then its exit() waits for
 * its children. */
static int64_t master_until;
static int master; /* set by the signal handler: a master holding its stop (drain.h) */

/* Drain state, also the futex word exit() waits on. */
enum { IDLE, DRAINING, DONE };
static int state;
static int exit_requested;

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ms(void)
{
	return now_us() / 1000;
}

/* Rests until until (monotonic µs), if it is still ahead: the cleanup thread's share of the CPU
 * (CPU_SHARE). Pokes meanwhile wait in the pipe. */
static void rest_until(int64_t until)
{
	int64_t left = until - now_us();
	struct timespec ts = { left / 1000000, left % 1000000 * 1000 };

	if (left > 0)
		nanosleep(&ts, 0);
}

LC_EARLY void lc_drain_poke(void) /* AS-safe */
{
	int fd = lc_acquire(&wake_wr), saved = errno;
	char c = 0;

	if (fd >= 0 && write(fd, &c, 1) < 0)
		errno = saved; /* a full pipe already holds a wake-up */
	errno = saved;
}

static void renew_wake(bool rd_open);

/* Waits up to timeout ms (-1: forever) for a poke or a lingering connection's news, then
 * empties the pipe. Cleanup thread. */
static void wait_wake(int64_t timeout)
{
	struct pollfd p[3] = { { .fd = wake_rd, .events = POLLIN },
			       { .fd = lc_linger_fd(), .events = POLLIN },
			       { .fd = lc_children_fd(), .events = POLLIN } };
	char buf[64];

	if (timeout > INT32_MAX)
		timeout = INT32_MAX;
	if (poll(p, 3, (int)timeout) <= 0 || !p[0].revents)
		return;
	/* Closed by the program (no hook saw it): poll() would report it at once, forever. */
	if (p[0].revents & (POLLNVAL | POLLHUP))
		renew_wake(!(p[0].revents & POLLNVAL));
	else
		while (read(wake_rd, buf, sizeof(buf)) > 0)
			;
}

static void set_state(int s)
{
	lc_release(&state, s);
	syscall(SYS_futex, &state, FUTEX_WAKE_PRIVATE, INT32_MAX, 0, 0, 0);
}

/* Connections still to finish: the stash, then the table. In that order: one the program takes
 * from the stash is a connection in the table before it leaves the stash (see pop() in
 * intake.c), so it is counted at least once. */
static int remaining(bool own)
{
	int stashed = lc_intake_stashed();

	return stashed + lc_fds_count(own);
}

/* One drain: sig is the trigger signal, or 0 for exit() (then only this process's own
 * connections are waited for, and queued ones are not taken, as no one will accept them). */
struct drain {
	int sig;
	bool own;     /* only this process's own connections count */
	bool helper;  /* this process is a server's helper: it holds the signal to the deadline */
	bool kids;    /* children are waited for */
	bool ending;  /* the deadline has passed (or the user insisted): finishing up */
	bool hurry;   /* the user insisted: no lingering, no waiting for children */
	bool exiting; /* the program called exit() meanwhile: its own connections only */
	bool master;  /* a master: done when its workers' drains are, its own stop comes after */
	bool quiet;   /* a master's exit after its stop, waiting for its workers to end: said at
		       * debug level, the stop's own summary having said it all */
	unsigned ints;
	int64_t deadline, linger_until, kill_at;
	int64_t idle_look, idle_check; /* the last look for idle connections, and the next */
	int n0, idle, ended, forwarded, termed, killed;
};

/* A connection the drain waits for: all of them for a signal, this process's own for exit(). */
static bool counts(const struct drain *d, int fd)
{
	return !d->own || lc_load(&lc_fds[fd].aux) == lc_pid;
}

/* A connection the program closed through a path no hook sees (fclose, a raw syscall) would
 * hold the drain to its deadline: forget fds that are no longer open. */
static void forget_if_closed(int fd, void *arg)
{
	(void)arg;
	if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
		lc_fds_forget(fd);
		lc_log(LC_DEBUG, "fd %d was closed without close(): no longer waited for", fd);
	}
}

/* How long connection fd, in state s and quiet for quiet ms, must still stay quiet to count as
 * idle: 0 if it is idle now, -1 if it cannot be (not an established TCP connection). A busy one
 * needs the whole quiet time once it has answered; the kernel's times are in jiffies, hence the
 * few ms more. */
static int64_t idle_due(enum lc_conn_state s, int64_t quiet)
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
 * would a client's, and the close lingers. The others tell when the next look is worth it. */
static void close_if_idle(int fd, void *arg)
{
	struct drain *d = arg;
	struct lc_fd *e = &lc_fds[fd];
	int64_t quiet = 0, due;
	enum lc_conn_state s;

	if (!counts(d, fd) ||
	    (lc_acquire(&e->flags) & (LC_FDF_IDLE | LC_FDF_ENDED)))
		return;
	s = lc_tcp_classify(fd, &quiet);
	/* Bytes waiting either way make it busy; asked only of one quiet for long enough. */
	if (!(due = idle_due(s, quiet)) && lc_tcp_pending(fd))
		due = idle_due(LC_CONN_BUSY, quiet);
	if (due > 0 && d->idle_check > d->idle_look + due)
		d->idle_check = d->idle_look + due;
	if (due != 0 || shutdown(fd, SHUT_RD) < 0)
		return;
	lc_or(&e->flags, LC_FDF_IDLE);
	d->idle++;
	lc_log(LC_DEBUG, "fd %d closed as idle: quiet for %lld ms", fd, (long long)quiet);
}

/* At the deadline: stop writing and linger (see linger.h). */
static void end_conn(int fd, void *arg)
{
	struct drain *d = arg;

	if (counts(d, fd) &&
	    !(lc_acquire(&lc_fds[fd].flags) & LC_FDF_ENDED)) {
		lc_linger_end(fd);
		d->ended++;
	}
}

/* Whether the user insists: the second SIGINT, counting the one that started the drain. */
static bool insisted(const struct drain *d)
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
static void report(const struct drain *d, int64_t left_ms, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(const struct drain *d, int64_t left_ms, const char *fmt, ...)
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
static bool grace(const struct drain *d)
{
	int64_t end = now_ms() + lc_config.grace_ms;
	char tbuf[24];

	if (!d->sig || d->helper || lc_config.grace_ms <= 0)
		return true;
	report(d, lc_config.grace_ms + lc_config.timeout_ms + lc_config.kill_after_ms,
	       "SIG%s: still accepting for %s (LASTCALL_GRACE), then draining",
	       lc_signal_name(d->sig), lc_format_ms(lc_config.grace_ms, tbuf));
	while (now_ms() < end)
		if (insisted(d))
			return false;
		else
			wait_wake(end - now_ms());
	return true;
}

/* The deadline passed, or the user insisted: end what is left. Connections stop writing and
 * linger; children get SIGTERM, and SIGKILL LASTCALL_KILL_AFTER later. Not a master's: its
 * workers' drains end at their own deadlines, and its own handler, which runs next, stops
 * them as it would have (a worker killed before it ran would be replaced). */
static void end_all(struct drain *d, int64_t t)
{
	if (!d->hurry && t < d->deadline) {
		lc_log(LC_INFO, "second SIGINT: ending the drain now");
		d->hurry = true;
	}
	lc_fds_each(LC_FD_CONN, end_conn, d);
	d->ended += lc_intake_drop_stash(true);
	if (d->kids && !d->hurry && !d->master)
		d->termed = lc_children_signal(SIGTERM);
	d->ending = true;
	d->linger_until = d->hurry ? t : t + LC_LINGER_MS;
	d->kill_at = t + lc_config.kill_after_ms;
}

/* The periodic work of a drain, on every wake-up. Returns what is still open: connections,
 * lingering closes and children, in *n, *lingering, *kids. */
static void step(struct drain *d, int64_t t, int *n, int *lingering, int *kids)
{
	int64_t looked;

	lc_intake_drop_stash(false);
	if (!d->ending && lc_config.idle_ms >= 0 && t >= d->idle_check) {
		/* A connection that joins later (from the stash) is looked at within the time
		 * a busy one needs. */
		d->idle_look = t;
		d->idle_check = t + idle_due(LC_CONN_FRESH, 0);
		lc_fds_each(LC_FD_CONN, close_if_idle, d);
		looked = now_ms();
		d->idle_check = max64(d->idle_check, max64(t + IDLE_CHECK_MS,
							   looked + (looked - t) * (CPU_SHARE - 1)));
	}
	if (!d->exiting && d->sig && lc_acquire(&exit_requested)) {
		d->own = true; /* the program is ending itself: its own connections only */
		d->exiting = true;
	}
	*lingering = lc_linger_service();
	*n = remaining(d->own);
	*kids = d->kids && !d->hurry ? lc_children_scan() : 0;
	/* A worker that began accepting since (one started as the stop began) drains too. */
	if (*kids > 0 && d->sig && !d->ending)
		d->forwarded += lc_children_forward(d->sig);
	if (d->master && !d->ending)
		*kids = lc_share_undrained(lc_pid);
	if (d->ending && *kids > 0 && t >= d->kill_at && !d->killed && !d->master)
		d->killed = lc_children_signal(SIGKILL);
}

/* Whether nothing is left to wait for. A helper holds its signal until the deadline (its work
 * is not visible to lastcall), unless the program ends itself first. After the last child
 * ends, the program gets CHILD_SETTLE_MS to finish its own SIGCHLD handling (it may be between
 * its waitpid() and its bookkeeping when the hand-back would land on that thread). */
static bool done(const struct drain *d, int n, int lingering, int kids, int64_t t)
{
	if (!d->ending)
		return n == 0 && lingering == 0 && kids == 0 && (!d->helper || d->exiting) &&
		       (!d->kids || t >= lc_children_last_end() + CHILD_SETTLE_MS);
	return (lingering == 0 || t >= d->linger_until) &&
	       (kids == 0 || d->master || t >= d->kill_at + LC_LINGER_MS);
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

static void summarise(const struct drain *d, int64_t t0)
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
	ms = now_ms() - t0;
	report(d, -1,
	       "drained in %lld ms: %d %s finished, %d closed as idle, %d closed at the "
	       "deadline%s",
	       (long long)ms, n, conns(n), d->idle, d->ended, kids);
	/* The same, for programs: keys never change meaning, new ones are only appended. */
	lc_log(d->quiet ? LC_DEBUG : LC_INFO,
	       "summary: on=%s%s ms=%lld finished=%d idle=%d deadline=%d children=%d passed=%d "
	       "termed=%d killed=%d",
	       d->sig ? "SIG" : "exit", d->sig ? lc_signal_name(d->sig) : "", (long long)ms, n,
	       d->idle, d->ended, d->kids ? ended : 0, d->forwarded, d->termed, d->killed);
}

/* Runs a drain; returns false if the program called exit() meanwhile (its exit then waits
 * for the hand-back, see cleanup_main). */
static bool drain(int sig)
{
	struct drain d = { .sig = sig, .own = sig == 0, .helper = lc_helper && sig,
			   .master = sig && lc_acquire(&master),
			   .quiet = !sig && remaining(true) == 0 };
	int64_t t0 = now_ms(), tick, t, busy;
	int stopped, n = 0, lingering, kids;
	char tbuf[24];

	d.ints = lc_sig_count(SIGINT);
	/* A master's SIGKILL to this process waits while it drains (lc_drain_kill). */
	prctl(PR_SET_NAME, LC_THREAD_DRAINING);
	d.hurry = !grace(&d);
	lc_linger_setup();
	/* Sequentially consistent, as the close() that counts the last connection reads it
	 * after its count: one of the two sees the other (no lost wake-up). */
	lc_store_full(&lc_draining, 1);
	stopped = lc_stop_intake(!d.own);
	d.n0 = remaining(d.own);
	d.kids = lc_config.wait_children;
	if (d.kids)
		lc_children_setup();
	if (d.kids && lc_children_scan() > 0 && sig)
		d.forwarded = lc_children_forward(sig);
	t = now_ms();
	d.deadline = t + lc_config.timeout_ms;
	if (master_until && d.deadline > master_until)
		d.deadline = master_until;
	tick = t + 1000;
	d.idle_check = t;
	report(&d, lc_config.timeout_ms,
	       "draining on %s%s: %d %s stopped, %d %s in flight, deadline %s%s",
	       sig ? "SIG" : "exit()", sig ? lc_signal_name(sig) : "", stopped,
	       stopped == 1 ? "listener" : "listeners", d.n0, conns(d.n0),
	       lc_format_ms(lc_config.timeout_ms, tbuf),
	       d.master ? "; a master: its workers drain first, then its own handler runs" : "");
	for (;;) {
		busy = now_us();
		t = busy / 1000;
		step(&d, t, &n, &lingering, &kids);
		if (!d.ending && (d.hurry || t >= d.deadline || insisted(&d)))
			end_all(&d, t);
		if (done(&d, n, lingering, kids, t))
			break;
		busy = now_us() + min64((now_us() - busy) * (CPU_SHARE - 1), REST_MAX_US);
		t = now_ms();
		wait_wake(min64(min64(d.ending ? min64(d.linger_until, d.kill_at) : d.deadline, tick),
				min64(lingering || kids || d.kids ? t + CHILD_SETTLE_MS : INT64_MAX,
				      !d.ending && n > 0 && lc_config.idle_ms >= 0 ? d.idle_check
										  : INT64_MAX)) -
			  t);
		rest_until(busy);
		if (now_ms() >= tick) {
			tick += 1000;
			lc_fds_each(LC_FD_CONN, forget_if_closed, 0);
			if (!d.ending && (n > 0 || kids > 0))
				report(&d, d.deadline - now_ms(),
				       "draining: %d %s in flight, %d %s, %s left", n, conns(n),
				       kids, children(kids),
				       lc_format_ms((d.deadline - now_ms() + 999) / 1000 * 1000, tbuf));
		}
	}
	lc_linger_drop_all();
	lc_release(&lc_draining, 0);
	summarise(&d, t0);
	lc_children_reset();
	prctl(PR_SET_NAME, LC_THREAD_NAME);
	return !d.exiting;
}

/* How long a worker whose drain is over waits for its parent to show that it holds its stop
 * as a master, when both were signalled at once, before it ends as any server would. */
#define MASTER_DECIDE_MS 200
/* How long a master's handler may take to start after its signal is given back. */
#define RELEASE_WAIT_MS 2000

/* The longest a drain can last here, from its signal: the grace period, the deadline, the
 * children's SIGKILL and the deadline's lingering. AS-safe. */
static int64_t longest_drain_ms(void)
{
	return lc_config.grace_ms + lc_config.timeout_ms + lc_config.kill_after_ms + LC_LINGER_MS;
}

bool lc_drain_master(void) /* AS-safe */
{
	if (lc_helper || !lc_config.wait_children || lc_share_accepts(lc_pid) ||
	    remaining(false) > 0 || !lc_share_has_worker(lc_pid))
		return false;
	lc_share_master(LC_MASTER_HOLDING);
	lc_cas(&master_until, 0, now_ms() + longest_drain_ms());
	lc_release(&master, 1);
	return true;
}

/* A worker's drain is over: if its parent holds its stop as a master, it waits to be released
 * (its master's handler has then run, so its end cannot make the master start a new worker),
 * at most as long as a drain may still take there. Cleanup thread. */
static void wait_for_master(void)
{
	struct timespec tick = { 0, 5 * 1000 * 1000 };
	pid_t parent = getppid();
	int64_t decide = now_ms() + MASTER_DECIDE_MS, until = now_ms() + longest_drain_ms();
	enum lc_master_state s;

	if (!lc_share_accepts(lc_pid) || !lc_children_runs_lastcall(parent))
		return;
	lc_share_drained();
	while ((s = lc_share_master_state(parent)) != LC_MASTER_RELEASED && now_ms() < until &&
	       (s == LC_MASTER_HOLDING || now_ms() < decide))
		nanosleep(&tick, 0);
	if (s == LC_MASTER_RELEASED)
		lc_log(LC_DEBUG, "released by master %d", (int)parent);
}

/* A master's drain is over (its workers have drained): its own handler runs, then its workers
 * are released. Waits for the handler to have started (a program that blocks the signal but in
 * ppoll() takes it only there; RELEASE_WAIT_MS at most) first. Cleanup thread. */
static void release_workers(int sig)
{
	struct timespec tick = { 0, 1000 * 1000 };
	int i;

	for (i = 0; i < RELEASE_WAIT_MS && !lc_sig_handed_over(sig); i++)
		nanosleep(&tick, 0);
	lc_share_master(LC_MASTER_RELEASED);
}

int lc_drain_kill(pid_t pid)
{
	if (pid == lc_pid || !lc_children_draining(pid))
		return lc_real.kill(pid, SIGKILL);
	return lc_children_kill_held(pid, now_ms() + longest_drain_ms());
}

/* Set by the cleanup thread once it runs its own code (see start_thread). */
static int thread_started;

static void *cleanup_main(void *arg)
{
	siginfo_t info;
	bool ending;
	int sig;

	(void)arg;
	lc_release(&thread_started, 1);
	syscall(SYS_futex, &thread_started, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
	for (;;) {
		wait_wake(-1);
		if ((sig = lc_sig_pending(&info))) {
			set_state(DRAINING);
			/* A helper lets its server end it at once: the server knows. */
			ending = !(lc_helper && info.si_pid == lc_helper_parent) && !drain(sig);
			wait_for_master();
			/* A helper that ends on its own (exit, or exec of its next program) has done
			 * its part: the signal would only turn its success into a failure its
			 * script acts on ("set -e", "cmd || exit"), cutting the reply it serves. */
			if (ending && lc_helper)
				lc_log(LC_DEBUG, "SIG%s not passed on: a helper that ended on its own",
				       lc_signal_name(sig));
			else
				lc_sig_handback(sig, &info);
			if (lc_xchg(&master, 0))
				release_workers(sig);
			lc_sig_clear();
			if (ending) {
				/* exit() meanwhile: the signal's disposition came first, as it would
				 * have; a handler that returns lets the exit go on. */
				lc_intake_leave_all();
				set_state(DONE);
				return 0;
			}
			set_state(IDLE);
		} else if (lc_acquire(&exit_requested)) {
			set_state(DRAINING);
			if (remaining(true) > 0 || lc_acquire(&master_until))
				drain(0);
			lc_intake_leave_all();
			set_state(DONE);
			return 0;
		} else if (lc_load(&lc_draining) == 0) {
			lc_intake_drop_stash(false);
		}
	}
}

/* Where lastcall's own fds go: away from the low numbers programs assume they own (dup2(x, 3)
 * and the like), but not above 1024: the kernel sizes a process's fd table to its highest fd,
 * so an fd near a soft limit of 1048576 would cost 8 MB of table for one descriptor. Nor
 * above lastcall's table (LASTCALL_MAX_FDS): an fd it does not track, the program's close()
 * would take. */
static int private_min(void)
{
	struct rlimit rl;
	int top = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 3;
	if (rl.rlim_cur < (rlim_t)top)
		top = (int)rl.rlim_cur;
	if (top > lc_fds_n)
		top = lc_fds_n;
	return top > 128 ? top - 64 : 3;
}

/* Moves fd to a private number, marked in the table so close() cannot take it. */
static int privatise(int fd)
{
	int p = fcntl(fd, F_DUPFD_CLOEXEC, private_min());

	if (p >= 0)
		lc_real.close(fd);
	else
		p = fd;
	lc_fds_set(p, LC_FD_PRIVATE, 0);
	return p;
}

/* The wake pipe, both ends private. Returns 0, or -1 with errno. */
static int make_wake(void)
{
	int p[2];

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	wake_rd = privatise(p[0]);
	lc_release(&wake_wr, privatise(p[1]));
	return 0;
}

/* lastcall's private copy of stderr, for its log. */
static void open_log(void)
{
	if (lc_log_open(private_min()) >= 0)
		lc_fds_set(lc_log_fd(), LC_FD_PRIVATE, 0);
}

/* The program closed the wake pipe (both ends, or the write end if rd_open) by a call no hook
 * sees, a raw close_range system call: the old numbers are the program's now. A new pipe is
 * made, and a new copy of stderr if that went too; a signal caught meanwhile is found by the
 * caller's next look at the pending slot. With no pipe, lastcall turns itself off. Cleanup
 * thread. */
static void renew_wake(bool rd_open)
{
	int old_rd = wake_rd, old_wr = wake_wr, err;

	lc_fds_release(old_rd);
	lc_fds_release(old_wr);
	if (rd_open)
		lc_real.close(old_rd);
	if (fcntl(lc_log_fd(), F_GETFD) < 0 && errno == EBADF) {
		lc_fds_release(lc_log_fd());
		lc_log_reset(2);
		open_log();
	}
	if (make_wake() < 0) {
		err = errno;
		wake_rd = -1;
		lc_release(&wake_wr, -1);
		lc_turn_off("the program closed the wake pipe, and a new one cannot be made", err);
		return;
	}
	if (!renewed++)
		lc_log(LC_WARN, "the program closed lastcall's wake pipe (fds %d, %d) without "
				"close(): made a new one", old_rd, old_wr);
}

/* Marks the epoll fds the program created before it became a server. getdents64 rather than
 * opendir: no allocation on a hook's path. */
static void find_epoll_fds(void)
{
	char buf[2048], link[32], path[64];
	struct dirent64 *d;
	ssize_t n, off, len;
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dir < 0)
		return;
	while ((n = getdents64(dir, (void *)buf, sizeof(buf))) > 0) {
		for (off = 0; off < n; off += d->d_reclen) {
			d = (struct dirent64 *)(buf + off);
			lc_format(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
			len = readlink(path, link, sizeof(link) - 1);
			if (len > 0 && (link[len] = '\0', strcmp(link, "anon_inode:[eventpoll]") == 0))
				lc_fds_set((int)strtol(d->d_name, 0, 10), LC_FD_EPOLL, 0);
		}
	}
	lc_real.close(dir);
}

/* Starts the cleanup thread; returns 0, or pthread_create's error. */
static int start_thread(void)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 }; /* 50 of them: 0.5 s at most */
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
	pthread_setname_np(t, LC_THREAD_NAME);
	/* Wait (bounded) until the thread runs our code: its start-up, in libc or in a runtime
	 * preloaded ahead of us (a sanitizer allocates there, under its allocator's lock), is
	 * then over, so a fork() the program makes next cannot copy that lock held into a
	 * child whose own cleanup thread would then wait on it for good. */
	for (i = 0; i < 50 && !lc_acquire(&thread_started); i++)
		syscall(SYS_futex, &thread_started, FUTEX_WAIT_PRIVATE, 0, &tick, 0, 0);
	return 0;
}

/* This process is a fork child of one where lastcall was armed (lc_drain_fork). */
static bool forked;

int lc_arm(void)
{
	int err = errno, r = -1, thread_err;

	pthread_mutex_lock(&arm_mu);
	if (lc_armed || lc_off)
		goto out;
	if (!lc_fds && lc_fds_setup() < 0) {
		lc_turn_off("no fd table", 0);
		goto out;
	}
	lc_share_setup(); /* without it, shared listeners are only ever left open */
	if (wake_rd < 0) {
		if (make_wake() < 0) {
			lc_turn_off("unable to create the wake pipe", errno);
			goto out;
		}
		open_log();
		/* A fork child has its parent's table, epoll sets marked. */
		if (!forked)
			find_epoll_fds();
	}
	if ((thread_err = start_thread())) {
		lc_turn_off("unable to create the cleanup thread", thread_err);
		goto out;
	}
	lc_release(&lc_thread_pid, lc_pid);
	lc_sig_arm();
	lc_release(&lc_armed, 1);
	if (!lc_acquire(&lc_off))
		lc_release(&lc_hot, 1);
	r = 0;
out:
	pthread_mutex_unlock(&arm_mu);
	errno = err;
	return lc_armed ? 0 : r;
}

/* A connected TCP socket this process was started with (inetd, CGI with the client socket as
 * stdin and stdout, systemd's Accept=yes): a connection to finish before ending. */
static bool inherited_connection(int fd)
{
	struct sockaddr_storage peer;
	socklen_t n = sizeof(peer);
	int proto = 0, listening = 1;
	socklen_t len = sizeof(proto);

	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
	       proto == IPPROTO_TCP && (len = sizeof(listening)) &&
	       getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && !listening &&
	       getpeername(fd, (struct sockaddr *)&peer, &n) == 0;
}

void lc_drain_startup(void)
{
	char buf[1024];
	struct dirent64 *d;
	ssize_t n, off;
	int dir, fd, found[64], nfound = 0, i;

	if ((dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		while ((n = getdents64(dir, (void *)buf, sizeof(buf))) > 0)
			for (off = 0; off < n; off += d->d_reclen) {
				d = (struct dirent64 *)(buf + off);
				fd = (int)strtol(d->d_name, 0, 10);
				if (d->d_name[0] != '.' && fd != dir && nfound < 64 &&
				    d->d_type == DT_LNK && inherited_connection(fd))
					found[nfound++] = fd;
			}
		lc_real.close(dir);
	}
	/* Exec'd by a server (a CGI script, a helper command): the server waits for what this
	 * process produces, so a trigger signal that does not come from the server waits too. */
	lc_helper_parent = getppid();
	lc_helper = lc_helper_parent > 1 && lc_children_runs_lastcall(lc_helper_parent);
	if ((nfound == 0 && !lc_helper) || lc_arm() < 0)
		return;
	for (i = 0; i < nfound; i++)
		lc_fds_add_inherited(found[i]);
}

/* Asks the cleanup thread to end the drain as for an exit() (this process's own connections
 * only, then the held signal's disposition first), and waits until it has. Program thread. */
static void end_as_exit(void)
{
	int s;

	lc_release(&exit_requested, 1);
	lc_drain_poke();
	while ((s = lc_acquire(&state)) != DONE)
		syscall(SYS_futex, &state, FUTEX_WAIT_PRIVATE, s, 0, 0, 0);
}

void lc_drain_exit(void)
{
	if (!lc_acquire(&lc_armed) ||
	    lc_acquire(&lc_thread_pid) != lc_pid)
		return;
	if (lc_acquire(&state) == IDLE && lc_fds_count(true) == 0 &&
	    !lc_acquire(&master_until)) {
		lc_intake_leave_all(); /* nothing of ours in flight: exit is not delayed */
		return;
	}
	end_as_exit();
}

/* The child has a copy of connection fd: closing ours must not end it (see lc_linger_adopt). */
static void mark_forked(int fd, void *arg)
{
	(void)arg;
	lc_or(&lc_fds[fd].flags, LC_FDF_FORKED);
}

void lc_drain_exec(void)
{
	if (!lc_sig_held() || !lc_acquire(&lc_armed) ||
	    lc_acquire(&lc_thread_pid) != getpid())
		return; /* nothing held, or a vfork child (its parent's memory, another pid) */
	end_as_exit();
}

pid_t lc_drain_fork(void)
{
	sigset_t old;
	pid_t pid;
	int err;

	lc_block_triggers(&old);
	pid = lc_real.fork();
	err = errno;
	/* A helper's copy (a shell's subshell: "producer | while read ...") is a helper of its
	 * own: its work is no more visible to lastcall than the shell's. */
	if (pid == 0 && lc_helper)
		lc_helper_parent = getppid();
	if (pid == 0 && lc_fds && (lc_fds_count(false) > 0 || lc_intake_listeners() > 0 || lc_helper))
		lc_arm();
	else if (pid > 0 && lc_fds)
		lc_fds_each(LC_FD_CONN, mark_forked, 0);
	pthread_sigmask(SIG_SETMASK, &old, 0);
	errno = err;
	return pid;
}

void lc_drain_move_private(int fd)
{
	int moved;

	if ((moved = fcntl(fd, F_DUPFD_CLOEXEC, fd + 1)) < 0)
		return;
	lc_fds_set(moved, LC_FD_PRIVATE, 0);
	if (fd == wake_rd)
		wake_rd = moved;
	else if (fd == wake_wr)
		lc_release(&wake_wr, moved);
	else if (fd == lc_log_fd())
		lc_log_reset(moved);
	else if (!lc_linger_moved(fd, moved))
		lc_children_moved(fd, moved);
	/* The old number is now the program's: dup2 will replace it. */
	lc_fds_release(fd);
}

void lc_drain_atfork_child(void)
{
	/* The thread did not survive the fork and the pipe is the parent's: a signal in the
	 * child must neither wake the parent nor wait for a thread that is not there. */
	if (wake_rd >= 0) {
		lc_fds_release(wake_rd);
		lc_fds_release(wake_wr);
		lc_real.close(wake_rd);
		lc_real.close(wake_wr);
		wake_rd = -1;
		wake_wr = -1;
	}
	lc_draining = 0;
	master_until = 0;
	master = 0;
	forked = lc_armed; /* the parent found its epoll sets: the table has them */
	state = IDLE;
	exit_requested = 0;
	lc_armed = 0;
	lc_hot = 0;
	pthread_mutex_init(&arm_mu, 0);
}
