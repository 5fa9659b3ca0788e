/* SPDX-License-Identifier: MIT */
/* scale: figure 5 (bench/README.md), without lastcall, then with it.
 *   scale load CONNS LIB SERVER [ARGS...]
 *     CONNS keep-alive connections each get one reply (GET /), so the server holds them all;
 *     its RSS is read before and after. Then each sends GET /delay/1000 with "Connection:
 *     close", and the server gets SIGTERM as soon as they are all sent. Counts whole replies
 *     and lost ones; times SIGTERM to the last reply and to waitpid() returning.
 *     Prints per mode:
 *       "without|with conns N ok N lost N rss0 KB rss1 KB anon0 KB anon1 KB last MS gone MS"
 *     (rss: all resident memory, anon: its anonymous part; see bench_mem_kb()).
 *   scale quiet CONNS LIB BEFORE SERVER [ARGS...]
 *     CONNS connections each get a reply streamed in 6 chunks 1 s apart (GET
 *     /stream/6/1000), and the server gets SIGTERM once every first chunk has arrived: for the
 *     next 5 s every connection is quiet but busy by the idle rule (answered, quiet for less
 *     than LASTCALL_IDLE, which is set to 2s). Run with LIB and with BEFORE, a build of the
 *     library from before the idle rule's looks were scheduled. Prints per library: "LABEL
 *     conns N ok N lost N cpu MS quiet MS quiet_ms MS drain MS": the CPU time of lastcall's
 *     cleanup thread (its schedstat) from SIGTERM to the end, and to the end of the first reply
 *     (the quiet part, which lasted quiet_ms), and the time from SIGTERM to waitpid().
 *   scale idle NOFILE RUNS LIB SERVER [ARGS...]
 *     The server's RSS and kernel fd table size (FDSize) once listening, started with
 *     RLIMIT_NOFILE at NOFILE, RUNS times each way, alternating; medians.
 *     Prints per mode: "without|with nofile N rss KB anon KB fdsize N".
 * Raises its own RLIMIT_NOFILE (and so the server's) to what it needs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib.h"

#define DELAY_REQ "GET /delay/1000 HTTP/1.1\r\nConnection: close\r\n\r\n"
#define DELAY_TAIL "delayed 1000\n"
#define STREAM_REQ "GET /stream/6/1000 HTTP/1.1\r\nConnection: close\r\n\r\n"
#define STREAM_TAIL "chunk 5/6\n"

/* What each connection asks for, and how its reply ends. */
struct shape {
	const char *req, *tail;
};
static const struct shape delay = { DELAY_REQ, DELAY_TAIL };
static const struct shape stream = { STREAM_REQ, STREAM_TAIL };

struct conn {
	int fd;
	unsigned have; /* bytes of the reply so far, the last ones in tail[] */
	char tail[16];
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* One request and its reply on a blocking connection: the server has accepted it. */
static int open_conn(int port)
{
	static const char req[] = "GET / HTTP/1.1\r\n\r\n";
	char buf[512];
	size_t have = 0;
	ssize_t r;
	int fd = bench_connect(port, 0);

	if (fd < 0 || write(fd, req, sizeof(req) - 1) != sizeof(req) - 1)
		die("scale: connect");
	while (have < 6 || memcmp(buf + have - 6, "hello\n", 6) != 0) {
		r = read(fd, buf + have, sizeof(buf) - have);
		if (r <= 0)
			die("scale: first reply");
		have += (size_t)r;
	}
	return fd;
}

/* Reads what c has; returns 1 once it is finished (whole reply then end-of-file: *ok set). */
static int on_readable(struct conn *c, const char *tail, int *ok)
{
	size_t len = strlen(tail);
	char buf[4096];
	ssize_t r;
	size_t n;

	while ((r = read(c->fd, buf, sizeof(buf))) > 0) {
		n = (size_t)r < sizeof(c->tail) ? (size_t)r : sizeof(c->tail);
		memmove(c->tail, c->tail + n, sizeof(c->tail) - n);
		memcpy(c->tail + sizeof(c->tail) - n, buf + r - n, n);
		c->have += (unsigned)r;
	}
	if (r < 0 && errno == EAGAIN)
		return 0;
	*ok = r == 0 && c->have >= len && memcmp(c->tail + sizeof(c->tail) - len, tail, len) == 0;
	return 1;
}

/* CPU time, ns, of pid's cleanup thread (named "lastcall"); -1 if it has none. */
static int64_t cleanup_cpu_ns(pid_t pid)
{
	char path[300], comm[32];
	long long ns = -1;
	struct dirent *t;
	DIR *tasks;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(tasks = opendir(path)))
		return -1;
	while (ns < 0 && (t = readdir(tasks))) {
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, t->d_name);
		if (t->d_name[0] == '.' || !(f = fopen(path, "r")))
			continue;
		/* "lastcall-drain" while it drains (see children.h). */
		if (!fgets(comm, sizeof(comm), f) ||
		    (strcmp(comm, "lastcall\n") != 0 && strcmp(comm, "lastcall-drain\n") != 0)) {
			fclose(f);
			continue;
		}
		fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, t->d_name);
		if ((f = fopen(path, "r"))) {
			if (fscanf(f, "%lld", &ns) != 1)
				ns = -1;
			fclose(f);
		}
	}
	closedir(tasks);
	return ns;
}

static void load(int conns, char **argv, const char *lib, const char *name,
		 const struct shape *shape)
{
	size_t req = strlen(shape->req);
	int64_t cpu0 = -1, cpu = -1, cpu_quiet = -1, quiet_end = 0, c1;
	int first = 0;
	struct conn *c = calloc((size_t)conns, sizeof(*c));
	struct epoll_event ev, evs[512];
	int64_t sig, last = 0, deadline, gone;
	int i, n, ep, ok, done = 0, good = 0, status;
	long rss0, rss1, anon0, anon1;
	struct server s;

	bench_start(&s, argv, lib, 0);
	bench_mem_kb(s.pid, &rss0, &anon0);
	for (i = 0; i < conns; i++)
		c[i].fd = open_conn(s.port);
	bench_mem_kb(s.pid, &rss1, &anon1);
	if (!c || (ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("scale: epoll");
	for (i = 0; i < conns; i++) {
		if (write(c[i].fd, shape->req, req) != (ssize_t)req)
			die("scale: request");
		fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
		ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &c[i] };
		epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
	}
	/* A stream: the signal once every reply has started, so all of them are between chunks. */
	for (deadline = bench_now() + 10000000000; shape == &stream && first < conns &&
						   bench_now() < deadline;) {
		n = epoll_wait(ep, evs, 512, 100);
		for (i = 0; i < n; i++) {
			struct conn *cn = evs[i].data.ptr;

			first += cn->have == 0;
			if (on_readable(cn, shape->tail, &ok))
				die("scale: a stream ended early");
		}
	}
	sig = bench_now();
	cpu0 = cleanup_cpu_ns(s.pid);
	kill(s.pid, SIGTERM);
	deadline = sig + 30000000000;
	while (done < conns && bench_now() < deadline) {
		n = epoll_wait(ep, evs, 512, 20);
		if ((c1 = cleanup_cpu_ns(s.pid)) >= 0)
			cpu = c1;
		for (i = 0; i < n; i++) {
			if (!on_readable(evs[i].data.ptr, shape->tail, &ok))
				continue;
			close(((struct conn *)evs[i].data.ptr)->fd);
			if (!done)
				cpu_quiet = cpu, quiet_end = bench_now();
			done++;
			good += ok;
			last = bench_now();
		}
	}
	if (done < conns)
		kill(s.pid, SIGKILL);
	/* The cleanup thread's last words come after the last reply. */
	while (waitpid(s.pid, &status, WNOHANG) == 0 && bench_now() < deadline) {
		if ((c1 = cleanup_cpu_ns(s.pid)) >= 0)
			cpu = c1;
		bench_sleep_ms(1);
	}
	gone = bench_reap(s.pid, &status);
	if (shape == &stream)
		printf("%s conns %d ok %d lost %d cpu %.1f quiet %.1f quiet_ms %.1f drain %.1f\n",
		       name, conns, good, conns - good,
		       cpu0 < 0 || cpu < 0 ? -1.0 : (double)(cpu - cpu0) / 1e6,
		       cpu0 < 0 || cpu_quiet < 0 ? -1.0 : (double)(cpu_quiet - cpu0) / 1e6,
		       (double)(quiet_end - sig) / 1e6, (double)(gone - sig) / 1e6);
	else
		printf("%s conns %d ok %d lost %d rss0 %ld rss1 %ld anon0 %ld anon1 %ld last %.1f "
		       "gone %.1f\n",
		       name, conns, good, conns - good, rss0, rss1, anon0, anon1,
		       (double)(last - sig) / 1e6, (double)(gone - sig) / 1e6);
	fflush(stdout);
	close(ep);
	for (i = 0; i < conns; i++)
		if (done < conns)
			close(c[i].fd);
	free(c);
}

/* FDSize of pid: the slots in its kernel fd table. */
static long fdsize(pid_t pid)
{
	char path[64], line[256];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "FDSize: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

static void idle(rlim_t nofile, int runs, char **argv, const char *lib)
{
	double rss[2][64], anon[2][64], fds[2][64];
	struct server s;
	long r, a;
	int i, m, status;

	for (i = 0; i < runs && i < 64; i++) {
		for (m = 0; m < 2; m++) {
			bench_start(&s, argv, m ? lib : NULL, nofile);
			bench_mem_kb(s.pid, &r, &a);
			rss[m][i] = (double)r;
			anon[m][i] = (double)a;
			fds[m][i] = (double)fdsize(s.pid);
			kill(s.pid, SIGKILL);
			bench_reap(s.pid, &status);
		}
	}
	for (m = 0; m < 2; m++)
		printf("%s nofile %lu rss %.0f anon %.0f fdsize %.0f\n", m ? "with" : "without",
		       (unsigned long)nofile, bench_median(rss[m], i), bench_median(anon[m], i),
		       bench_median(fds[m], i));
}

int main(int argc, char **argv)
{
	long conns;

	if (argc > 5 && strcmp(argv[1], "idle") == 0) {
		idle((rlim_t)atol(argv[2]), atoi(argv[3]), argv + 5, argv[4]);
		return 0;
	}
	if (argc > 5 && strcmp(argv[1], "quiet") == 0 && (conns = atol(argv[2])) > 0) {
		bench_nofile((rlim_t)conns + 1024);
		setenv("LASTCALL_IDLE", "2s", 1); /* the default now; the earlier one was 0s */
		load((int)conns, argv + 5, argv[4], "before", &stream);
		load((int)conns, argv + 5, argv[3], "with", &stream);
		return 0;
	}
	if (argc < 5 || strcmp(argv[1], "load") != 0 || (conns = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: scale load CONNS LIB SERVER [ARGS...]\n"
				"       scale quiet CONNS LIB BEFORE SERVER [ARGS...]\n"
				"       scale idle NOFILE RUNS LIB SERVER [ARGS...]\n");
		return 2;
	}
	bench_nofile((rlim_t)conns + 1024);
	load((int)conns, argv + 4, NULL, "without", &delay);
	load((int)conns, argv + 4, argv[3], "with", &delay);
	return 0;
}
