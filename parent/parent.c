/* SPDX-License-Identifier: MIT */
/* parent.c: lastcall-parent, what `lastcall --restart-on SIGNAL` execs instead of the server.
 * It keeps the main pid: runs the server as its child (a generation), passes signals on, exits
 * as the current generation did, reaps orphans as a subreaper (or as a container's process 1),
 * and on the restart signal starts the next generation with the current one's listeners, tells
 * the current one to stop once the next one is ready, and abandons a next one that fails.
 * Single-threaded: one poll loop over a signalfd and the generations' control sockets. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lastcall/config.h"
#include "lastcall/gen.h"
#include "lastcall/log.h"
#include "parent.h"

#define MAX_GENS 32
#define READY_POLL_MS 10

static struct gen gens[MAX_GENS];
static struct gen *cur, *next; /* the serving generation; the starting one */
static int restart_sig, stop_sig, memfd, sigfd, last_n;
static int64_t restart_timeout_ms = 30000;
static bool stopping, ending, ready_sent;
static int final_status;
static sigset_t orig_mask;
static char **prog_argv;
static char *gen_preload;
static struct sockaddr_un notify_addr;
static socklen_t notify_len;

int64_t lc_parent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One sd_notify message, if NOTIFY_SOCKET is set (as notify.c does it: a fresh non-blocking
 * datagram socket, so a stuck service manager cannot hold the parent up). */
static void notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void notify(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int s, n;

	if (!notify_len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s >= 0 && n > 0)
		sendto(s, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&notify_addr, notify_len);
	if (s >= 0)
		close(s);
}

static void notify_init(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	size_t n = s ? strlen(s) : 0;

	if (n < 2 || n >= sizeof(notify_addr.sun_path) || (s[0] != '/' && s[0] != '@'))
		return;
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, s, n);
	if (s[0] == '@')
		notify_addr.sun_path[0] = '\0';
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (s[0] == '/'));
}

/* "exited with status 1", "killed by SIGTERM". */
static const char *how(int st, char *buf, size_t n)
{
	if (WIFEXITED(st))
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(st));
	else
		snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	return buf;
}

/* The child: the signal mask lastcall was started with, the library preloaded, the control
 * socket and the owner map at fds the library finds in LC_GEN_ENV, then the program. */
static void exec_gen(int ctl, int n, int inherited)
{
	struct rlimit rl;
	char val[96];
	int hi = 3, c, m;

	/* High numbers, out of the program's way (lastcall's own fds go at 1024 - 64 and up). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 256)
		hi = (rl.rlim_cur < 1024 ? (int)rl.rlim_cur : 1024) - 96;
	c = fcntl(ctl, F_DUPFD, hi);
	m = fcntl(memfd, F_DUPFD, hi);

	sigprocmask(SIG_SETMASK, &orig_mask, 0);
	setpgid(0, 0); /* a terminal's Ctrl-C reaches the parent only, which passes it on once */
	snprintf(val, sizeof(val), "%d,%d,%d,%d,%d", (int)getpid(), c, m, n, inherited);
	setenv(LC_GEN_ENV, val, 1);
	if (gen_preload)
		setenv("LD_PRELOAD", gen_preload, 1);
	execv(prog_argv[0], prog_argv);
	lc_log_errno(LC_ERROR, errno, "unable to execute %s", prog_argv[0]);
	_exit(errno == ENOENT ? 127 : 126);
}

/* Starts generation n; NULL if it cannot be started. */
static struct gen *start_gen(enum gen_state state, int64_t sig_at)
{
	struct gen *g = 0;
	int sp[2], i;
	pid_t pid;

	for (i = 0; i < MAX_GENS && !g; i++)
		if (gens[i].state == G_FREE)
			g = &gens[i];
	if (!g || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		lc_log(LC_ERROR, "unable to start a generation: %s", g ? strerror(errno) : "too many");
		return 0;
	}
	if ((pid = fork()) == 0)
		exec_gen(sp[1], last_n + 1, lc_parent_listeners());
	close(sp[1]);
	if (pid < 0) {
		lc_log_errno(LC_ERROR, errno, "unable to fork");
		close(sp[0]);
		return 0;
	}
	*g = (struct gen){ state, ++last_n, pid, sp[0], lc_parent_now_ms(), sig_at, 0, 0 };
	return g;
}

static void begin_restart(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=restarting: generation %d starting",
	       (unsigned long long)ts.tv_sec * 1000000 + (unsigned long long)ts.tv_nsec / 1000,
	       last_n + 1);
	next = start_gen(G_STARTING, lc_parent_now_ms());
	if (next) {
		lc_log(LC_INFO, "SIG%s: restart: generation %d (pid %d) starting; generation %d "
				"(pid %d) serves meanwhile", lc_signal_name(restart_sig),
		       next->n, (int)next->pid, cur->n, (int)cur->pid);
	} else {
		notify("READY=1\nSTATUS=generation %d (pid %d) serving; restart failed", cur->n,
		       (int)cur->pid);
	}
}

/* The next generation is ready: it serves, the current one stops and drains. */
static void switch_to(struct gen *g)
{
	int64_t t = lc_parent_now_ms();

	lc_parent_switch(g);
	kill(cur->pid, stop_sig);
	cur->state = G_DRAINING;
	cur->sig_at = g->sig_at;
	lc_log(LC_INFO, "restart: generation %d (pid %d) ready after %lld ms; generation %d "
			"(pid %d) drains on SIG%s", g->n, (int)g->pid, (long long)(t - g->sig_at),
	       cur->n, (int)cur->pid, lc_signal_name(stop_sig));
	g->state = G_SERVING;
	cur = g;
	next = 0;
	notify("READY=1\nSTATUS=generation %d (pid %d) serving", g->n, (int)g->pid);
}

/* The next generation failed (why): it is stopped, the current one serves on. */
static void abandon(struct gen *g, const char *why, bool running)
{
	lc_log(LC_WARN, "restart abandoned: generation %d (pid %d) %s; generation %d (pid %d) "
			"serves on", g->n, (int)g->pid, why, cur->n, (int)cur->pid);
	lc_parent_abandon(g);
	if (running) {
		kill(g->pid, SIGTERM);
		g->state = G_ABANDONED;
		g->kill_at = lc_parent_now_ms() + lc_config.kill_after_ms;
	}
	next = 0;
	notify("READY=1\nSTATUS=generation %d (pid %d) serving; restart abandoned", cur->n,
	       (int)cur->pid);
}

static void on_stop(int sig)
{
	int64_t left = lc_config.grace_ms + lc_config.timeout_ms + 1000 + lc_config.kill_after_ms +
		       5000;

	if (!stopping)
		notify("STOPPING=1\nSTATUS=stopping on SIG%s: generation %d (pid %d)%s\n"
		       "EXTEND_TIMEOUT_USEC=%lld", lc_signal_name(sig), cur->n, (int)cur->pid,
		       next ? " and the one starting" : "", (long long)left * 1000);
	stopping = true;
	kill(cur->pid, sig);
	if (next)
		kill(next->pid, sig); /* its queue is the current one's: it loses nothing */
}

static void on_signal(const struct signalfd_siginfo *si)
{
	int sig = (int)si->ssi_signo;

	if (sig == restart_sig) {
		if (stopping || ending)
			lc_log(LC_INFO, "SIG%s while stopping: no restart", lc_signal_name(sig));
		else if (next)
			lc_log(LC_INFO, "SIG%s during a restart: coalesced with it",
			       lc_signal_name(sig));
		else
			begin_restart();
	} else if ((lc_config.signals >> sig & 1) && !ending) {
		on_stop(sig);
	} else if (cur && !ending) {
		kill(cur->pid, sig);
	}
}

/* Exits as the current generation did: its status, or its signal raised again. */
static void __attribute__((noreturn)) exit_like(int st)
{
	struct rlimit no_core = { 0, 0 };
	sigset_t set;
	int sig;

	if (WIFEXITED(st))
		exit(WEXITSTATUS(st));
	sig = WTERMSIG(st);
	/* Process 1 of a pid namespace never receives a signal it leaves at SIG_DFL. */
	if (getpid() != 1) {
		setrlimit(RLIMIT_CORE, &no_core); /* its core, if any, is the generation's */
		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, 0);
		raise(sig);
	}
	exit(128 + sig);
}

static void on_exit_gen(struct gen *g, int st)
{
	char buf[96];

	how(st, buf, sizeof(buf));
	if (g->ctl >= 0)
		lc_parent_control(g); /* its last words: a listener it made */
	if (g->ctl >= 0)
		close(g->ctl);
	g->ctl = -1;
	if (g == cur) {
		lc_log(stopping ? LC_DEBUG : LC_INFO, "generation %d (pid %d) %s", g->n, (int)g->pid,
		       buf);
		final_status = st;
		ending = true;
		cur = 0;
		if (next) {
			kill(next->pid, SIGTERM);
			next->state = G_ABANDONED;
			next->kill_at = lc_parent_now_ms() + lc_config.kill_after_ms;
			next = 0;
		}
	} else if (g == next) {
		abandon(g, buf, false);
	} else if (g->state == G_DRAINING) {
		lc_log(LC_INFO, "generation %d (pid %d) drained and %s, %lld ms after the restart "
				"signal", g->n, (int)g->pid, buf,
		       (long long)(lc_parent_now_ms() - g->sig_at));
	}
	g->state = G_FREE;
}

static void reap(void)
{
	pid_t pid;
	int st, i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (i = 0; i < MAX_GENS; i++)
			if (gens[i].state != G_FREE && gens[i].pid == pid)
				on_exit_gen(&gens[i], st);
}

/* Whether a generation of the given state is alive (G_FREE: any). */
static bool any_gen(enum gen_state state)
{
	int i;

	for (i = 0; i < MAX_GENS; i++)
		if (gens[i].state != G_FREE && (state == G_FREE || gens[i].state == state))
			return true;
	return false;
}

/* Timers: a starting generation's readiness and deadline, an abandoned one's SIGKILL. */
static void tick(void)
{
	int64_t t = lc_parent_now_ms();
	char why[64], tbuf[24];
	int i;

	if (next && !stopping && lc_parent_ready(next)) {
		switch_to(next);
	} else if (next && !stopping && t - next->sig_at >= restart_timeout_ms) {
		snprintf(why, sizeof(why), "not ready after %s", lc_format_ms(restart_timeout_ms, tbuf));
		abandon(next, why, true);
	}
	for (i = 0; i < MAX_GENS; i++)
		if (gens[i].state == G_ABANDONED && gens[i].kill_at && t >= gens[i].kill_at) {
			kill(gens[i].pid, SIGKILL);
			gens[i].kill_at = 0;
		}
}

static void loop(void)
{
	struct pollfd p[MAX_GENS + 1];
	struct gen *who[MAX_GENS + 1];
	struct signalfd_siginfo si;
	int i, n;

	for (;;) {
		p[0] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		for (n = 1, i = 0; i < MAX_GENS; i++)
			if (gens[i].state != G_FREE && gens[i].ctl >= 0) {
				who[n] = &gens[i];
				p[n++] = (struct pollfd){ .fd = gens[i].ctl, .events = POLLIN };
			}
		poll(p, (nfds_t)n, next || any_gen(G_ABANDONED) ? READY_POLL_MS : -1);
		while (read(sigfd, &si, sizeof(si)) == sizeof(si))
			if (si.ssi_signo == SIGCHLD)
				reap();
			else
				on_signal(&si);
		for (i = 1; i < n; i++)
			if (p[i].revents && who[i]->state != G_FREE) {
				int before = lc_parent_listeners();

				lc_parent_control(who[i]);
				if (who[i]->n == 1 && lc_parent_listeners() > before && !ready_sent &&
				    lc_config.notify_ready) {
					ready_sent = true;
					notify("READY=1\nSTATUS=generation 1 (pid %d) listening (lastcall)",
					       (int)who[i]->pid);
				}
			}
		reap();
		if (ending && !any_gen(G_FREE))
			exit_like(final_status);
		tick();
	}
}

static const char *env(const char *name)
{
	return getenv(name);
}

/* Settings the command checked already; a bad one here is an error all the same. */
static void settings(void)
{
	const char *on = getenv("LASTCALL_RESTART_ON"), *to = getenv("LASTCALL_RESTART_TIMEOUT");
	uint64_t set = 0;
	int sig;

	lc_config_load(&lc_config, env);
	lc_log_level = (int)lc_config.log_level;
	if (!on || lc_parse_signals(on, &set) < 0 || __builtin_popcountll(set) != 1 ||
	    (set & lc_config.signals)) {
		fprintf(stderr, "lastcall: error: LASTCALL_RESTART_ON \"%s\": expected one signal "
				"that is not a trigger signal: HUP, QUIT, USR1, USR2, ALRM or PWR\n",
			on ? on : "");
		exit(2);
	}
	restart_sig = __builtin_ctzll(set);
	if (to && (lc_parse_duration(to, &restart_timeout_ms) < 0 || restart_timeout_ms < 1 ||
		   restart_timeout_ms > 24LL * 3600 * 1000)) {
		fprintf(stderr, "lastcall: error: LASTCALL_RESTART_TIMEOUT \"%s\": expected a "
				"duration like 30s or 500ms, from 1ms to 24h\n", to);
		exit(2);
	}
	/* What an old generation is told to stop with: TERM, or the first trigger signal. */
	stop_sig = SIGTERM;
	for (sig = 1; sig < 64 && !(lc_config.signals >> SIGTERM & 1); sig++)
		if (lc_config.signals >> sig & 1) {
			stop_sig = sig;
			break;
		}
}

int main(int argc, char **argv)
{
	sigset_t all;
	const char *pre;

	if (argc < 2) {
		fprintf(stderr, "usage: lastcall-parent PROGRAM [ARGS...] (run by lastcall "
				"--restart-on)\n");
		return 2;
	}
	settings();
	prog_argv = argv + 1;
	if ((pre = getenv("LASTCALL_INTERNAL_PRELOAD")))
		gen_preload = strdup(pre);
	unsetenv("LASTCALL_INTERNAL_PRELOAD");
	notify_init();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* Every signal comes through the signalfd, but those a fault raises synchronously. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGTRAP);
	sigdelset(&all, SIGSYS);
	sigprocmask(SIG_BLOCK, &all, &orig_mask);
	if ((sigfd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
	    (memfd = lc_parent_listeners_init()) < 0) {
		lc_log_errno(LC_ERROR, errno, "unable to set up the restart parent");
		return 1;
	}
	if (!(cur = start_gen(G_SERVING, lc_parent_now_ms())))
		return 1;
	loop();
}
