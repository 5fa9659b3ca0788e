/* SPDX-License-Identifier: MIT */
/* lib.h: what the benchmark tools share: starting an example server with or without lastcall
 * and waiting for its port, the monotonic clock, a server's memory from /proc, loopback
 * connections, medians. Every wait here has a deadline. */
#ifndef BENCH_LIB_H
#define BENCH_LIB_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

struct server {
	pid_t pid;
	int port;
};

/* Runs argv (an example server) with "--port 0 --port-file F" appended, LD_PRELOAD=lib (none
 * if lib is NULL), RLIMIT_NOFILE set to nofile (inherited if 0), stdout on /dev/null and
 * SIGPIPE ignored, then waits up to 5 s for F. Exits 1 if the server does not start. SIGPIPE
 * is ignored as most servers do; the examples do not, and a client that closes before the end
 * of a reply would kill them. */
void bench_start(struct server *s, char **argv, const char *lib, rlim_t nofile);

/* Waits for pid to end; returns the CLOCK_MONOTONIC time waitpid() returned, in ns. */
int64_t bench_reap(pid_t pid, int *status);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t bench_now(void);

/* Sleeps ms milliseconds: pacing only, never to wait for something to happen. */
void bench_sleep_ms(int ms);

/* The resident memory of pid in KB, all of it and its anonymous part (-1 if they cannot be
 * read). File pages (libraries) are resident or not depending on the page cache, by a few
 * hundred KB between identical runs; anonymous memory is what the process itself allocated. */
void bench_mem_kb(pid_t pid, long *rss, long *anon);

/* Raises this process's RLIMIT_NOFILE (soft and hard) to n; exits 1 if it cannot. */
void bench_nofile(rlim_t n);

/* A TCP connection to 127.0.0.1:port, blocking unless nonblock; -1 on failure. */
int bench_connect(int port, int nonblock);

/* The median of v[0..n), sorting v; 0 if n is 0. */
double bench_median(double *v, int n);

/* The smallest and largest of v[0..n). */
double bench_min(const double *v, int n);
double bench_max(const double *v, int n);

#endif
