/* SPDX-License-Identifier: MIT */
/* http.h: the little HTTP/1.1 the example servers speak, enough for curl, wrk and the tests.
 *   GET /              "hello\n"
 *   GET /delay/MS      waits MS milliseconds, then "delayed MS\n"
 *   GET /bytes/N       N bytes of the pattern "abc...xyzabc..."
 *   GET /stream/N/G    N chunks, the line "chunk I/N\n" each, G milliseconds apart: the head
 *                      and chunk 0 at once, then a pause of G ms before each further chunk
 *                      (a reply streamed with pauses; Content-Length gives the whole length)
 * Keep-alive is HTTP/1.1's default; "Connection: close" ends the connection after the reply.
 * POST is answered like GET without reading the body (an early answer).
 * None of this knows about lastcall: these are ordinary servers. */
#ifndef EXAMPLES_HTTP_H
#define EXAMPLES_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct options {
	const char *bind;      /* --bind ADDR (127.0.0.1) */
	int port;	       /* --port N (8080; 0 picks a free one) */
	int backlog;	       /* --backlog N (128) */
	const char *port_file; /* --port-file F: write the port there once listening */
	int threads;	       /* --threads N (pool size, 4) */
	int edge;	       /* --edge: edge-triggered epoll */
	int reuseport;	       /* --reuseport: SO_REUSEPORT listeners (prefork) */
};

/* A request, parsed far enough to answer it. */
struct request {
	int delay_ms;	   /* /delay/MS */
	uint64_t body_len; /* bytes of body to send */
	int pattern;	   /* body is the /bytes pattern (else text[]) */
	int chunks;	   /* /stream/N/G: N (0: not a stream) */
	int gap_ms;	   /* /stream/N/G: G */
	int keepalive;	   /* the connection stays open after the reply */
	char text[64];	   /* short bodies */
};

/* Parses --options; exits 2 with a message on a bad one. */
void http_options(int argc, char **argv, struct options *o);

/* A TCP socket bound to --bind and --port (SO_REUSEADDR, and SO_REUSEPORT with --reuseport),
 * not listening yet. Exits 1 on failure. */
int http_socket(const struct options *o);

/* The port fd is bound to. */
int http_port(int fd);

/* Writes --port-file (whole, then renamed) and prints "listening on ADDR port PORT". */
void http_announce(const struct options *o, int port);

/* http_socket(), listen(), http_announce(): the usual start of a server. */
int http_listen(const struct options *o);

/* Looks for a whole request head in buf[0..len); returns its length (the bytes to consume), 0 if
 * more is needed, -1 if it is malformed or too long. */
int http_parse(const char *buf, size_t len, struct request *req);

/* Formats the response head into buf (size n); returns its length. */
int http_head(const struct request *req, char *buf, size_t n);

/* Copies body bytes [off, off+n) of req's response into out. */
void http_body(const struct request *req, uint64_t off, char *out, size_t n);

/* A stream's body offset where chunk i ends (the length of chunks 0..i). */
uint64_t http_stream_end(const struct request *req, int i);

/* Blocking servers: reads requests from fd and answers them until the client closes, the
 * request says close, or an error. Returns when the connection should be closed. */
void http_serve_blocking(int fd);

/* Thread per connection: serves fd (http_serve_blocking, then close) on a detached thread of
 * its own. Returns 0, or -1 with fd closed if no thread could be made. */
int http_serve_thread(int fd);

/* Milliseconds on the monotonic clock. */
int64_t http_now_ms(void);

#endif
