/* SPDX-License-Identifier: MIT */
/* handlerflip [--log PATH] [--exit N] [--flip] [--forks] [--blocking] [--signal-thread]
 * [--poll MS] [--spare N] [options]: a thread-per-connection server (examples/http.c) with
 * handlers of its own, for signal storms:
 *   SIGTERM    handler "a" (sigaction, SA_SIGINFO, no SA_RESTART) from the start; any SIGTERM
 *              handler sets a flag; the main thread polls its non-blocking listener (--poll MS
 *              at most, 20 by default), accepts, and once it sees the flag calls exit(N)
 *              (--exit N, default 7), while other threads may still serve;
 *   SIGUSR1, SIGHUP  handler "o" (SA_SIGINFO, no SA_RESTART), which only logs;
 *   --log PATH every handler call appends one line to PATH, "NAME SIG from PID code CODE"
 *              (si_pid and si_code; "-" for a handler given no siginfo), with one write();
 *              at exit, "flips N forks N" and, if a flip went wrong, "flip BAD ...";
 *   --flip     a thread keeps swapping the SIGTERM handler: "a", then "b" (sigaction,
 *              SA_SIGINFO | SA_RESTART), then "c" (signal(), no siginfo), and again, checking
 *              that each call reports the handler it replaces (never SIG_DFL, never a handler
 *              the program did not install);
 *   --forks    a thread keeps forking children that exit at once (about one a millisecond)
 *              and reaps them;
 *   --blocking the listener stays blocking: poll(), then a blocking accept() when it reports
 *              the listener readable (on Linux, accept() then has a connection to return);
 *   --signal-thread  the signals are taken by an idle thread of their own: the main thread
 *              and the connection threads block them;
 *   --spare N  N more idle threads, which take signals like any other.
 * followed by the usual --port, --port-file... options. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

static volatile sig_atomic_t stop;
static int log_fd = -1;
static unsigned long flips, forks;
static char bad[160];

/* Appends the decimal form of v to p; returns the end. AS-safe. */
static char *put_int(char *p, long v)
{
	char digits[24];
	int n = 0;

	if (v < 0) {
		*p++ = '-';
		v = -v;
	}
	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n > 0)
		*p++ = digits[--n];
	return p;
}

/* One line "NAME SIG from PID code CODE" (info may be NULL). AS-safe. */
static void log_call(const char *name, int sig, const siginfo_t *info)
{
	char line[96], *p = line;
	int saved = errno;

	if (log_fd < 0)
		return;
	p = stpcpy(p, name);
	*p++ = ' ';
	p = put_int(p, sig);
	if (info) {
		p = stpcpy(p, " from ");
		p = put_int(p, info->si_pid);
		p = stpcpy(p, " code ");
		p = put_int(p, info->si_code);
	} else {
		p = stpcpy(p, " from - code -");
	}
	*p++ = '\n';
	if (write(log_fd, line, (size_t)(p - line)) < 0)
		_exit(5);
	errno = saved;
}

static void term_a(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	log_call("a", sig, info);
	stop = 1;
}

static void term_b(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	log_call("b", sig, info);
	stop = 1;
}

static void term_c(int sig)
{
	log_call("c", sig, NULL);
	stop = 1;
}

static void other(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	log_call("o", sig, info);
}

static void set_action(int sig, void (*fn)(int, siginfo_t *, void *), int flags,
                       struct sigaction *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigaction(sig, &sa, old);
}

/* Swaps the SIGTERM handler a -> b -> c -> a..., 100 swaps between short pauses, until exit. */
static void *flipper(void *arg)
{
	struct timespec nap = {0, 100000};
	void *want = (void *)term_a, *got;
	struct sigaction old;
	int i;

	(void)arg;
	for (;;) {
		for (i = 0; i < 100; i++, flips++) {
			switch (flips % 3) {
			case 0:
				set_action(SIGTERM, term_b, SA_RESTART, &old);
				got = (void *)old.sa_sigaction;
				break;
			case 1:
				got = (void *)signal(SIGTERM, term_c);
				break;
			default:
				set_action(SIGTERM, term_a, 0, &old);
				got = (void *)old.sa_sigaction;
				break;
			}
			if (got != want && !bad[0])
				snprintf(bad, sizeof(bad),
				         "flip BAD: swap %lu replaced %p, not %p\n", flips, got,
				         want);
			want = flips % 3 == 0   ? (void *)term_b
			       : flips % 3 == 1 ? (void *)term_c
			                        : (void *)term_a;
		}
		nanosleep(&nap, NULL);
	}
	return NULL;
}

/* Forks children that exit at once, about one a millisecond, until exit. */
static void *forker(void *arg)
{
	struct timespec nap = {0, 1000000};
	pid_t pid;

	(void)arg;
	for (;;) {
		pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid > 0) {
			forks++;
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		nanosleep(&nap, NULL);
	}
	return NULL;
}

static void at_exit(void)
{
	char line[96];
	int n;

	if (log_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "flips %lu forks %lu\n", flips, forks);
	if (write(log_fd, line, (size_t)n) < 0 || (bad[0] && write(log_fd, bad, strlen(bad)) < 0))
		_exit(5);
}

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	int lfd, fd, code = 7, flip = 0, fork_loop = 0, blocking = 0, signal_thread = 0,
	             wait_ms = 20;
	int spare = 0;
	struct pollfd pfd;
	sigset_t handled;
	struct options o;
	pthread_t t;

	while (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
		if (strcmp(argv[1], "--flip") == 0) {
			flip = 1;
		} else if (strcmp(argv[1], "--forks") == 0) {
			fork_loop = 1;
		} else if (strcmp(argv[1], "--blocking") == 0) {
			blocking = 1;
		} else if (strcmp(argv[1], "--signal-thread") == 0) {
			signal_thread = 1;
		} else if (argc > 2 && strcmp(argv[1], "--log") == 0) {
			log_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
			argv++, argc--;
		} else if (argc > 2 && strcmp(argv[1], "--spare") == 0) {
			spare = atoi(argv[2]);
			argv++, argc--;
		} else if (argc > 2 && strcmp(argv[1], "--poll") == 0) {
			wait_ms = atoi(argv[2]);
			argv++, argc--;
		} else if (argc > 2 && strcmp(argv[1], "--exit") == 0) {
			code = atoi(argv[2]);
			argv++, argc--;
		} else {
			break;
		}
		argv++, argc--;
	}
	set_action(SIGTERM, term_a, 0, NULL);
	set_action(SIGUSR1, other, 0, NULL);
	set_action(SIGHUP, other, 0, NULL);
	atexit(at_exit);
	http_options(argc, argv, &o);
	lfd = http_listen(&o);
	if (!blocking)
		fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	while (spare-- > 0)
		if (pthread_create(&t, NULL, idle, NULL) != 0)
			return 1;
	if (signal_thread) {
		if (pthread_create(&t, NULL, idle, NULL) != 0)
			return 1;
		sigemptyset(&handled);
		sigaddset(&handled, SIGTERM);
		sigaddset(&handled, SIGUSR1);
		sigaddset(&handled, SIGHUP);
		pthread_sigmask(SIG_BLOCK, &handled, NULL);
	}
	if ((flip && pthread_create(&t, NULL, flipper, NULL) != 0) ||
	    (fork_loop && pthread_create(&t, NULL, forker, NULL) != 0))
		return 1;
	pfd.fd = lfd;
	pfd.events = POLLIN;
	for (;;) {
		if (stop)
			exit(code);
		if (poll(&pfd, 1, wait_ms) <= 0 || (fd = accept(lfd, NULL, NULL)) < 0)
			continue;
		if (http_serve_thread(fd) < 0)
			continue;
	}
}
