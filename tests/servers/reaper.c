/* SPDX-License-Identifier: MIT */
/* reaper [--never-reap] [--stubborn] [--children N] [--life MS] [options]: a server (it
 * listens) that forks N children at start. Child i lives MS milliseconds, then exits with
 * status 10+i. The parent reaps them in a SIGCHLD handler and prints "reaped PID status S"
 * for each, or, with --never-reap, leaves them as zombies. With --stubborn the children
 * ignore SIGTERM and live a minute. No SIGTERM handler. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

static void reap(int sig)
{
	char line[64];
	int saved = errno, st, n;
	pid_t pid;

	(void)sig;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		n = snprintf(line, sizeof(line), "reaped %d status %d\n", (int)pid,
			     WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		if (write(1, line, (size_t)n) < 0)
			break;
	}
	errno = saved;
}

int main(int argc, char **argv)
{
	int i, never = 0, stubborn = 0, n = 3, life = 800, lfd, fd;
	struct sigaction sa;
	struct timespec ts;
	struct options o;

	while (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
		if (strcmp(argv[1], "--never-reap") == 0)
			never = 1;
		else if (strcmp(argv[1], "--stubborn") == 0)
			stubborn = 1;
		else if (strcmp(argv[1], "--children") == 0 && argc > 2)
			n = atoi((argv++)[2]), argc--;
		else if (strcmp(argv[1], "--life") == 0 && argc > 2)
			life = atoi((argv++)[2]), argc--;
		else
			break;
		argv++, argc--;
	}
	http_options(argc, argv, &o);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = never ? SIG_DFL : reap;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	lfd = http_listen(&o);
	for (i = 0; i < n; i++) {
		if (fork() != 0)
			continue;
		if (stubborn) {
			signal(SIGTERM, SIG_IGN);
			life = 60000;
		}
		ts = (struct timespec){ life / 1000, (long)(life % 1000) * 1000000 };
		while (nanosleep(&ts, &ts) < 0)
			;
		_exit(10 + i);
	}
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) >= 0) {
			http_serve_blocking(fd);
			close(fd);
		}
	}
}
