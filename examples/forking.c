/* SPDX-License-Identifier: MIT */
/* forking: one child process per connection, the classic Unix server. The parent accepts,
 * forks, closes its copy and goes back to accept(); the child serves the connection and exits.
 * The child keeps the inherited listener open, as many such servers do. Children are reaped
 * by a SIGCHLD handler (--sigchld handler, the default) or automatically (--sigchld ignore,
 * the zombie-free idiom). No SIGTERM handler. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"

static void reap(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct options o;
	int lfd, fd, ignore = 0;

	if (argc > 2 && strcmp(argv[1], "--sigchld") == 0) {
		ignore = strcmp(argv[2], "ignore") == 0;
		argv += 2, argc -= 2;
	}
	http_options(argc, argv, &o);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ignore ? SIG_IGN : reap;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	lfd = http_listen(&o);
	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno != EINTR)
				perror("accept");
			continue;
		}
		if (fork() == 0) {
			http_serve_blocking(fd);
			_exit(0);
		}
		close(fd);
	}
}
