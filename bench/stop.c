/* SPDX-License-Identifier: MIT */
/* stop: figures 3 and 4 (bench/README.md), runs alternating without and with lastcall.
 *   stop idle RUNS LIB SERVER [ARGS...]
 *     The server answers one request (so it has accepted, as a server in service has), then,
 *     idle, gets SIGTERM: the time from kill() to waitpid() returning.
 *   stop drain RUNS LIB SERVER [ARGS...]
 *     A client sends GET /delay/200 with "Connection: close"; once the server has accepted it,
 *     SIGTERM. The client reads to end-of-file and closes: the time from that end-of-file to
 *     waitpid() returning, and whether the reply was whole.
 * Prints one line per mode: "without|with runs N median MS min MS max MS lost N odd N", lost
 * counting replies cut short, odd the runs where the server did not end by SIGTERM.
 *   stop timewait N
 *     Leaves N more TCP sockets in TIME_WAIT on the host, for figure 3 (they last 60 s; the
 *     kernel drops them beyond net.ipv4.tcp_max_tw_buckets). Prints "timewait made N ms MS". */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib.h"

#define MAX_RUNS 1000

struct tally {
	double ms[MAX_RUNS];
	int runs, lost, odd;
};

/* Sends req on a new connection to port; exits 1 if it cannot. */
static int ask(int port, const char *req)
{
	int fd = bench_connect(port, 0);

	if (fd < 0 || write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		perror("bench: request");
		exit(1);
	}
	return fd;
}

/* Reads fd to end-of-file (at most 10 s); returns whether what came ends with tail. */
static int read_reply(int fd, const char *tail)
{
	struct timeval tv = { 10, 0 };
	char buf[4096];
	size_t have = 0, n = strlen(tail);
	ssize_t r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while ((r = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0)
		have += (size_t)r;
	buf[have] = '\0';
	return r == 0 && have >= n && strncmp(buf, "HTTP/1.1 200", 12) == 0 &&
	       strcmp(buf + have - n, tail) == 0;
}

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (!(dir = opendir(path)))
		return -1;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

static void idle_run(char **argv, const char *lib, struct tally *t)
{
	struct server s;
	int64_t t0, t1;
	int fd, status;

	bench_start(&s, argv, lib, 0);
	fd = ask(s.port, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
	if (!read_reply(fd, "hello\n"))
		t->lost++;
	close(fd);
	t0 = bench_now();
	kill(s.pid, SIGTERM);
	t1 = bench_reap(s.pid, &status);
	t->ms[t->runs++] = (double)(t1 - t0) / 1e6;
	t->odd += !WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM;
}

static void drain_run(char **argv, const char *lib, struct tally *t)
{
	int64_t deadline, eof, gone;
	struct server s;
	int fd, fds, status, whole;

	bench_start(&s, argv, lib, 0);
	fds = count_fds(s.pid);
	fd = ask(s.port, "GET /delay/200 HTTP/1.1\r\nConnection: close\r\n\r\n");
	/* In flight means accepted: the server holds one more fd. */
	deadline = bench_now() + 2000000000;
	while (count_fds(s.pid) <= fds && bench_now() < deadline)
		bench_sleep_ms(1);
	kill(s.pid, SIGTERM);
	whole = read_reply(fd, "delayed 200\n");
	eof = bench_now();
	close(fd);
	gone = bench_reap(s.pid, &status);
	t->lost += !whole;
	t->odd += !WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM;
	t->ms[t->runs++] = (double)(gone - eof) / 1e6;
}

/* Makes up to n connections to a loopback listener of its own, within 60 s, the server side
 * closing first so that it keeps the TIME_WAIT: all on the listener's one port, where client
 * TIME_WAITs would hold a port each, and run the host out of ports to connect from. Each client
 * comes from an address and port of its own in 127.1.0.0/16, so no connection meets an earlier
 * one's TIME_WAIT (a SYN there would end it). Returns how many it made. */
static int time_wait(int n)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(to);
	int64_t deadline = bench_now() + 60000000000;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), i, made = 0;

	if (l < 0 || bind(l, (struct sockaddr *)&to, len) < 0 || listen(l, 16) < 0 ||
	    getsockname(l, (struct sockaddr *)&to, &len) < 0) {
		perror("bench: listener");
		exit(1);
	}
	for (i = 0; made < n && i < 2 * n && bench_now() < deadline; i++) {
		struct sockaddr_in from = { .sin_family = AF_INET,
					    .sin_port = htons(1024 + i % 64000),
					    .sin_addr.s_addr = htonl(0x7f010001 + i / 64000) };
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s = -1;

		/* A port a wildcard listener holds cannot be bound: then the next one. */
		if (c >= 0 && bind(c, (struct sockaddr *)&from, sizeof(from)) == 0 &&
		    connect(c, (struct sockaddr *)&to, len) == 0 && (s = accept(l, NULL, NULL)) >= 0) {
			close(s);
			made++;
		}
		close(c);
	}
	close(l);
	return made;
}

static void report(const char *name, struct tally *t)
{
	printf("%s runs %d median %.3f min %.3f max %.3f lost %d odd %d\n", name, t->runs,
	       bench_median(t->ms, t->runs), bench_min(t->ms, t->runs), bench_max(t->ms, t->runs),
	       t->lost, t->odd);
}

int main(int argc, char **argv)
{
	static struct tally without, with;
	void (*run)(char **, const char *, struct tally *);
	int i, runs = argc > 4 ? atoi(argv[2]) : 0;
	int64_t t0 = bench_now();

	if (argc == 3 && strcmp(argv[1], "timewait") == 0 && (i = atoi(argv[2])) > 0 &&
	    i <= 1000000) {
		i = time_wait(i);
		printf("timewait made %d ms %.0f\n", i, (double)(bench_now() - t0) / 1e6);
		return 0;
	}
	if (runs <= 0 || runs > MAX_RUNS ||
	    (strcmp(argv[1], "idle") != 0 && strcmp(argv[1], "drain") != 0)) {
		fprintf(stderr, "usage: stop idle|drain RUNS LIB SERVER [ARGS...]\n"
				"       stop timewait N\n");
		return 2;
	}
	run = strcmp(argv[1], "idle") == 0 ? idle_run : drain_run;
	for (i = 0; i < runs; i++) {
		run(argv + 4, NULL, &without);
		run(argv + 4, argv[3], &with);
	}
	report("without", &without);
	report("with", &with);
	return 0;
}
