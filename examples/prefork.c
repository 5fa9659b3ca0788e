/* SPDX-License-Identifier: MIT */
/* prefork [--no-forward] [options]: a master and --threads N worker processes. By default the
 * master listens and the workers inherit the socket and block in accept() on it; with
 * --reuseport each worker opens its own SO_REUSEPORT listener on the same port (the master
 * only holds the port). On SIGTERM the master forwards it to the workers and waits for them,
 * then exits 0; with --no-forward it has no handler and simply dies, leaving its workers.
 * Workers have no handler of their own. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"

#define MAX_WORKERS 64

static pid_t workers[MAX_WORKERS];
static int nworkers;

static void on_term(int sig)
{
	int i;

	for (i = 0; i < nworkers; i++)
		kill(workers[i], sig);
}

static void worker(int lfd)
{
	int fd;

	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			perror("accept");
			continue;
		}
		http_serve_blocking(fd);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	int lfd, fd, i, st, ready[2], forward = 1;
	struct sigaction sa;
	struct options o;
	char c;
	pid_t pid;

	if (argc > 1 && strcmp(argv[1], "--no-forward") == 0) {
		forward = 0;
		argv++, argc--;
	}
	http_options(argc, argv, &o);
	nworkers = o.threads < MAX_WORKERS ? o.threads : MAX_WORKERS;
	/* With --reuseport the master's socket only holds the port: a listening one would get
	 * its share of connections and never accept them. */
	lfd = http_socket(&o);
	if (!o.reuseport && listen(lfd, o.backlog) < 0) {
		perror("listen");
		return 1;
	}
	o.port = http_port(lfd);
	if (pipe(ready) < 0)
		return 1;
	for (i = 0; i < nworkers; i++) {
		if ((pid = fork()) == 0) {
			fd = lfd;
			if (o.reuseport && (listen(fd = http_socket(&o), o.backlog) < 0))
				_exit(1);
			if (write(ready[1], "r", 1) < 0)
				_exit(1);
			worker(fd);
		}
		workers[i] = pid;
	}
	for (i = 0; i < nworkers; i++)
		if (read(ready[0], &c, 1) != 1)
			return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	if (forward)
		sigaction(SIGTERM, &sa, NULL);
	/* Announced only now, every worker up and the handler set: whoever reads the port may
	 * stop the server at once and see it end as it was made to. */
	http_announce(&o, o.port);
	while ((pid = wait(&st)) > 0 || errno == EINTR)
		;
	return 0;
}
