/* SPDX-License-Identifier: MIT */
/* threaded: one thread per connection. The main thread blocks in accept(); each connection
 * gets a detached thread. Like many small servers, it installs no SIGTERM handler at all. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;

	http_serve_blocking(fd);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct options o;
	pthread_t t;
	int lfd, fd;

	http_options(argc, argv, &o);
	lfd = http_listen(&o);
	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			perror("accept");
			continue;
		}
		if (pthread_create(&t, NULL, serve, (void *)(intptr_t)fd) != 0) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
}
