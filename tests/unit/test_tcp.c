/* SPDX-License-Identifier: MIT */
/* test_tcp: the connection classifier, the SYN filter and the count of connections not yet
 * accepted, on real loopback sockets. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/log.h"
#include "lastcall/real.h"
#include "lastcall/tcp.h"

struct lc_real lc_real;

/* Which ways of counting tcp.c said it used (it says so once per process and way). */
static bool said_refs, said_diag;

void lc_log(int level, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	said_refs |= strstr(line, "reference count") != NULL;
	said_diag |= strstr(line, "sock_diag") != NULL;
}

struct pair {
	int lfd, client, server;
};

static int listener(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static int connect_to(int lfd, int nonblock)
{
	struct sockaddr_in a;
	socklen_t n = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);

	getsockname(lfd, (struct sockaddr *)&a, &n);
	if (connect(fd, (struct sockaddr *)&a, n) < 0)
		assert_int_equal(errno, EINPROGRESS);
	return fd;
}

static int setup(void **state)
{
	static struct pair p;

	lc_real.close = close;
	lc_real.bind = bind;
	lc_real.listen = listen;
	p.lfd = listener();
	p.client = connect_to(p.lfd, 0);
	p.server = accept(p.lfd, NULL, NULL);
	assert_true(p.server >= 0);
	*state = &p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	close(p->client);
	close(p->server);
	close(p->lfd);
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* Reads exactly n bytes. */
static void drain(int fd, size_t n)
{
	char buf[65536];
	ssize_t r;

	while (n > 0 && (r = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf))) > 0)
		n -= (size_t)r;
	assert_int_equal(n, 0);
}

static void test_tcp_fresh_then_busy(void **state)
{
	struct pair *p = *state;
	int64_t quiet;

	assert_int_equal(lc_tcp_classify(p->server, &quiet), LC_CONN_FRESH);
	assert_false(lc_tcp_pending(p->server));
	assert_int_equal(write(p->client, "GET /\r\n\r\n", 9), 9);
	sleep_ms(5);
	/* Unread request bytes. */
	assert_int_equal(lc_tcp_classify(p->server, &quiet), LC_CONN_BUSY);
	assert_true(lc_tcp_pending(p->server));
	/* Read, not answered yet: a request is being worked on. */
	drain(p->server, 9);
	assert_int_equal(lc_tcp_classify(p->server, &quiet), LC_CONN_BUSY);
}

static void test_tcp_answered_then_quiet(void **state)
{
	struct pair *p = *state;
	int64_t quiet = -1;

	assert_int_equal(write(p->client, "GET /\r\n\r\n", 9), 9);
	drain(p->server, 9);
	sleep_ms(10); /* a later jiffy than the request */
	assert_int_equal(write(p->server, "reply\n", 6), 6);
	drain(p->client, 6);
	sleep_ms(5);
	assert_int_equal(lc_tcp_classify(p->server, &quiet), LC_CONN_ANSWERED);
	assert_false(lc_tcp_pending(p->server));
	assert_true(quiet >= 0 && quiet < 1000);
	/* Quiet grows while nothing crosses the connection... */
	sleep_ms(60);
	assert_int_equal(lc_tcp_classify(p->server, &quiet), LC_CONN_ANSWERED);
	assert_true(quiet >= 40);
	/* ...and the next piece of a reply streamed with pauses starts it again. */
	assert_int_equal(write(p->server, "more\n", 5), 5);
	drain(p->client, 5);
	assert_int_equal(lc_tcp_classify(p->server, &quiet), LC_CONN_ANSWERED);
	assert_true(quiet < 40);
	/* The next request arrives: busy again. */
	sleep_ms(10);
	assert_int_equal(write(p->client, "GET /\r\n\r\n", 9), 9);
	sleep_ms(5);
	assert_int_equal(lc_tcp_classify(p->server, &quiet), LC_CONN_BUSY);
	drain(p->server, 9);
	assert_int_equal(lc_tcp_classify(p->server, &quiet), LC_CONN_BUSY);
}

static void test_tcp_unsent_reply_is_busy(void **state)
{
	struct pair *p = *state;
	static char big[4 << 20];
	int64_t quiet;
	ssize_t w;
	int small = 4096;

	assert_int_equal(write(p->client, "GET /big\r\n\r\n", 12), 12);
	drain(p->server, 12);
	setsockopt(p->client, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	fcntl(p->server, F_SETFL, O_NONBLOCK);
	/* The client reads nothing: the reply piles up in the server's send queue. */
	w = write(p->server, big, sizeof(big));
	assert_true(w > 0);
	/* By the times the server spoke last; the unsent bytes make it busy. */
	assert_int_equal(lc_tcp_classify(p->server, &quiet), LC_CONN_ANSWERED);
	assert_true(lc_tcp_pending(p->server));
}

/* A reply still on its way: delivering while the client takes it, not once it stalls, not
 * once everything is acknowledged. */
static void test_tcp_delivering(void **state)
{
	struct pair *p = *state;
	static char big[4 << 20];
	ssize_t w;
	int i;

	assert_false(lc_tcp_delivering(p->server, 60000)); /* nothing written */
	/* Default buffers: the client's fills, the rest waits in the server's; and taking it
	 * all at the end is quick (a tiny receive buffer would take minutes). */
	fcntl(p->server, F_SETFL, O_NONBLOCK);
	w = write(p->server, big, sizeof(big));
	assert_true(w > 0);
	assert_true(lc_tcp_delivering(p->server, 60000));
	/* The client reads nothing: no data has gone out for 40 ms. */
	sleep_ms(40);
	assert_false(lc_tcp_delivering(p->server, 10));
	assert_true(lc_tcp_delivering(p->server, 60000));
	/* The client takes it all: acknowledged, nothing to protect. */
	drain(p->client, (size_t)w);
	for (i = 0; i < 100 && lc_tcp_delivering(p->server, 60000); i++)
		sleep_ms(10);
	assert_false(lc_tcp_delivering(p->server, 60000));
}

static void test_tcp_not_tcp(void **state)
{
	int sv[2];
	int64_t quiet;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(lc_tcp_classify(sv[0], &quiet), LC_CONN_OTHER);
	assert_int_equal(lc_tcp_drop_syns(sv[0]), ENOTSUP);
	assert_false(lc_tcp_delivering(sv[0], 60000));
	assert_int_equal(lc_tcp_handshakes(sv[0]), -1);
	close(sv[0]);
	close(sv[1]);
}

static void test_tcp_syn_filter(void **state)
{
	struct pair *p = *state;
	struct pollfd pf;
	int queued, late, r;

	assert_int_equal(lc_tcp_handshakes(p->lfd), 0); /* setup's connection is accepted */
	queued = connect_to(p->lfd, 0);			 /* completes before the filter */
	assert_int_equal(lc_tcp_handshakes(p->lfd), 1);	 /* and waits to be accepted */
	r = lc_tcp_drop_syns(p->lfd);
	if (r == EPERM) {
		skip(); /* no CAP_NET_ADMIN here: the fallback is tested end to end */
		return;
	}
	assert_int_equal(r, 0);
	assert_int_equal(lc_tcp_drop_syns(p->lfd), EEXIST); /* a filter is there now */
	late = connect_to(p->lfd, 1);
	pf = (struct pollfd){ .fd = late, .events = POLLOUT };
	/* The new attempt's SYN is dropped: no handshake within 300 ms (the retry is at 1 s). */
	assert_int_equal(poll(&pf, 1, 300), 0);
	/* The connection queued before the filter is still there, whole. */
	r = accept(p->lfd, NULL, NULL);
	assert_true(r >= 0);
	assert_int_equal(write(queued, "x", 1), 1);
	drain(r, 1);
	assert_int_equal(lc_tcp_handshakes(p->lfd), 0);
	close(r);
	close(queued);
	close(late);
}

/* Waits up to 2 s for lc_tcp_handshakes(lfd) to be n; returns it as it is then. */
static int handshakes_become(int lfd, int n)
{
	int i, got = lc_tcp_handshakes(lfd);

	for (i = 0; i < 200 && got != n; i++) {
		sleep_ms(10);
		got = lc_tcp_handshakes(lfd);
	}
	return got;
}

/* Connections waiting in lfd's accept queue (TCP_INFO on a listener). */
static int queued(int lfd)
{
	struct tcp_info ti;
	socklen_t n = sizeof(ti);

	return getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &n) == 0 ? (int)ti.tcpi_unacked : -1;
}

#define HANDSHAKES 3

static const char cannot_listen[] = "cannot listen on that address here";

/* Handshakes under way on demand: with TCP_DEFER_ACCEPT the listener drops a client's final
 * ACK and keeps its request socket in SYN_RECV until data comes, as for an ACK lost on the way.
 * A listener on addr (IPv4 or IPv6) gets HANDSHAKES clients, the first on client_addr, the
 * others on last_addr; they are counted under way, then done and queued, then accepted.
 * Returns "counted", or what went wrong, or cannot_listen. */
static const char *handshakes_counted(const char *addr, const char *client_addr,
				      const char *last_addr)
{
	static char why[128];
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr_storage l;
	socklen_t len = sizeof(l);
	int six = strchr(addr, ':') != NULL, defer = 30, lfd, c[HANDSHAKES], s, i, got, port;

	lfd = socket(six ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	inet_pton(six ? AF_INET6 : AF_INET, addr, six ? (void *)&a6.sin6_addr : &a4.sin_addr);
	if (bind(lfd, six ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4,
		 six ? sizeof(a6) : sizeof(a4)) < 0) {
		close(lfd);
		return cannot_listen;
	}
	assert_int_equal(setsockopt(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	getsockname(lfd, (struct sockaddr *)&l, &len);
	port = ntohs(six ? ((struct sockaddr_in6 *)&l)->sin6_port : ((struct sockaddr_in *)&l)->sin_port);
	snprintf(why, sizeof(why), "no handshake yet: %d", got = lc_tcp_handshakes(lfd));
	if (got != 0)
		return why;
	for (i = 0; i < HANDSHAKES; i++) {
		const char *to = i == 0 ? client_addr : last_addr;
		struct sockaddr_in6 t6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
		struct sockaddr_in t4 = { .sin_family = AF_INET, .sin_port = htons(port) };
		int cs = strchr(to, ':') != NULL;

		inet_pton(cs ? AF_INET6 : AF_INET, to, cs ? (void *)&t6.sin6_addr : &t4.sin_addr);
		c[i] = socket(cs ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(c[i], cs ? (struct sockaddr *)&t6 : (struct sockaddr *)&t4,
					 cs ? sizeof(t6) : sizeof(t4)),
				 0);
	}
	snprintf(why, sizeof(why), "%d under way: %d", HANDSHAKES,
		 got = handshakes_become(lfd, HANDSHAKES));
	if (got != HANDSHAKES)
		return why;
	/* Data completes the handshakes: waiting to be accepted, still counted. */
	for (i = 0; i < HANDSHAKES; i++)
		assert_int_equal(write(c[i], "x", 1), 1);
	for (i = 0; i < 200 && queued(lfd) < HANDSHAKES; i++)
		sleep_ms(10);
	snprintf(why, sizeof(why), "%d queued (%d): %d", HANDSHAKES, queued(lfd),
		 got = lc_tcp_handshakes(lfd));
	if (got != HANDSHAKES)
		return why;
	for (i = 0; i < HANDSHAKES; i++) {
		assert_true((s = accept(lfd, NULL, NULL)) >= 0);
		close(s);
		close(c[i]);
	}
	snprintf(why, sizeof(why), "all accepted: %d", got = handshakes_become(lfd, 0));
	close(lfd);
	return got == 0 ? "counted" : why;
}

/* Whether a SYN filter can be attached here (CAP_NET_ADMIN). */
static bool can_filter(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), r = lc_tcp_drop_syns(fd);

	close(fd);
	return r == 0;
}

/* From the listener's reference count, wherever /proc/net/tcp can be read and the listener tcp.c
 * measures the count of one with no request socket on can have a SYN filter. */
static void test_tcp_handshakes(void **state)
{
	const char *why;

	(void)state;
	assert_string_equal(handshakes_counted("127.0.0.1", "127.0.0.1", "127.0.0.1"), "counted");
	/* IPv4 clients of an IPv6 listener on :: hold its references too. */
	why = handshakes_counted("::", "::1", "127.0.0.1");
	if (why != cannot_listen)
		assert_string_equal(why, "counted");
	if (access("/proc/net/tcp", R_OK) == 0 && can_filter()) {
		assert_true(said_refs);
		assert_false(said_diag);
	}
	if (why == cannot_listen) {
		fprintf(stderr, "IPv6 part skipped: %s\n", why);
		skip();
	}
}

/* From sock_diag, when /proc/net/tcp cannot be read: in a child, with an empty /proc in a
 * mount namespace of its own (root only). */
static void test_tcp_handshakes_fallback(void **state)
{
	const char *why;
	int status;
	pid_t pid;

	(void)state;
	if ((pid = fork()) == 0) {
		if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("none", "/proc", "tmpfs", 0, NULL) < 0)
			_exit(77);
		why = handshakes_counted("127.0.0.1", "127.0.0.1", "127.0.0.1");
		if (strcmp(why, "counted") == 0 && !said_diag)
			why = "not counted with sock_diag";
		if (strcmp(why, "counted") == 0)
			why = handshakes_counted("::", "::1", "127.0.0.1");
		if (strcmp(why, "counted") != 0 && why != cannot_listen)
			fprintf(stderr, "fallback: %s\n", why);
		_exit(strcmp(why, "counted") == 0 || why == cannot_listen ? 0 : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		fprintf(stderr, "skipped: no mount namespace of its own here (not root)\n");
		skip();
		return;
	}
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tcp_fresh_then_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_answered_then_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_unsent_reply_is_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_delivering, setup, teardown),
		cmocka_unit_test(test_tcp_not_tcp),
		cmocka_unit_test_setup_teardown(test_tcp_syn_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_handshakes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_handshakes_fallback, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
