/* SPDX-License-Identifier: MIT */
/* pool: a fixed pool of worker threads fed by the accepting main thread through a queue.
 * No SIGTERM handler. */
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"

#define QUEUE 1024

static int queue[QUEUE];
static unsigned head, tail;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;

static void *worker(void *arg)
{
	int fd;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mu);
		while (head == tail)
			pthread_cond_wait(&ready, &mu);
		fd = queue[head++ % QUEUE];
		pthread_mutex_unlock(&mu);
		http_serve_blocking(fd);
		close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct options o;
	pthread_t t;
	int lfd, fd, i;

	http_options(argc, argv, &o);
	lfd = http_listen(&o);
	for (i = 0; i < o.threads; i++)
		pthread_create(&t, NULL, worker, NULL);
	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			perror("accept");
			continue;
		}
		pthread_mutex_lock(&mu);
		if (tail - head < QUEUE) {
			queue[tail++ % QUEUE] = fd;
			pthread_cond_signal(&ready);
		} else {
			close(fd);
		}
		pthread_mutex_unlock(&mu);
	}
}
