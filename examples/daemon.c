/* SPDX-License-Identifier: MIT */
/* daemon: the classic daemon. It binds and listens first (so errors reach the terminal), then
 * double-forks: the process started exits at once, the middle one after setsid(), and the
 * grandchild writes --port-file and serves, one thread per connection. The pid of the daemon
 * goes to the port file's name with ".pid" appended. No SIGTERM handler. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"

int main(int argc, char **argv)
{
	struct options o;
	char path[4096];
	int lfd, fd;
	FILE *f;

	http_options(argc, argv, &o);
	{
		struct options quiet = o;

		quiet.port_file = NULL;
		lfd = http_socket(&quiet);
		if (listen(lfd, o.backlog) < 0)
			return 1;
	}
	if (fork() > 0)
		exit(0); /* the process the shell or the test waits for ends at once */
	setsid();
	if (fork() > 0)
		exit(0);
	if (o.port_file) {
		snprintf(path, sizeof(path), "%s.pid", o.port_file);
		if ((f = fopen(path, "w"))) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	http_announce(&o, http_port(lfd));
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) < 0)
			continue;
		if (http_serve_thread(fd) < 0)
			continue;
	}
}
