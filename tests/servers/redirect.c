/* SPDX-License-Identifier: MIT */
/* redirect [--signal] MS FILE: what a shell does for "echo x >>FILE", over and over for MS ms:
 * open FILE, save fd 1 with F_DUPFD 10, close(1), dup2(file, 1), write to fd 1, put fd 1 back.
 * Between its close(1) and its dup2(), fd 1 is free, and an fd another thread makes then takes
 * it. The process is a server with one connection in flight and one child (which ends MS +
 * 500 ms after it starts), so that lastcall, once stopped, drains and looks for the child
 * while the loop runs. --signal sends the process SIGTERM first. Says on stderr how many
 * redirections it made and how many went wrong: the write failed, or fd 1 was not FILE. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* One "echo x >>file"; returns whether it went wrong. */
static int redirect(const char *file, ino_t want)
{
	struct stat st;
	int f = open(file, O_WRONLY | O_APPEND), saved, wrong;

	if (f < 0)
		return 1;
	saved = fcntl(1, F_DUPFD, 10);
	close(1);
	dup2(f, 1);
	close(f);
	wrong = fstat(1, &st) < 0 || st.st_ino != want || write(1, "x", 1) != 1;
	dup2(saved, 1);
	close(saved);
	return wrong;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t n = sizeof(a);
	int signal_first = argc > 1 && strcmp(argv[1], "--signal") == 0, l, c, s, fd;
	long long ms, end, made = 0, wrong = 0;
	struct stat st;
	pid_t kid;

	argv += signal_first;
	argc -= signal_first;
	if (argc != 3 || (ms = atoll(argv[1])) <= 0) {
		fprintf(stderr, "usage: redirect [--signal] MS FILE\n");
		return 2;
	}
	if ((fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 || fstat(fd, &st) < 0) {
		perror(argv[2]);
		return 2;
	}
	close(fd);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (bind(l, (struct sockaddr *)&a, n) < 0 || listen(l, 4) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &n) < 0 ||
	    connect(c, (struct sockaddr *)&a, n) < 0 || (s = accept4(l, 0, 0, SOCK_CLOEXEC)) < 0 ||
	    write(c, "GET / HTTP/1.0\r\n", 16) != 16) {
		perror("redirect: a connection to itself");
		return 2;
	}
	if ((kid = fork()) == 0) {
		struct timespec t = { (ms + 500) / 1000, (ms + 500) % 1000 * 1000000 };

		nanosleep(&t, 0);
		_exit(0);
	}
	if (signal_first)
		kill(getpid(), SIGTERM);
	for (end = now_ms() + ms; now_ms() < end; made++)
		wrong += redirect(argv[2], st.st_ino);
	fprintf(stderr, "redirections %lld wrong %lld\n", made, wrong);
	close(s);
	close(c);
	waitpid(kid, 0, 0);
	return 0;
}
