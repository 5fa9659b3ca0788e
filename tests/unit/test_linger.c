/* SPDX-License-Identifier: MIT */
/* test_linger: lingering closes on real AF_UNIX socketpairs. A connection the program closes
 * during a drain lingers, as lastcall's copy, until the peer closes or LC_LINGER_MS pass
 * (longer while its reply is delivered); one lastcall ends in place lingers as the program's;
 * service() counts what is left; release, drop_all, fork_child and a forked-shared fd. The fd
 * table, lc_children_share and lc_tcp_delivering are fakes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/children.h"
#include "lastcall/fds.h"
#include "lastcall/linger.h"
#include "lastcall/real.h"
#include "lastcall/tcp.h"

/* fakes: lc_real, the fd table of fds.c, children.c's share test and tcp.c's delivery test */
struct lc_real lc_real;

#define TABLE 256
static struct lc_fd table[TABLE];
struct lc_fd *lc_fds = table;
int lc_fds_n = TABLE;
int lc_fds_hi;

static int closes, epoll_creates, forgotten = -1;

static int counting_close(int fd)
{
	closes++;
	return close(fd);
}

static int counting_epoll_create1(int flags)
{
	epoll_creates++;
	return epoll_create1(flags);
}

void lc_fds_set(int fd, enum lc_kind kind, uint16_t li)
{
	assert_true(fd >= 0 && fd < TABLE);
	table[fd].li = li;
	table[fd].kind = (uint8_t)kind;
	if (fd >= lc_fds_hi)
		lc_fds_hi = fd + 1;
}

static void (*mover)(int from, int to); /* what linger.c gave lc_fds_private() */
int lc_draining;

void lc_fds_private(int fd, void (*moved)(int from, int to))
{
	mover = moved;
	lc_fds_set(fd, LC_FD_PRIVATE, 0);
}

void lc_fds_release(int fd)
{
	table[fd].kind = LC_FD_NONE;
}

void lc_fds_epoll_forget(int fd)
{
	forgotten = fd;
}

static bool shares;
static int share_asks;

bool lc_children_share(int fd)
{
	(void)fd;
	share_asks++;
	return shares;
}

/* fds.c: whether the program holds another copy of a copied connection. */
static bool copy_open;
static int copy_asks;

bool lc_fds_copy_open(int fd)
{
	(void)fd;
	copy_asks++;
	return copy_open;
}

static bool delivering;
static int delivery_asks, delivery_fd = -1;

bool lc_tcp_delivering(int fd, int64_t quiet_ms)
{
	assert_int_equal(quiet_ms, LC_LINGER_MS);
	delivery_asks++;
	delivery_fd = fd;
	return delivering;
}

/* A connection: s[0] the server's end (a CONN entry of pid 1000), s[1] the client's. */
static void conn(int s[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
	assert_true(s[0] < TABLE && s[1] < TABLE);
	table[s[0]].word = lc_fd_word(LC_FD_CONN, 0, 0, 1000);
	if (s[0] >= lc_fds_hi)
		lc_fds_hi = s[0] + 1;
}

/* lastcall's lingering copies, lowest first: how many, and the first in *fd. */
static int copies(int *fd)
{
	int i, n = 0;

	for (i = 0; i < lc_fds_hi; i++)
		if (table[i].kind == LC_FD_LINGER && n++ == 0 && fd)
			*fd = i;
	return n;
}

/* The peer has seen lastcall stop writing: EOF, with nothing before it. */
static bool peer_sees_eof(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Calls lc_linger_service() every 20 ms until it returns want or limit_ms pass; returns how
 * long that took, or -1 on time-out. */
static int64_t service_until(int want, int limit_ms)
{
	int64_t t0 = now_ms();

	while (lc_linger_service() != want) {
		if (now_ms() - t0 > limit_ms)
			return -1;
		poll(NULL, 0, 20);
	}
	return now_ms() - t0;
}

static int setup(void **state)
{
	(void)state;
	memset(table, 0, sizeof(table));
	lc_fds_hi = 0;
	lc_real.close = counting_close;
	lc_real.epoll_create1 = counting_epoll_create1;
	closes = epoll_creates = share_asks = copy_asks = delivery_asks = 0;
	forgotten = delivery_fd = -1;
	shares = copy_open = delivering = false;
	assert_int_equal(lc_linger_setup(), 0);
	return 0;
}

/* What a fork child does: lastcall's copies and its epoll set closed, the counts cleared. */
static int teardown(void **state)
{
	(void)state;
	lc_linger_fork_child();
	memset(table, 0, sizeof(table));
	return 0;
}

static void test_linger_setup_once(void **state)
{
	int ep = lc_linger_fd();

	(void)state;
	assert_true(ep >= 0);
	assert_int_equal(epoll_creates, 1);
	assert_int_equal(table[ep].kind, LC_FD_PRIVATE); /* the program's close() cannot take it */
	assert_int_equal(lc_linger_setup(), 0);
	assert_int_equal(epoll_creates, 1);
	assert_int_equal(lc_linger_fd(), ep);
	assert_int_equal(lc_linger_service(), 0); /* nothing lingers */
}

/* The program closes a connection during a drain: lastcall keeps a copy that stops writing and
 * reads until the client closes its side. */
static void test_linger_adopt_until_peer_closes(void **state)
{
	char big[65536];
	int s[2], mine = -1, pending = -1;

	(void)state;
	conn(s);
	errno = 4321;
	assert_int_equal(lc_linger_adopt(s[0]), 0);
	assert_int_equal(errno, 4321);
	assert_int_equal(forgotten, s[0]); /* out of the program's epoll sets first */
	assert_int_equal(share_asks, 0);   /* not forked: no child asked about */
	assert_int_equal(copies(&mine), 1);
	assert_true(mine != s[0]);
	assert_true(table[mine].flags & LC_FDF_LINGERING);
	assert_true(fcntl(mine, F_GETFD) & FD_CLOEXEC);
	close(s[0]); /* the program's close, after the adopt */
	assert_true(peer_sees_eof(s[1]));
	assert_int_equal(lc_linger_service(), 1);
	/* What the client still sends is read and thrown away, so no reset is sent. */
	memset(big, 'x', sizeof(big));
	assert_int_equal(write(s[1], big, sizeof(big)), (ssize_t)sizeof(big));
	assert_int_equal(lc_linger_service(), 1);
	assert_int_equal(ioctl(mine, FIONREAD, &pending), 0);
	assert_int_equal(pending, 0);
	assert_true(is_open(mine));
	/* The client closes: the copy is closed and its entry freed. */
	closes = 0;
	close(s[1]);
	assert_int_equal(lc_linger_service(), 0);
	assert_int_equal(closes, 1);
	assert_false(is_open(mine));
	assert_int_equal(table[mine].kind, LC_FD_NONE);
	assert_false(table[mine].flags & LC_FDF_LINGERING);
}

/* service() counts what is left, one connection at a time. */
static void test_linger_service_counts(void **state)
{
	int a[2], b[2], c[2];

	(void)state;
	conn(a);
	conn(b);
	conn(c);
	assert_int_equal(lc_linger_adopt(a[0]), 0);
	assert_int_equal(lc_linger_adopt(b[0]), 0);
	assert_int_equal(lc_linger_adopt(c[0]), 0);
	close(a[0]);
	close(b[0]);
	close(c[0]);
	assert_int_equal(copies(NULL), 3);
	assert_int_equal(lc_linger_service(), 3);
	close(b[1]);
	assert_int_equal(lc_linger_service(), 2);
	assert_int_equal(lc_linger_service(), 2); /* nothing new: the same */
	close(a[1]);
	close(c[1]);
	assert_int_equal(lc_linger_service(), 0);
	assert_int_equal(copies(NULL), 0);
}

/* LC_LINGER_MS after the close, a copy whose client keeps its side open is closed, unless its
 * reply is still being delivered: then its time is renewed. A connection ended in place goes
 * at its time whatever is in flight: the program still holds it. */
static void test_linger_time_is_up(void **state)
{
	int ours[2], theirs[2], mine = -1;
	int64_t took;

	(void)state;
	conn(ours);
	conn(theirs);
	assert_int_equal(lc_linger_adopt(ours[0]), 0);
	close(ours[0]);
	assert_int_equal(copies(&mine), 1);
	lc_linger_end(theirs[0]);
	assert_int_equal(lc_linger_service(), 2);
	assert_int_equal(delivery_asks, 0); /* nobody's time is up yet */
	delivering = true;
	took = service_until(1, LC_LINGER_MS + 1000);
	assert_true(took >= 0);
	assert_true(delivery_asks > 0);
	assert_int_equal(delivery_fd, mine); /* asked about ours only */
	assert_true(is_open(mine));
	assert_true(is_open(theirs[0]));		   /* the program's: not lastcall's to close */
	assert_false(table[theirs[0]].flags & LC_FDF_LINGERING); /* but no longer lingering */
	assert_int_equal(table[theirs[0]].kind, LC_FD_CONN);
	/* Renewed for LC_LINGER_MS; once the reply is in, it ends at its next time. */
	assert_int_equal(lc_linger_service(), 1);
	delivering = false;
	took = service_until(0, 2 * LC_LINGER_MS + 500);
	assert_true(took >= 0);
	assert_false(is_open(mine));
	close(ours[1]);
	close(theirs[0]);
	close(theirs[1]);
}

/* Without a peer and without delivery, the copy goes LC_LINGER_MS after the close: not
 * before, not long after. */
static void test_linger_time_bounds(void **state)
{
	int s[2];
	int64_t took;

	(void)state;
	conn(s);
	assert_int_equal(lc_linger_adopt(s[0]), 0);
	close(s[0]);
	took = service_until(0, LC_LINGER_MS + 1000);
	assert_true(took >= LC_LINGER_MS - 50); /* clocks in ms: a tick of rounding */
	assert_true(took <= LC_LINGER_MS + 500);
	assert_int_equal(copies(NULL), 0);
	close(s[1]);
}

/* lastcall ends a connection the program still holds: it stops writing and lingers on the
 * program's fd, once, without closing it. */
static void test_linger_end_in_place(void **state)
{
	int s[2];

	(void)state;
	conn(s);
	closes = 0;
	lc_linger_end(s[0]);
	assert_int_equal(table[s[0]].kind, LC_FD_CONN);
	assert_int_equal(table[s[0]].owner, 1000); /* still the connection of the process */
	assert_int_equal(table[s[0]].flags & (LC_FDF_ENDED | LC_FDF_LINGERING),
			 LC_FDF_ENDED | LC_FDF_LINGERING);
	assert_int_equal(copies(NULL), 0); /* no copy: the program's fd lingers */
	assert_true(peer_sees_eof(s[1]));
	assert_int_equal(lc_linger_service(), 1);
	lc_linger_end(s[0]); /* ended once only */
	assert_int_equal(lc_linger_service(), 1);
	close(s[1]);
	assert_int_equal(lc_linger_service(), 0);
	assert_int_equal(closes, 0);
	assert_true(is_open(s[0]));
	assert_int_equal(table[s[0]].flags & (LC_FDF_ENDED | LC_FDF_LINGERING), LC_FDF_ENDED);
	lc_linger_end(s[0]); /* ended: never lingers again */
	assert_int_equal(lc_linger_service(), 0);
	assert_false(table[s[0]].flags & LC_FDF_LINGERING);
	lc_linger_end(-1);	  /* outside the table: nothing */
	lc_linger_end(TABLE + 1); /* outside the table: nothing */
	assert_int_equal(lc_linger_service(), 0);
	close(s[0]);
}

/* The program closes a connection that lingers in place: its fd leaves the set, the copy takes
 * over, and it is counted once. */
static void test_linger_adopt_after_end(void **state)
{
	int s[2], mine = -1;

	(void)state;
	conn(s);
	lc_linger_end(s[0]);
	assert_int_equal(lc_linger_service(), 1);
	assert_int_equal(lc_linger_adopt(s[0]), 0);
	assert_false(table[s[0]].flags & LC_FDF_LINGERING);
	close(s[0]);
	assert_int_equal(copies(&mine), 1);
	assert_int_equal(lc_linger_service(), 1);
	close(s[1]);
	assert_int_equal(lc_linger_service(), 0);
	assert_false(is_open(mine));
}

/* dup2() wants the number of a lingering copy: it is finished at once. */
static void test_linger_release_on_dup(void **state)
{
	int s[2], t[2], mine = -1;

	(void)state;
	conn(s);
	conn(t);
	assert_int_equal(lc_linger_adopt(s[0]), 0);
	close(s[0]);
	assert_int_equal(copies(&mine), 1);
	assert_int_equal(lc_linger_service(), 1);
	closes = 0;
	lc_linger_release(mine);
	assert_int_equal(closes, 1);
	assert_false(is_open(mine));
	assert_int_equal(table[mine].kind, LC_FD_NONE);
	assert_int_equal(lc_linger_service(), 0);
	/* Not lingering: nothing to release, nothing closed. */
	lc_linger_release(t[0]);
	assert_int_equal(closes, 1);
	assert_true(is_open(t[0]));
	close(s[1]);
	close(t[0]);
	close(t[1]);
}

/* A connection flagged flag (FORKED, COPIED) is closed while *held says the socket is still
 * open elsewhere (asks counts the questions): no linger, no shutdown, errno kept, the close
 * only drops a reference. Once it is held nowhere else, it lingers as any other. */
static void held_elsewhere(int flag, bool *held, const int *asks)
{
	int s[2];
	char c;

	conn(s);
	table[s[0]].flags |= (uint8_t)flag;
	*held = true;
	errno = 99;
	assert_int_equal(lc_linger_adopt(s[0]), -1);
	assert_int_equal(errno, 99);
	assert_int_equal(*asks, 1);
	assert_int_equal(copies(NULL), 0);
	assert_int_equal(lc_linger_service(), 0);
	assert_int_equal(forgotten, -1);
	assert_int_equal(recv(s[1], &c, 1, MSG_DONTWAIT), -1); /* not shut down: no EOF */
	assert_int_equal(errno, EAGAIN);
	*held = false;
	assert_int_equal(lc_linger_adopt(s[0]), 0);
	assert_int_equal(*asks, 2);
	assert_int_equal(copies(NULL), 1);
	assert_true(peer_sees_eof(s[1]));
	close(s[0]);
	close(s[1]);
	assert_int_equal(lc_linger_service(), 0);
}

/* A fork-per-connection server's close of its copy, while a child serves the client: it would
 * cut the child's reply. */
static void test_linger_forked_shared(void **state)
{
	(void)state;
	held_elsewhere(LC_FDF_FORKED, &shares, &share_asks);
}

/* The program closes one of its copies of a connection (dup2, dup3), the other still serving
 * the client (mod_cgid's daemon, before it forks the CGI script). */
static void test_linger_copy_open(void **state)
{
	(void)state;
	held_elsewhere(LC_FDF_COPIED, &copy_open, &copy_asks);
}

/* No epoll set (not set up, or a fork child that has none yet): the caller just closes. */
static void test_linger_adopt_without_set(void **state)
{
	int s[2];

	(void)state;
	lc_linger_fork_child(); /* the set is gone */
	assert_int_equal(lc_linger_fd(), -1);
	conn(s);
	closes = 0;
	errno = 7;
	assert_int_equal(lc_linger_adopt(s[0]), -1);
	assert_int_equal(errno, 7);
	assert_int_equal(closes, 1); /* the copy it made */
	assert_int_equal(copies(NULL), 0);
	lc_linger_end(s[0]); /* no set: marked ended, nothing lingers */
	assert_false(table[s[0]].flags & LC_FDF_LINGERING);
	assert_int_equal(lc_linger_service(), 0);
	close(s[0]);
	close(s[1]);
}

/* The process ends: every copy is closed, the program's ended fds are left to it. */
static void test_linger_drop_all(void **state)
{
	int a[2], b[2], c[2], first = -1;

	(void)state;
	conn(a);
	conn(b);
	conn(c);
	assert_int_equal(lc_linger_adopt(a[0]), 0);
	assert_int_equal(lc_linger_adopt(b[0]), 0);
	close(a[0]);
	close(b[0]);
	lc_linger_end(c[0]);
	assert_int_equal(copies(&first), 2);
	assert_int_equal(lc_linger_service(), 3);
	closes = 0;
	lc_linger_drop_all();
	assert_int_equal(closes, 2);
	assert_int_equal(copies(NULL), 0);
	assert_false(is_open(first));
	assert_true(is_open(c[0]));
	assert_false(table[c[0]].flags & LC_FDF_LINGERING);
	assert_int_equal(lc_linger_service(), 0);
	lc_linger_drop_all(); /* nothing left: nothing more closed */
	assert_int_equal(closes, 2);
	close(a[1]);
	close(b[1]);
	close(c[0]);
	close(c[1]);
}

/* In a fork child the parent's copies and set are closed; the child makes its own set. */
static void test_linger_fork_child(void **state)
{
	int s[2], mine = -1, ep = lc_linger_fd();

	(void)state;
	conn(s);
	assert_int_equal(lc_linger_adopt(s[0]), 0);
	close(s[0]);
	assert_int_equal(copies(&mine), 1);
	closes = 0;
	lc_linger_fork_child();
	assert_int_equal(closes, 2); /* the copy and the set */
	assert_false(is_open(mine));
	assert_false(is_open(ep));
	assert_int_equal(table[ep].kind, LC_FD_NONE);
	assert_int_equal(lc_linger_fd(), -1);
	assert_int_equal(lc_linger_service(), 0);
	assert_int_equal(lc_linger_setup(), 0);
	assert_int_equal(epoll_creates, 2);
	assert_true(lc_linger_fd() >= 0);
	close(s[1]);
}

/* The child's own drain after a fork: the parent's lingers are not counted, not finished, and
 * do not make the child's own linger look finished. */
static void test_linger_fork_child_own_drain(void **state)
{
	int a[2], b[2];

	(void)state;
	conn(a);
	assert_int_equal(lc_linger_adopt(a[0]), 0);
	close(a[0]);
	lc_linger_fork_child();
	assert_int_equal(lc_linger_setup(), 0);
	conn(b);
	assert_int_equal(lc_linger_adopt(b[0]), 0);
	close(b[0]);
	assert_int_equal(lc_linger_service(), 1); /* b's copy, still lingering */
	close(b[1]);
	assert_int_equal(lc_linger_service(), 0);
	close(a[1]);
}

/* The program's dup2() takes the set's number: the set answers at the new one. */
static void test_linger_moved(void **state)
{
	int ep = lc_linger_fd(), to, s[2];

	(void)state;
	mover(ep + 1, 200); /* not the set: nothing changes */
	assert_int_equal(lc_linger_fd(), ep);
	to = dup(ep);
	assert_true(to >= 0);
	mover(ep, to);
	assert_int_equal(lc_linger_fd(), to);
	close(ep); /* the program's dup2 replaces the old number */
	conn(s);
	assert_int_equal(lc_linger_adopt(s[0]), 0);
	close(s[0]);
	assert_int_equal(lc_linger_service(), 1);
	close(s[1]);
	assert_int_equal(lc_linger_service(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_linger_setup_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_adopt_until_peer_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_service_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_time_is_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_time_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_end_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_adopt_after_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_release_on_dup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_forked_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_copy_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_adopt_without_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_drop_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_fork_child, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_fork_child_own_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_moved, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
