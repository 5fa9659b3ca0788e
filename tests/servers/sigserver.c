/* SPDX-License-Identifier: MIT */
/* sigserver: a thread-per-connection server (examples/http.c) whose signal and exit behaviour
 * the tests choose:
 *   --on-term exit:N       a sigaction() handler (no SA_RESTART) sets a flag; the accept loop
 *                          sees EINTR, closes the listener and calls exit(N)
 *   --on-term marker:PATH  the handler writes "term from PID" (si_pid) to PATH, then restores
 *                          SIG_DFL and raises SIGTERM again
 *   --on-term ignore       signal(SIGTERM, SIG_IGN)
 *   --exit-after N:CODE    the main thread calls exit(CODE) after accepting N connections, while
 *                          the connection threads still serve
 *   --return-after N:CODE  the same, returning CODE from main
 *   --check-returns        checks that signal() and sigaction() report the previous handler,
 *                          before and after listening; prints "returns ok" or exits 3
 *   --window MS            waits for connections in poll() (which a handler interrupts even
 *                          with SA_RESTART), and after a poll() interrupted with the flag not
 *                          set runs MS ms on the CPU before the next, as an event loop does
 *                          between its look at the flag and its next wait; SIGTERM is blocked
 *                          in the connection threads, so the main thread takes it
 * followed by the usual --port, --port-file... options. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

static volatile sig_atomic_t stop;
static const char *marker;

static void on_term_flag(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_term_marker(int sig, siginfo_t *info, void *uc)
{
	char line[64];
	int fd, n;

	(void)uc;
	n = snprintf(line, sizeof(line), "term from %d\n", (int)info->si_pid);
	fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) < 0)
			_exit(5);
		close(fd);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* Runs on the CPU for ms milliseconds. */
static void spin(int ms)
{
	long long end = now_ms() + ms;

	while (now_ms() < end)
		;
}

static void dummy(int sig)
{
	(void)sig;
}

/* signal() and sigaction() must each report what was there before. */
static void check_returns(const char *when)
{
	struct sigaction sa, old;

	if (signal(SIGTERM, dummy) != SIG_DFL || signal(SIGTERM, on_term_flag) != dummy ||
	    signal(SIGTERM, SIG_DFL) != on_term_flag) {
		printf("returns BAD: signal() %s listen\n", when);
		exit(3);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = dummy;
	sa.sa_flags = SA_RESETHAND;
	if (sigaction(SIGTERM, &sa, &old) != 0 || old.sa_handler != SIG_DFL ||
	    sigaction(SIGTERM, NULL, &old) != 0 || old.sa_handler != dummy ||
	    !(old.sa_flags & SA_RESETHAND) || signal(SIGTERM, SIG_DFL) != dummy) {
		printf("returns BAD: sigaction() %s listen\n", when);
		exit(3);
	}
}

int main(int argc, char **argv)
{
	int lfd, fd, after = -1, code = 0, returning = 0, checks = 0, exit_code = -1, accepted = 0;
	int window = 0;
	struct sigaction sa;
	struct options o;

	while (argc > 2 && strncmp(argv[1], "--", 2) == 0) {
		if (strcmp(argv[1], "--on-term") == 0) {
			memset(&sa, 0, sizeof(sa));
			if (sscanf(argv[2], "exit:%d", &exit_code) == 1) {
				sa.sa_handler = on_term_flag; /* no SA_RESTART: accept() sees EINTR */
				sigaction(SIGTERM, &sa, NULL);
			} else if (strncmp(argv[2], "marker:", 7) == 0) {
				marker = argv[2] + 7;
				sa.sa_sigaction = on_term_marker;
				sa.sa_flags = SA_SIGINFO;
				sigaction(SIGTERM, &sa, NULL);
			} else if (strcmp(argv[2], "ignore") == 0) {
				signal(SIGTERM, SIG_IGN);
			}
		} else if (strcmp(argv[1], "--exit-after") == 0) {
			sscanf(argv[2], "%d:%d", &after, &code);
		} else if (strcmp(argv[1], "--window") == 0) {
			window = atoi(argv[2]);
		} else if (strcmp(argv[1], "--return-after") == 0) {
			sscanf(argv[2], "%d:%d", &after, &code);
			returning = 1;
		} else if (strcmp(argv[1], "--check-returns") == 0) {
			checks = 1;
			argv++, argc--;
			continue;
		} else {
			break;
		}
		argv += 2, argc -= 2;
	}
	if (checks)
		check_returns("before");
	http_options(argc, argv, &o);
	lfd = http_listen(&o);
	if (checks) {
		check_returns("after");
		printf("returns ok\n");
		fflush(stdout);
	}
	if (after == 0)
		exit(code); /* a server that never accepted anything */
	for (;;) {
		if (window > 0) {
			struct pollfd p = { .fd = lfd, .events = POLLIN };

			if (poll(&p, 1, -1) < 0 && errno == EINTR) {
				if (stop) {
					close(lfd);
					exit(exit_code);
				}
				spin(window);
				continue;
			}
		}
		fd = accept(lfd, NULL, NULL);
		if (fd < 0 && errno == EINTR && stop) {
			close(lfd);
			exit(exit_code);
		}
		if (fd < 0)
			continue;
		if (window > 0) {
			sigset_t term, old;
			int r;

			sigemptyset(&term);
			sigaddset(&term, SIGTERM);
			pthread_sigmask(SIG_BLOCK, &term, &old); /* the thread starts with it */
			r = http_serve_thread(fd);
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			if (r < 0)
				continue;
		} else if (http_serve_thread(fd) < 0) {
			continue;
		}
		if (++accepted == after) {
			if (returning)
				return code;
			exit(code);
		}
	}
}
