/* SPDX-License-Identifier: MIT */
/* lib.c: starting servers, clocks and /proc readings for the benchmark tools (see lib.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib.h"

int64_t bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void bench_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void bench_nofile(rlim_t n)
{
	struct rlimit rl = { n, n };

	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "bench: unable to set RLIMIT_NOFILE to %lu: %s\n", (unsigned long)n,
			strerror(errno));
		exit(1);
	}
}

static void exec_server(char **argv, const char *lib, rlim_t nofile, const char *port_file)
{
	char *args[64];
	int i, null = open("/dev/null", O_WRONLY);

	for (i = 0; argv[i] && i < 59; i++)
		args[i] = argv[i];
	args[i++] = "--port";
	args[i++] = "0";
	args[i++] = "--port-file";
	args[i++] = (char *)port_file;
	args[i] = NULL;
	if (null >= 0)
		dup2(null, 1);
	signal(SIGPIPE, SIG_IGN);
	if (nofile)
		bench_nofile(nofile);
	if (lib)
		setenv("LD_PRELOAD", lib, 1);
	else
		unsetenv("LD_PRELOAD");
	execv(args[0], args);
	perror(args[0]);
	_exit(127);
}

void bench_start(struct server *s, char **argv, const char *lib, rlim_t nofile)
{
	static int n;
	char path[128];
	int64_t deadline = bench_now() + 5000000000;
	int status;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/lastcall-bench.%d.%d.port", (int)getpid(), n++);
	unlink(path);
	s->pid = fork();
	if (s->pid < 0) {
		perror("fork");
		exit(1);
	}
	if (s->pid == 0)
		exec_server(argv, lib, nofile, path);
	/* The server writes the file whole and renames it, so once it exists it is complete. */
	while (!(f = fopen(path, "r"))) {
		if (bench_now() > deadline || waitpid(s->pid, &status, WNOHANG) == s->pid) {
			fprintf(stderr, "bench: %s did not start\n", argv[0]);
			kill(s->pid, SIGKILL);
			exit(1);
		}
		bench_sleep_ms(1);
	}
	if (fscanf(f, "%d", &s->port) != 1)
		s->port = -1;
	fclose(f);
	unlink(path);
	if (s->port <= 0) {
		fprintf(stderr, "bench: %s wrote no port\n", argv[0]);
		kill(s->pid, SIGKILL);
		exit(1);
	}
}

int64_t bench_reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return bench_now();
}

void bench_mem_kb(pid_t pid, long *rss, long *anon)
{
	char path[64], line[256];
	FILE *f;

	/* Not VmRSS from /proc/PID/status: the kernel keeps that count per CPU and reads it without
	 * adding up the parts, so it can be off by tens of KB. smaps_rollup walks the page tables. */
	*rss = *anon = -1;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Rss: %ld kB", rss) != 1)
			sscanf(line, "Anonymous: %ld kB", anon);
	fclose(f);
}

int bench_connect(int port, int nonblock)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
	if (n == 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_min(const double *v, int n)
{
	double m = n ? v[0] : 0;
	int i;

	for (i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

double bench_max(const double *v, int n)
{
	double m = n ? v[0] : 0;
	int i;

	for (i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}
