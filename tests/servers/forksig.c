/* SPDX-License-Identifier: MIT */
/* forksig [--fork-on N] [options]: a thread-per-connection server that, from its Nth connection
 * on (default 1), forks a short-lived child for every connection it accepts, and whose
 * pthread_atfork prepare handler sends the process SIGTERM the first time: a trigger signal
 * arriving in the middle of fork(). The children exit on their own (0.1 s). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

static volatile sig_atomic_t raised;

static void prepare(void)
{
	if (!raised) {
		raised = 1;
		kill(getpid(), SIGTERM);
	}
}

int main(int argc, char **argv)
{
	struct timespec tenth = { 0, 100000000 };
	int lfd, fd, fork_on = 1, accepted = 0;
	struct options o;

	if (argc > 2 && strcmp(argv[1], "--fork-on") == 0) {
		fork_on = atoi(argv[2]);
		argv += 2, argc -= 2;
	}
	http_options(argc, argv, &o);
	pthread_atfork(prepare, NULL, NULL);
	lfd = http_listen(&o);
	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		if (http_serve_thread(fd) < 0)
			continue;
		if (++accepted >= fork_on && fork() == 0) {
			nanosleep(&tenth, NULL);
			_exit(0);
		}
	}
}
