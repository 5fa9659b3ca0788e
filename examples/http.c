/* SPDX-License-Identifier: MIT */
/* http.c: request parsing, response bytes and the listening socket for the example servers. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--bind ADDR] [--port N] [--backlog N] [--port-file FILE]\n"
		"          [--threads N] [--edge] [--reuseport]\n",
		prog);
	exit(2);
}

void http_options(int argc, char **argv, struct options *o)
{
	int i;

	*o = (struct options){ .bind = "127.0.0.1", .port = 8080, .backlog = 128, .threads = 4 };
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--edge") == 0)
			o->edge = 1;
		else if (strcmp(argv[i], "--reuseport") == 0)
			o->reuseport = 1;
		else if (i + 1 >= argc)
			usage(argv[0]);
		else if (strcmp(argv[i], "--bind") == 0)
			o->bind = argv[++i];
		else if (strcmp(argv[i], "--port") == 0)
			o->port = atoi(argv[++i]);
		else if (strcmp(argv[i], "--backlog") == 0)
			o->backlog = atoi(argv[++i]);
		else if (strcmp(argv[i], "--port-file") == 0)
			o->port_file = argv[++i];
		else if (strcmp(argv[i], "--threads") == 0)
			o->threads = atoi(argv[++i]);
		else
			usage(argv[0]);
	}
}

int http_socket(const struct options *o)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(o->port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(o->port) };
	int fd, one = 1, six = strchr(o->bind, ':') != NULL;

	fd = socket(six ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (o->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    inet_pton(six ? AF_INET6 : AF_INET, o->bind, six ? (void *)&a6.sin6_addr
							      : (void *)&a4.sin_addr) != 1 ||
	    bind(fd, six ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4,
		 six ? sizeof(a6) : sizeof(a4)) < 0) {
		perror("bind");
		exit(1);
	}
	return fd;
}

int http_port(int fd)
{
	struct sockaddr_storage got;
	socklen_t n = sizeof(got);

	if (getsockname(fd, (struct sockaddr *)&got, &n) < 0)
		return -1;
	return ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
					       : ((struct sockaddr_in *)&got)->sin_port);
}

void http_announce(const struct options *o, int port)
{
	char tmp[4096];
	FILE *f;

	if (o->port_file) {
		/* Written whole under a temporary name, so a reader never sees half a number. */
		snprintf(tmp, sizeof(tmp), "%s.tmp", o->port_file);
		if (!(f = fopen(tmp, "w")) || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
		    rename(tmp, o->port_file) < 0) {
			perror(o->port_file);
			exit(1);
		}
	}
	printf("listening on %s port %d\n", o->bind, port);
	fflush(stdout);
}

int http_listen(const struct options *o)
{
	int fd = http_socket(o);

	if (listen(fd, o->backlog) < 0) {
		perror("listen");
		exit(1);
	}
	http_announce(o, http_port(fd));
	return fd;
}

/* /stream/N/G, within bounds a test can use (1 to MAX_CHUNKS chunks, gaps up to MAX_GAP_MS);
 * anything else is not a stream. */
#define MAX_CHUNKS 100000
#define MAX_GAP_MS 600000

static int parse_stream(const char *path, struct request *req)
{
	int chunks, gap;

	if (sscanf(path, "/stream/%d/%d", &chunks, &gap) != 2 || chunks < 1 ||
	    chunks > MAX_CHUNKS || gap < 0 || gap > MAX_GAP_MS)
		return 0;
	req->chunks = chunks;
	req->gap_ms = gap;
	return 1;
}

static uint64_t digits(uint64_t n)
{
	uint64_t d = 1;

	while (n >= 10)
		n /= 10, d++;
	return d;
}

/* The digits of all the numbers 0..n-1 together. */
static uint64_t digits_below(uint64_t n)
{
	uint64_t total = 0, lo = 0, hi = 10, d = 1;

	for (; lo < n; lo = hi, hi *= 10, d++)
		total += ((n < hi ? n : hi) - lo) * d;
	return total;
}

uint64_t http_stream_end(const struct request *req, int i)
{
	uint64_t k = (uint64_t)i + 1;

	/* Chunk j is "chunk " j "/" N "\n": 8 bytes besides the digits of j and of N. */
	return k * (8 + digits((uint64_t)req->chunks)) + digits_below(k);
}

/* Body bytes [off, off+n) of a stream: the chunk lines from the one holding off. */
static void stream_body(const struct request *req, uint64_t off, char *out, size_t n)
{
	int lo = 0, hi = req->chunks - 1, mid, len;
	uint64_t start, skip;
	char line[40];

	while (lo < hi) { /* the first chunk that ends after off */
		mid = lo + (hi - lo) / 2;
		if (http_stream_end(req, mid) > off)
			hi = mid;
		else
			lo = mid + 1;
	}
	start = lo > 0 ? http_stream_end(req, lo - 1) : 0;
	for (; n > 0 && lo < req->chunks; lo++) {
		len = snprintf(line, sizeof(line), "chunk %d/%d\n", lo, req->chunks);
		skip = off - start;
		if ((uint64_t)len > skip) {
			size_t take = (uint64_t)len - skip < n ? (size_t)((uint64_t)len - skip) : n;

			memcpy(out, line + skip, take);
			out += take, n -= take, off += take;
		}
		start += (uint64_t)len;
	}
}

int http_parse(const char *buf, size_t len, struct request *req)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *p, *line;
	char path[128];
	unsigned long long n;
	int http11;

	if (!end)
		return len > 8192 ? -1 : 0;
	/* A POST is answered like a GET, and its body is not read: the server answers early, as
	 * one refusing an upload does. */
	if (sscanf(buf, "GET %127s HTTP/1.%d", path, &http11) != 2 &&
	    sscanf(buf, "POST %127s HTTP/1.%d", path, &http11) != 2)
		return -1;
	memset(req, 0, sizeof(*req));
	req->keepalive = http11 == 1;
	for (line = strstr(buf, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
		if (strncasecmp(line, "Connection:", 11) != 0)
			continue;
		for (p = line + 11; *p == ' '; p++)
			;
		if (strncasecmp(p, "close", 5) == 0)
			req->keepalive = 0;
		else if (strncasecmp(p, "keep-alive", 10) == 0)
			req->keepalive = 1;
	}
	if (sscanf(path, "/delay/%d", &req->delay_ms) == 1)
		snprintf(req->text, sizeof(req->text), "delayed %d\n", req->delay_ms);
	else if (sscanf(path, "/bytes/%llu", &n) == 1)
		req->pattern = 1, req->body_len = n;
	else if (parse_stream(path, req))
		req->body_len = http_stream_end(req, req->chunks - 1);
	else
		snprintf(req->text, sizeof(req->text), "hello\n");
	if (!req->pattern && !req->chunks)
		req->body_len = strlen(req->text);
	return (int)(end + 4 - buf);
}

int http_head(const struct request *req, char *buf, size_t n)
{
	return snprintf(buf, n,
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %llu\r\n"
			"Connection: %s\r\n\r\n",
			(unsigned long long)req->body_len, req->keepalive ? "keep-alive" : "close");
}

void http_body(const struct request *req, uint64_t off, char *out, size_t n)
{
	size_t i;

	if (req->chunks) {
		stream_body(req, off, out, n);
		return;
	}
	for (i = 0; i < n; i++)
		out[i] = req->pattern ? (char)('a' + (off + i) % 26) : req->text[off + i];
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A stream's chunks, each written whole, with the pause before each but the first; the first
 * goes out with the head (out, head bytes). */
static int write_stream(int fd, const struct request *req, char *out, int head)
{
	uint64_t start = 0, end;
	int i;

	for (i = 0; i < req->chunks; i++) {
		if (i > 0)
			sleep_ms(req->gap_ms);
		end = http_stream_end(req, i);
		http_body(req, start, out + head, (size_t)(end - start));
		if (write_all(fd, out, (size_t)head + (size_t)(end - start)) < 0)
			return -1;
		start = end;
		head = 0;
	}
	return 0;
}

void http_serve_blocking(int fd)
{
	char in[8192], out[16384];
	size_t have = 0;
	struct request req;
	uint64_t off;
	ssize_t r;
	int used, len, head;

	for (;;) {
		while ((used = http_parse(in, have, &req)) == 0) {
			r = read(fd, in + have, sizeof(in) - 1 - have);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return;
			have += (size_t)r;
			in[have] = '\0';
		}
		if (used < 0)
			return;
		memmove(in, in + used, have - (size_t)used);
		have -= (size_t)used;
		in[have] = '\0';
		if (req.delay_ms > 0)
			sleep_ms(req.delay_ms);
		/* The head goes out with the first part of the body, in one write: written apart,
		 * the body would wait for the client's delayed ACK (Nagle's algorithm). */
		head = http_head(&req, out, sizeof(out));
		if (req.chunks && write_stream(fd, &req, out, head) < 0)
			return;
		for (off = 0; !req.chunks && (head > 0 || off < req.body_len); off += (uint64_t)len) {
			len = req.body_len - off < sizeof(out) - (size_t)head
				      ? (int)(req.body_len - off)
				      : (int)sizeof(out) - head;
			http_body(&req, off, out + head, (size_t)len);
			if (write_all(fd, out, (size_t)(head + len)) < 0)
				return;
			head = 0;
		}
		if (!req.keepalive)
			return;
	}
}

int64_t http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *serve_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;

	http_serve_blocking(fd);
	close(fd);
	return NULL;
}

int http_serve_thread(int fd)
{
	pthread_t t;

	if (pthread_create(&t, NULL, serve_thread, (void *)(intptr_t)fd) != 0) {
		close(fd);
		return -1;
	}
	pthread_detach(t);
	return 0;
}
