/* SPDX-License-Identifier: MIT */
/* threaded: one thread per connection. The main thread blocks in accept(); each connection
 * gets a detached thread. Like many small servers, it installs no SIGTERM handler at all. */
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
		if (http_serve_thread(fd) < 0)
			continue;
	}
}
