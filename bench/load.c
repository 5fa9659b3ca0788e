/* SPDX-License-Identifier: MIT */
/* load: figure 6 (bench/README.md), the data behind bench/results/sigterm.png.
 *   load CONNS DATAFILE LIB SERVER [ARGS...]
 * CONNS clients each send GET /delay/D (D from 0 to 99 ms) with "Connection: close" on a new
 * connection, one after another, first to the server without lastcall, then to a fresh one
 * with it. 500 ms in, the server gets SIGTERM; the clients go on until it is gone and 100 ms
 * more. Every request ends as completed (the whole reply, then end-of-file), lost (sent, but
 * the connection closed or reset before the whole reply) or refused (the connection was
 * refused; the client tries again 10 ms later).
 * DATAFILE gets one line per 10 ms from -300 to +300 ms around SIGTERM:
 *   "MS completed-without lost-without completed-with lost-with"
 * and stdout one line per mode: "without|with completed N lost N refused N gone MS". */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib.h"

#define BIN_MS 10
#define FROM_MS (-300)
#define BINS 60
#define MAX_CONNS 1000
#define MAX_EVENTS 200000

enum outcome { COMPLETED, LOST, REFUSED };

struct client {
	int fd;
	int sent;	 /* the request is written: from now on it can only complete or be lost */
	int delay;	 /* its D */
	int64_t retry;	 /* after a refusal: when to connect again */
	size_t have;	 /* reply bytes so far, the last ones in tail[] */
	char tail[32];
};

struct tally {
	int bins[BINS][2]; /* completed, lost per 10 ms */
	int n[3];	   /* per outcome */
};

/* Completions and losses, binned once the time of SIGTERM is known. */
static struct event {
	int64_t at;
	enum outcome o;
} events[MAX_EVENTS];
static int nevents;

static int ep;
static unsigned seed = 1;

static void start(struct client *c, int port)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

	seed = seed * 1103515245 + 12345;
	*c = (struct client){ .fd = bench_connect(port, 1), .delay = (int)(seed >> 16) % 100 };
	if (c->fd < 0) {
		perror("load: socket");
		exit(1);
	}
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void record(struct tally *t, enum outcome o, int64_t now)
{
	t->n[o]++;
	if (o != REFUSED && nevents < MAX_EVENTS)
		events[nevents++] = (struct event){ now, o };
}

static void bin(struct tally *t, int64_t sig_at)
{
	int64_t ms;
	int i, b;

	for (i = 0; i < nevents; i++) {
		ms = (events[i].at - sig_at) / 1000000 - FROM_MS;
		b = ms < 0 ? -1 : (int)(ms / BIN_MS);
		if (b >= 0 && b < BINS)
			t->bins[b][events[i].o]++;
	}
}

/* Whether what came on c so far is the whole reply to its request. */
static int whole(const struct client *c)
{
	char want[32];
	int n = snprintf(want, sizeof(want), "delayed %d\n", c->delay);

	return c->have >= (size_t)n && memcmp(c->tail + sizeof(c->tail) - n, want, (size_t)n) == 0;
}

/* Handles an event on c; returns the outcome once there is one, -1 while it goes on. */
static int on_event(struct client *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	char req[96], buf[4096];
	socklen_t n = sizeof(int);
	int err = 0, len;
	ssize_t r;

	if (!c->sent) {
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &n);
		if (err)
			return err == ECONNREFUSED ? REFUSED : LOST;
		len = snprintf(req, sizeof(req),
			       "GET /delay/%d HTTP/1.1\r\nConnection: close\r\n\r\n", c->delay);
		if (write(c->fd, req, (size_t)len) != len)
			return LOST;
		c->sent = 1;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		return -1;
	}
	while ((r = read(c->fd, buf, sizeof(buf))) > 0) {
		len = r < (ssize_t)sizeof(c->tail) ? (int)r : (int)sizeof(c->tail);
		memmove(c->tail, c->tail + len, sizeof(c->tail) - (size_t)len);
		memcpy(c->tail + sizeof(c->tail) - len, buf + r - len, (size_t)len);
		c->have += (size_t)r;
	}
	if (r < 0 && errno == EAGAIN)
		return -1;
	return r == 0 && whole(c) ? COMPLETED : LOST;
}

static void run(int conns, char **argv, const char *lib, const char *name, struct tally *t)
{
	static struct client cl[MAX_CONNS];
	struct epoll_event evs[256];
	int64_t now, begin, sig_at = 0, gone = 0, until;
	int i, n, o, status;
	struct client *c;
	struct server s;

	bench_start(&s, argv, lib, 0);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("load: epoll");
		exit(1);
	}
	nevents = 0;
	begin = bench_now();
	until = begin + 10000000000; /* a bound, whatever happens */
	for (i = 0; i < conns; i++)
		start(&cl[i], s.port);
	while ((now = bench_now()) < until) {
		if (!sig_at && now - begin >= 500000000) {
			sig_at = bench_now();
			kill(s.pid, SIGTERM);
		}
		if (sig_at && !gone && waitpid(s.pid, &status, WNOHANG) == s.pid) {
			gone = bench_now();
			until = gone + 100000000;
		}
		n = epoll_wait(ep, evs, 256, 1);
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if ((o = on_event(c)) < 0)
				continue;
			record(t, (enum outcome)o, bench_now());
			close(c->fd);
			c->fd = -1;
			c->retry = o == REFUSED ? bench_now() + 10000000 : 0;
		}
		for (i = 0; i < conns; i++)
			if (cl[i].fd < 0 && bench_now() >= cl[i].retry)
				start(&cl[i], s.port);
	}
	if (!gone) {
		kill(s.pid, SIGKILL);
		gone = bench_reap(s.pid, &status);
	}
	/* Connections still open now never completed; those sent are lost. */
	for (i = 0; i < conns; i++) {
		if (cl[i].fd >= 0 && cl[i].sent)
			record(t, LOST, until);
		if (cl[i].fd >= 0)
			close(cl[i].fd);
	}
	close(ep);
	bin(t, sig_at);
	printf("%s completed %d lost %d refused %d gone %.1f\n", name, t->n[COMPLETED], t->n[LOST],
	       t->n[REFUSED], (double)(gone - sig_at) / 1e6);
}

int main(int argc, char **argv)
{
	static struct tally without, with;
	int i, conns = argc > 4 ? atoi(argv[1]) : 0;
	FILE *f;

	if (conns <= 0 || conns > MAX_CONNS) {
		fprintf(stderr, "usage: load CONNS DATAFILE LIB SERVER [ARGS...]\n");
		return 2;
	}
	run(conns, argv + 4, NULL, "without", &without);
	run(conns, argv + 4, argv[3], "with", &with);
	if (!(f = fopen(argv[2], "w"))) {
		perror(argv[2]);
		return 1;
	}
	for (i = 0; i < BINS; i++)
		fprintf(f, "%d %d %d %d %d\n", FROM_MS + i * BIN_MS, without.bins[i][COMPLETED],
			without.bins[i][LOST], with.bins[i][COMPLETED], with.bins[i][LOST]);
	return fclose(f) != 0;
}
