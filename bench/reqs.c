/* SPDX-License-Identifier: MIT */
/* reqs: the fixed load of figure 8 (bench/README.md).
 *   reqs PORT N keep-alive|close SECONDS [PATH [PID]]
 * sends N requests for PATH (default /) to 127.0.0.1:PORT one at a time: each is sent whole and
 * its reply read whole before the next is sent. keep-alive: one connection, each reply framed by
 * its Content-Length, and a new connection only where a reply says "Connection: close"
 * (lighttpd's does every 1000th, its max-keep-alive-requests). close: a new connection for each,
 * sent with "Connection: close", read to end-of-file, then closed.
 * One request in flight is not enough for the server to do the same work for each request in
 * every run: a server that finds the next request, or the end of the connection, already there
 * when it has written a reply takes it without a trip through epoll_wait, and whether it does
 * depends on timing (lighttpd's count moved by 7 % between two runs). So with PID (the
 * server's), the client waits until every thread of PID sleeps before it sends a request or
 * closes a connection. (A server that wakes for a new connection before its request is in
 * sleeps once more: run.sh has lighttpd defer accepting; Node reads in a later turn anyway.)
 * Exits 1 at the first reply that is not a whole 200, or when SECONDS have passed; prints "N
 * requests on C connections in MS ms". */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib.h"

static int64_t deadline;

static void die(const char *what, long i)
{
	fprintf(stderr, "reqs: request %ld: %s\n", i, what);
	exit(1);
}

/* Waits until fd is ready for events, up to the deadline. */
static void await(int fd, short events, long i)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int r;

	do {
		left = (deadline - bench_now()) / 1000000;
		if (left <= 0)
			die("deadline passed", i);
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
	} while (r == 0 || (r < 0 && errno == EINTR));
	if (r < 0)
		die(strerror(errno), i);
}

/* Opens /proc/PID/task/TID/stat of each thread of pid, up to max, into fds; returns how many.
 * Exits if the process is gone. */
static int open_threads(int pid, int *fds, int max, long i)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (!(d = opendir(path)))
		die("the server is gone", i);
	while (n < max && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/stat", pid, e->d_name);
		if ((fds[n] = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Whether each of the threads sleeps: its state (after the command's closing parenthesis) is S,
 * or it has ended. */
static int sleeping(const int *fds, int n)
{
	char stat[512], *p;
	ssize_t len;
	int t;

	for (t = 0; t < n; t++) {
		len = pread(fds[t], stat, sizeof(stat) - 1, 0);
		if (len <= 0)
			continue;
		stat[len] = '\0';
		p = strrchr(stat, ')');
		if (p && p[1] == ' ' && p[2] != 'S' && p[2] != 'Z')
			return 0;
	}
	return 1;
}

/* Waits until every thread of pid sleeps at two checks 50 us apart: the second covers data the
 * kernel hands to the server a little after the client's call returned (loopback traffic left to
 * ksoftirqd). The threads are those there when it starts: servers start theirs at start-up.
 * Polls every 20 us, up to the deadline. Returns at once if pid is 0. */
static void await_idle(int pid, long i)
{
	int64_t idle_since = 0, now;
	int fds[64], n, t;

	if (!pid)
		return;
	n = open_threads(pid, fds, 64, i);
	for (;;) {
		now = bench_now();
		if (now > deadline)
			die("deadline passed waiting for the server to sleep", i);
		if (!sleeping(fds, n))
			idle_since = 0;
		else if (!idle_since)
			idle_since = now;
		else if (now - idle_since >= 50000)
			break;
		nanosleep(&(struct timespec){ 0, 20000 }, NULL);
	}
	for (t = 0; t < n; t++)
		close(fds[t]);
}

static void send_all(int fd, const char *buf, size_t len, long i)
{
	ssize_t n;

	while (len > 0) {
		await(fd, POLLOUT, i);
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			die(n < 0 ? strerror(errno) : "send returned 0", i);
		buf += n;
		len -= (size_t)n;
	}
}

/* The length of the reply's head (status line and headers, blank line included) once buf holds
 * all of it, else 0; *body is set to its Content-Length, -1 if it has none, and *ends to
 * whether it has "Connection: close". */
static size_t head_length(const char *buf, long *body, int *ends)
{
	const char *end = strstr(buf, "\r\n\r\n"), *h;

	*body = -1;
	*ends = 0;
	if (!end)
		return 0;
	for (h = strstr(buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n")) {
		if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
			*body = atol(h + 17);
		if (strncasecmp(h + 2, "Connection: close\r", 18) == 0)
			*ends = 1;
	}
	return (size_t)(end + 4 - buf);
}

/* Reads one reply: to its Content-Length with keep-alive, else to end-of-file. Returns whether
 * the server closes the connection after it. */
static int read_reply(int fd, int keep_alive, long i)
{
	static char buf[65536];
	size_t have = 0, head = 0;
	long body = -1;
	int ends = 0;
	ssize_t n;

	for (;;) {
		if (head && keep_alive && have >= head + (size_t)body)
			break;
		if (have == sizeof(buf) - 1)
			die("reply too long", i);
		await(fd, POLLIN, i);
		n = recv(fd, buf + have, sizeof(buf) - 1 - have, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			die(strerror(errno), i);
		if (n == 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		if (!head && (head = head_length(buf, &body, &ends)) && keep_alive && body < 0)
			die("a keep-alive reply without Content-Length", i);
	}
	if (!head || strncmp(buf, "HTTP/1.1 200 ", 13) != 0)
		die("not a whole 200 reply", i);
	if (body >= 0 && have != head + (size_t)body)
		die(have < head + (size_t)body ? "reply cut short" : "more than the reply", i);
	return ends;
}

int main(int argc, char **argv)
{
	const char *path = argc > 5 ? argv[5] : "/";
	int port = argc > 4 ? atoi(argv[1]) : 0, pid = argc > 6 ? atoi(argv[6]) : 0;
	int keep_alive, fd = -1;
	long i, conns = 0, n = argc > 4 ? atol(argv[2]) : 0;
	long seconds = argc > 4 ? atol(argv[4]) : 0;
	char req[512];
	int64_t t0 = bench_now();
	int len;

	keep_alive = argc > 4 && strcmp(argv[3], "keep-alive") == 0;
	if (port <= 0 || n <= 0 || seconds <= 0 || (!keep_alive && strcmp(argv[3], "close") != 0) ||
	    (argc > 6 && pid <= 0) || argc > 7) {
		fprintf(stderr, "usage: reqs PORT N keep-alive|close SECONDS [PATH [PID]]\n");
		return 2;
	}
	deadline = t0 + (int64_t)seconds * 1000000000;
	/* 20 us sleeps that last 20 us, not the default slack's 50 more. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	/* The same bytes whatever the port: lighttpd's parsing of a Host port cost 4 instructions
	 * more on one port than on another. */
	len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", path,
		       keep_alive ? "" : "Connection: close\r\n");
	if (len <= 0 || (size_t)len >= sizeof(req))
		die("path too long", 0);
	for (i = 0; i < n; i++) {
		await_idle(pid, i);
		if (fd < 0) {
			if ((fd = bench_connect(port, 0)) < 0)
				die("unable to connect", i);
			conns++;
		}
		send_all(fd, req, (size_t)len, i);
		if (read_reply(fd, keep_alive, i) || !keep_alive) {
			/* The server may still be busy with the reply, and would see the end of the
			 * connection sooner or later in it. */
			await_idle(pid, i);
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0) {
		await_idle(pid, i);
		close(fd);
	}
	/* Its last requests' work done, so that the count read next has all of it. */
	await_idle(pid, i);
	printf("%ld requests on %ld connections in %.0f ms\n", n, conns,
	       (double)(bench_now() - t0) / 1e6);
	return 0;
}
