/* SPDX-License-Identifier: MIT */
/* blocking: the simplest server there is. One thread accepts a connection, serves it to the
 * end, closes it and accepts the next; everyone else waits in the listen backlog. No SIGTERM
 * handler. */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"

int main(int argc, char **argv)
{
	struct options o;
	int lfd, fd;

	http_options(argc, argv, &o);
	lfd = http_listen(&o);
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
