/* SPDX-License-Identifier: MIT */
/* test_tcp: the connection classifier and the SYN filter, on real loopback sockets. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/real.h"
#include "lastcall/tcp.h"

struct lc_real lc_real;

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

	queued = connect_to(p->lfd, 0); /* completes before the filter */
	assert_int_equal(lc_tcp_handshakes(p->lfd), 0);
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
	close(r);
	close(queued);
	close(late);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
