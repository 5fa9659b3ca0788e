/* SPDX-License-Identifier: MIT */
/* epoll: a single-threaded event loop, level-triggered by default, edge-triggered with --edge.
 * Delayed replies, and streamed ones between two chunks, wait on a due-time list, so one thread
 * serves many slow requests at once.
 * No SIGTERM handler. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"

enum state { READING, WAITING, WRITING };

struct conn {
	int fd;
	enum state state;
	char in[8192];
	size_t have;
	struct request req;
	char head[256];
	uint64_t head_len, sent; /* sent counts head and body bytes */
	uint64_t limit;		 /* what to send before pausing: all, or a stream's chunk */
	int chunk;		 /* a stream's chunk being sent */
	int64_t due;		 /* WAITING: when to reply, or to send the next chunk */
	struct conn *next;	 /* WAITING: the due list, earliest first */
};

static int ep;
static uint32_t edge;
static struct conn *due_list;

static void want(struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events | edge, .data.ptr = c };

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void drop(struct conn *c)
{
	close(c->fd); /* also removes it from the epoll set */
	free(c);
}

static void wait_until_due(struct conn *c, int ms)
{
	struct conn **p = &due_list;

	c->state = WAITING;
	c->due = http_now_ms() + ms;
	while (*p && (*p)->due <= c->due)
		p = &(*p)->next;
	c->next = *p;
	*p = c;
	want(c, 0);
}

static int take_request(struct conn *c);

/* Writes what the socket takes; returns -1 if the connection is finished or broken. */
static int on_write(struct conn *c)
{
	char buf[16384];
	uint64_t total = c->limit, n, body;
	ssize_t w;

	while (c->sent < total) {
		/* The head and as much of the body as fits go in one write, as real servers send
		 * them: written apart, the body would wait for the client's delayed ACK (Nagle). */
		n = 0;
		if (c->sent < c->head_len) {
			n = c->head_len - c->sent;
			memcpy(buf, c->head + c->sent, n);
		}
		if (c->sent + n < total) {
			body = total - c->sent - n < sizeof(buf) - n ? total - c->sent - n
								     : sizeof(buf) - n;
			http_body(&c->req, c->sent + n - c->head_len, buf + n, body);
			n += body;
		}
		w = write(c->fd, buf, n);
		if (w < 0 && errno == EAGAIN) {
			want(c, EPOLLOUT);
			return 0;
		}
		if (w < 0)
			return -1;
		c->sent += (uint64_t)w;
	}
	if (c->limit < c->head_len + c->req.body_len) {
		/* A stream's chunk is out: the next one after the pause, from the due list. */
		c->limit = c->head_len + http_stream_end(&c->req, ++c->chunk);
		wait_until_due(c, c->req.gap_ms);
		return 0;
	}
	if (!c->req.keepalive)
		return -1;
	c->state = READING;
	want(c, EPOLLIN);
	return take_request(c); /* a pipelined request may already be buffered */
}

/* Starts answering a buffered request, if a whole one is there. */
static int take_request(struct conn *c)
{
	int used = http_parse(c->in, c->have, &c->req);

	if (used <= 0)
		return used;
	memmove(c->in, c->in + used, c->have - (size_t)used);
	c->have -= (size_t)used;
	c->in[c->have] = '\0';
	c->head_len = (uint64_t)http_head(&c->req, c->head, sizeof(c->head));
	c->sent = 0;
	c->chunk = 0;
	c->limit = c->head_len + (c->req.chunks ? http_stream_end(&c->req, 0) : c->req.body_len);
	if (c->req.delay_ms > 0) {
		wait_until_due(c, c->req.delay_ms);
		return 0;
	}
	c->state = WRITING;
	return on_write(c);
}

static int on_read(struct conn *c)
{
	ssize_t r;

	do {
		r = read(c->fd, c->in + c->have, sizeof(c->in) - 1 - c->have);
		if (r < 0)
			return errno == EAGAIN ? 0 : -1;
		if (r == 0)
			return -1;
		c->have += (size_t)r;
		c->in[c->have] = '\0';
		if (take_request(c) < 0)
			return -1;
	} while (edge && c->state == READING);
	return 0;
}

static void on_accept(int lfd)
{
	struct epoll_event ev;
	struct conn *c;
	int fd;

	do {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				perror("accept4");
			return;
		}
		c = calloc(1, sizeof(*c));
		c->fd = fd;
		c->state = READING;
		ev = (struct epoll_event){ .events = EPOLLIN | edge, .data.ptr = c };
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	} while (edge);
}

static void fire_due(void)
{
	int64_t now = http_now_ms();
	struct conn *c;

	while (due_list && due_list->due <= now) {
		c = due_list;
		due_list = c->next;
		c->state = WRITING;
		if (on_write(c) < 0)
			drop(c);
	}
}

int main(int argc, char **argv)
{
	struct epoll_event ev, evs[256];
	struct options o;
	struct conn *c;
	int lfd, n, i, timeout;

	http_options(argc, argv, &o);
	edge = o.edge ? EPOLLET : 0;
	/* The epoll set first: once the port is announced, the process has all its fds. */
	ep = epoll_create1(EPOLL_CLOEXEC);
	lfd = http_listen(&o);
	fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	ev = (struct epoll_event){ .events = EPOLLIN | edge, .data.ptr = NULL };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		perror("epoll");
		return 1;
	}
	for (;;) {
		timeout = due_list ? (int)(due_list->due - http_now_ms()) : -1;
		n = epoll_wait(ep, evs, 256, due_list && timeout < 0 ? 0 : timeout);
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (!c)
				on_accept(lfd);
			else if ((c->state == READING && on_read(c) < 0) ||
				 (c->state == WRITING && (evs[i].events & EPOLLOUT) && on_write(c) < 0))
				drop(c);
		}
		fire_due();
	}
}
