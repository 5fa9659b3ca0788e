/* SPDX-License-Identifier: MIT */
/* test_intake: listener records (listen, a listener first seen by accept, leaving), and the
 * stash of queued connections taken from a stopped listener, on real loopback TCP sockets: the
 * order the program's accept() gets them in and how (flags, address), the stand-in's readiness,
 * drop_stash, closed listeners, move_stashed, fork. Stopping itself is stop.c's: the test does
 * what it does (a stand-in under the program's fd, the queue pushed into the stash). The fd
 * table, share.c, sig.c, gen.c and notify.c are fakes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/fds.h"
#include "lastcall/gen.h"
#include "lastcall/intake.h"
#include "lastcall/listener.h"
#include "lastcall/stash.h"
#include "lastcall/notify.h"
#include "lastcall/real.h"
#include "lastcall/share.h"
#include "lastcall/sig.h"

/* fakes: lc_real, the fd table (fds.c), the acceptor counts (share.c), the signal state a
 * parked accept() looks at (sig.c), and what listen() tells gen.c and notify.c */
struct lc_real lc_real;
pid_t lc_pid = 1000, lc_helper_parent, lc_server_parent;
int lc_helper;

#define TABLE 1024
static struct lc_fd table[TABLE];
struct lc_fd *lc_fds = table;
int lc_fds_n = TABLE;
int lc_hot = TABLE; /* armed and on: accept's fast path is taken */
int lc_fds_hi;

static int closes;

static int counting_close(int fd)
{
	closes++;
	return close(fd);
}

void lc_fds_note(int fd)
{
	if (fd >= 0 && fd < TABLE && fd >= lc_fds_hi)
		lc_fds_hi = fd + 1;
}

void lc_fds_set(int fd, enum lc_kind kind, uint16_t li)
{
	assert_true(fd >= 0 && fd < TABLE);
	table[fd].li = li;
	table[fd].kind = (uint8_t)kind;
	lc_fds_note(fd);
}

void lc_fds_release(int fd)
{
	table[fd].kind = LC_FD_NONE;
}

enum lc_kind lc_fds_forget(int fd)
{
	int k = table[fd].kind;

	if (!lc_fds_ours(k))
		table[fd].kind = LC_FD_NONE;
	return (enum lc_kind)k;
}

#define SLOT 5
static int joins, leaves, left_slot, resets, accepting_calls, accepting_now = -1;

void lc_share_reset(int fd)
{
	(void)fd;
	resets++;
}

int lc_share_join(int fd)
{
	(void)fd;
	joins++;
	return SLOT;
}

int lc_share_leave(int slot)
{
	leaves++;
	left_slot = slot;
	return 0;
}

void lc_share_accepting(int yes)
{
	accepting_calls++;
	accepting_now = yes;
}

__thread unsigned lc_sig_passed __attribute__((tls_model("initial-exec")));
__thread int lc_sig_passed_restart __attribute__((tls_model("initial-exec")));

void lc_sig_trigger_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
}

bool lc_sig_interrupts(void)
{
	return false;
}

static int listened, readies;

void lc_gen_listened(int fd)
{
	(void)fd;
	listened++;
}

void lc_notify_listening(void)
{
	readies++;
}

/* A TCP socket bound to a free loopback port, not listening yet; non-blocking, so an accept()
 * with nothing queued answers EAGAIN rather than hang the test. */
static int tcp_socket(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0 && fd < TABLE);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* A client connected to listening socket lfd (the handshake is done when it returns), which
 * sends one byte, tag, so the test can tell the connections apart. */
static int client(int lfd, char tag)
{
	struct sockaddr_in a;
	socklen_t n = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &n), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, n), 0);
	assert_int_equal(write(fd, &tag, 1), 1);
	return fd;
}

/* The tag a connection's client sent. */
static char tag_of(int c)
{
	struct pollfd p = { .fd = c, .events = POLLIN };
	char t = 0;

	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(recv(c, &t, 1, 0), 1);
	return t;
}

/* A listener of the program's on fd, through lc_intake_listen(); returns its record. */
static int listener(int *fd)
{
	*fd = tcp_socket();
	assert_int_equal(lc_intake_listen(*fd, 16), 0);
	assert_int_equal(table[*fd].kind, LC_FD_LISTEN);
	return table[*fd].li;
}

/* The program's accept() on listener fd with nothing queued: it joins the acceptors. */
static void join(int fd)
{
	errno = 0;
	assert_int_equal(lc_intake_accept(fd, NULL, NULL, 0, LC_ACCEPT), -1);
	assert_int_equal(errno, EAGAIN);
}

/* What stop.c does to listener fd: an inert AF_UNIX stand-in (non-blocking, so an empty stash
 * answers EAGAIN) takes its number, and the queue goes to the stash. Returns the real socket
 * (the caller closes it). */
static int stop(int fd)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int li = table[fd].li, real, standin, c;
	struct lc_listener *l = &lc_listeners[li];

	real = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	standin = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(real >= 0 && standin >= 0);
	l->standin_len = sizeof(l->standin);
	assert_int_equal(bind(standin, (struct sockaddr *)&a, sizeof(sa_family_t)), 0);
	assert_int_equal(listen(standin, 8), 0);
	assert_int_equal(getsockname(standin, (struct sockaddr *)&l->standin, &l->standin_len), 0);
	lc_listener_leave(l);
	table[fd].kind = LC_FD_STOPPED;
	assert_int_equal(dup3(standin, fd, O_CLOEXEC), fd);
	close(standin);
	while ((c = accept4(real, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		lc_stash_push((uint16_t)li, c);
	assert_int_equal(errno, EAGAIN);
	lc_stash_settle((uint16_t)li);
	return real;
}

/* What stop.c's settling does with a handshake that ends after the stop: the connection, once
 * queued on the real socket, goes to listener li's stash. */
static void push_next(int real, int li)
{
	int c;

	while ((c = accept4(real, 0, 0, SOCK_NONBLOCK)) < 0 && errno == EAGAIN)
		poll(NULL, 0, 5);
	lc_stash_push((uint16_t)li, c);
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static int setup(void **state)
{
	(void)state;
	lc_real.listen = listen;
	lc_real.accept = accept;
	lc_real.accept4 = accept4;
	lc_real.close = counting_close;
	/* Every case leaves its stash empty: the records can go. */
	assert_int_equal(lc_stash_count(), 0);
	memset(lc_listeners, 0, sizeof(lc_listeners));
	memset(table, 0, sizeof(table));
	lc_fds_hi = 0;
	lc_pid = 1000;
	lc_helper = lc_helper_parent = lc_server_parent = 0;
	closes = joins = leaves = resets = accepting_calls = listened = readies = 0;
	left_slot = accepting_now = -1;
	lc_listeners_leave_all(); /* accepting back to 0 */
	accepting_calls = 0;
	accepting_now = -1;
	return 0;
}

/* listen() makes a record this process owns; a second listen() does not make another. */
static void test_intake_listen_records(void **state)
{
	struct lc_listener *l;
	int fd, li, pair[2], r;

	(void)state;
	li = listener(&fd);
	l = &lc_listeners[li];
	assert_true(lc_listener_live(li));
	assert_int_equal(l->fd, fd);
	assert_int_equal(l->owned, 1);
	assert_int_equal(l->acceptor, LC_ACC_NO);
	assert_int_equal(l->slot, -1);
	assert_int_equal(l->head, -1);
	assert_int_equal(l->queued, 0);
	assert_int_equal(resets, 1); /* a new socket: stale counts of its inode dropped */
	assert_int_equal(listened, 1);
	assert_int_equal(readies, 1);
	assert_int_equal(lc_listeners_count(), 1);
	/* Listening again (a new backlog): the same record. */
	assert_int_equal(lc_intake_listen(fd, 32), 0);
	assert_int_equal(lc_listeners_count(), 1);
	assert_int_equal(resets, 1);
	/* An inherited listener (owned 0) the program listens on again becomes its own. */
	l->owned = 0;
	assert_int_equal(lc_intake_listen(fd, 32), 0);
	assert_int_equal(l->owned, 1);
	/* A failed listen(): its errno, no record, nobody told. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	errno = 0;
	r = lc_intake_listen(pair[0], 8);
	assert_int_equal(r, -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(table[pair[0]].kind, LC_FD_NONE);
	assert_int_equal(lc_listeners_count(), 1);
	assert_int_equal(listened, 3);
	close(pair[0]);
	close(pair[1]);
	close(fd);
}

/* A child a server forked (mod_cgid's daemon) listening on a unix socket of its own serves the
 * server's processes: a service, not a worker (no acceptor count, not on the list the server
 * passes its signal to), and the process becomes the server's helper. A TCP listener of such a
 * child is a worker's; a unix one of a process the server did not fork is its own. */
static void test_intake_service(void **state)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int u, t, li;

	(void)state;
	snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "lastcall-test-%d", (int)getpid());
	/* Not forked by a server: its own listener. */
	assert_true((u = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) >= 0);
	assert_int_equal(bind(u, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(lc_intake_listen(u, 8), 0);
	assert_false(lc_listeners[table[u].li].service);
	assert_false(lc_helper);
	close(u);
	lc_fds_forget(u);
	/* Forked by server getppid(): a TCP listener is a worker's... */
	lc_server_parent = getppid();
	li = listener(&t);
	assert_false(lc_listeners[li].service);
	join(t);
	assert_int_equal(joins, 1);
	/* ...a unix one is a service. */
	assert_true((u = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) >= 0);
	assert_int_equal(bind(u, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(lc_intake_listen(u, 8), 0);
	li = table[u].li;
	assert_true(lc_listeners[li].service);
	assert_true(lc_helper);
	assert_int_equal(lc_helper_parent, getppid());
	join(u);
	assert_int_equal(lc_listeners[li].acceptor, LC_ACC_YES);
	assert_int_equal(lc_listeners[li].slot, -1);
	assert_int_equal(joins, 1); /* no acceptor count for it */
	close(u);
	close(t);
}

/* The first accept() makes this process one of the socket's acceptors, once; the connection
 * it returns is this process's own. */
static void test_intake_accept_joins_once(void **state)
{
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	int fd, li, a, b, c1, c2;

	(void)state;
	li = listener(&fd);
	a = client(fd, 'a');
	b = client(fd, 'b');
	c1 = lc_intake_accept(fd, (struct sockaddr *)&peer, &len, 0, LC_ACCEPT);
	assert_true(c1 >= 0);
	assert_int_equal(lc_listeners[li].acceptor, LC_ACC_YES);
	assert_int_equal(lc_listeners[li].slot, SLOT);
	assert_int_equal(joins, 1);
	assert_int_equal(accepting_calls, 1);
	assert_int_equal(accepting_now, 1);
	assert_int_equal(table[c1].kind, LC_FD_CONN);
	assert_int_equal(table[c1].owner, lc_pid);
	assert_int_equal(peer.sin_family, AF_INET);
	c2 = lc_intake_accept(fd, NULL, NULL, SOCK_CLOEXEC, LC_ACCEPT4);
	assert_true(c2 >= 0);
	assert_int_equal(joins, 1); /* joined once */
	assert_int_equal(accepting_calls, 1);
	assert_int_equal(table[c2].kind, LC_FD_CONN);
	assert_true(fcntl(c2, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(tag_of(c1), 'a');
	assert_int_equal(tag_of(c2), 'b');
	close(a);
	close(b);
	close(c1);
	close(c2);
	close(fd);
}

/* accept()'s fast path takes a listener whose entry says this process accepts on it: set by
 * the first accept, cleared in a fork child (until its own first accept) and when the process
 * stops accepting. The second accept, on the fast path, joins nothing again. */
static void test_intake_accepting_flag(void **state)
{
	int fd, li, a, b, c1, c2;

	(void)state;
	li = listener(&fd);
	assert_int_equal(table[fd].head, lc_fd_head(LC_FD_LISTEN, 0));
	a = client(fd, 'a');
	b = client(fd, 'b');
	c1 = lc_intake_accept(fd, NULL, NULL, 0, LC_ACCEPT);
	assert_true(c1 >= 0);
	assert_int_equal(table[fd].head, lc_fd_head(LC_FD_LISTEN, LC_FDF_ACCEPTING));
	lc_intake_fork(true);
	assert_int_equal(table[fd].head, lc_fd_head(LC_FD_LISTEN, 0));
	assert_int_equal(lc_listeners[li].acceptor, LC_ACC_NO);
	c2 = lc_intake_accept(fd, NULL, NULL, 0, LC_ACCEPT);
	assert_true(c2 >= 0);
	assert_int_equal(joins, 2); /* the child joined on its own first accept */
	assert_int_equal(table[fd].head, lc_fd_head(LC_FD_LISTEN, LC_FDF_ACCEPTING));
	lc_listener_leave(&lc_listeners[li]);
	assert_int_equal(table[fd].head, lc_fd_head(LC_FD_LISTEN, 0));
	assert_int_equal(lc_listeners[li].acceptor, LC_ACC_DONE);
	close(a);
	close(b);
	close(c1);
	close(c2);
	close(fd);
}

/* A listener first seen by accept() (inherited across exec): recorded as not owned, if the
 * call proves it listens. */
static void test_intake_accept_inherited(void **state)
{
	int fd, other, a, c, pair[2];

	(void)state;
	fd = tcp_socket();
	assert_int_equal(listen(fd, 8), 0);
	a = client(fd, 'a');
	c = lc_intake_accept(fd, NULL, NULL, 0, LC_ACCEPT);
	assert_true(c >= 0);
	assert_int_equal(table[fd].kind, LC_FD_LISTEN);
	assert_int_equal(lc_listeners[table[fd].li].owned, 0);
	assert_int_equal(lc_listeners[table[fd].li].acceptor, LC_ACC_YES);
	assert_int_equal(table[c].kind, LC_FD_CONN);
	assert_int_equal(resets, 0);
	/* EAGAIN proves a listener as well as a connection does. */
	other = tcp_socket();
	assert_int_equal(listen(other, 8), 0);
	errno = 0;
	assert_int_equal(lc_intake_accept(other, NULL, NULL, 0, LC_ACCEPT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(table[other].kind, LC_FD_LISTEN);
	/* Not a listener: EINVAL, no record. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	errno = 0;
	assert_int_equal(lc_intake_accept(pair[0], NULL, NULL, 0, LC_ACCEPT), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(table[pair[0]].kind, LC_FD_NONE);
	assert_int_equal(lc_listeners_count(), 2);
	close(pair[0]);
	close(pair[1]);
	close(other);
	close(a);
	close(c);
	close(fd);
}

/* The program's accept() on a stopped listener gets the stashed connections oldest first, as
 * accept4(flags) would have made them, with the peer's address; the stand-in is readable
 * exactly while the stash is not empty. */
static void test_intake_stash_order(void **state)
{
	struct sockaddr_in peer, mine;
	socklen_t len, n;
	int fd, li, real, cl[3], c, i;

	(void)state;
	li = listener(&fd);
	join(fd);
	for (i = 0; i < 3; i++)
		cl[i] = client(fd, (char)('a' + i));
	real = stop(fd);
	assert_int_equal(lc_listeners[li].queued, 3);
	assert_int_equal(lc_stash_count(), 3);
	assert_int_equal(lc_listeners[li].tokens, 1);
	assert_true(readable(fd));
	for (i = 0; i < 3; i++)
		assert_int_equal(table[cl[i]].kind, LC_FD_NONE); /* the clients: not ours */
	/* accept(): blocking, no close-on-exec, whatever the stash made them. */
	len = sizeof(peer);
	c = lc_intake_accept(fd, (struct sockaddr *)&peer, &len, 0, LC_ACCEPT);
	assert_true(c >= 0);
	assert_int_equal(tag_of(c), 'a');
	assert_int_equal(table[c].kind, LC_FD_CONN);
	assert_int_equal(table[c].owner, lc_pid);
	assert_false(fcntl(c, F_GETFL) & O_NONBLOCK);
	assert_false(fcntl(c, F_GETFD) & FD_CLOEXEC);
	n = sizeof(mine);
	getsockname(cl[0], (struct sockaddr *)&mine, &n);
	assert_int_equal(len, sizeof(peer));
	assert_int_equal(peer.sin_port, mine.sin_port);
	assert_int_equal(lc_stash_count(), 2);
	assert_true(readable(fd));
	close(c);
	/* accept4(SOCK_NONBLOCK | SOCK_CLOEXEC), without an address. */
	c = lc_intake_accept(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC, LC_ACCEPT4);
	assert_int_equal(tag_of(c), 'b');
	assert_true(fcntl(c, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(c, F_GETFD) & FD_CLOEXEC);
	close(c);
	/* An address buffer too small: cut, as accept() cuts it. */
	len = 4;
	c = lc_intake_accept(fd, (struct sockaddr *)&peer, &len, 0, LC_ACCEPT);
	assert_int_equal(tag_of(c), 'c');
	assert_int_equal(len, sizeof(peer));
	close(c);
	/* Empty: no token left, nothing to read, and a non-blocking stand-in says EAGAIN. */
	assert_int_equal(lc_stash_count(), 0);
	assert_int_equal(lc_listeners[li].tokens, 0);
	assert_false(readable(fd));
	errno = 0;
	assert_int_equal(lc_intake_accept(fd, NULL, NULL, 0, LC_ACCEPT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(lc_listeners[li].head, -1);
	assert_int_equal(lc_listeners[li].tail, -1);
	for (i = 0; i < 3; i++)
		close(cl[i]);
	close(real);
	close(fd);
}

/* A thread was inside accept() when intake stopped: a client it took from the old socket is
 * served; a token it took from the stand-in is not a connection, and a stashed one is handed
 * over instead. */
static void test_intake_accepted_after_stop(void **state)
{
	int fd, li, real, a, b, early, tok, c;

	(void)state;
	li = listener(&fd);
	join(fd);
	a = client(fd, 'a');
	early = accept(fd, NULL, NULL); /* the real call returned just before the stop */
	b = client(fd, 'b');
	real = stop(fd);
	assert_int_equal(lc_intake_accepted(fd, &table[fd], LC_FD_LISTEN, early, NULL, NULL, 0, 0),
			 early);
	assert_int_equal(tag_of(early), 'a');
	assert_int_equal(lc_stash_count(), 1);
	/* The real call took the stand-in's token. */
	tok = accept(fd, NULL, NULL);
	assert_true(tok >= 0);
	closes = 0;
	c = lc_intake_accepted(fd, &table[fd], LC_FD_LISTEN, tok, NULL, NULL, 0, lc_sig_passed);
	assert_true(c >= 0 && c != tok);
	assert_int_equal(tag_of(c), 'b');
	assert_int_equal(closes, 1); /* the token */
	assert_int_equal(lc_listeners[li].tokens, 0);
	assert_false(readable(fd));
	close(c);
	close(a);
	close(b);
	close(early);
	close(real);
	close(fd);
}

/* A connection kept after the stash was settled (a handshake that ended while stop.c settles the
 * listener) makes the stand-in readable as it is pushed: the program serves it at once, and a
 * client that waits for that reply before it sends its next request is not held until the
 * settling ends (with lighttpd, test 42: its other handshakes were then reset). */
static void test_intake_push_wakes(void **state)
{
	int fd, li, real, a, b, c;

	(void)state;
	li = listener(&fd);
	join(fd);
	a = client(fd, 'a');
	real = stop(fd);
	c = lc_intake_accept(fd, NULL, NULL, 0, LC_ACCEPT);
	assert_int_equal(tag_of(c), 'a');
	close(c);
	assert_false(readable(fd)); /* empty */
	b = client(real, 'b');
	push_next(real, li);
	assert_int_equal(lc_listeners[li].tokens, 1);
	assert_true(readable(fd));
	c = lc_intake_accept(fd, NULL, NULL, 0, LC_ACCEPT);
	assert_int_equal(tag_of(c), 'b');
	assert_int_equal(lc_listeners[li].tokens, 0);
	assert_false(readable(fd));
	close(c);
	close(a);
	close(b);
	close(real);
	close(fd);
}

/* Stashed connections no one will accept are closed: only those of closed listeners, or all;
 * a closed listener's record is freed once its stash is gone. */
static void test_intake_drop_stash(void **state)
{
	int fa, fb, la, lb, ra, rb, ca[2], cb, n;
	ssize_t r;
	char c;

	(void)state;
	la = listener(&fa);
	lb = listener(&fb);
	join(fa);
	join(fb);
	ca[0] = client(fa, 'a');
	ca[1] = client(fa, 'b');
	cb = client(fb, 'x');
	ra = stop(fa);
	rb = stop(fb);
	assert_int_equal(lc_stash_count(), 3);
	assert_int_equal(lc_stash_drop(false), 0); /* no listener closed */
	/* The program closes b's stopped fd: its stash is orphaned, for the cleanup thread. */
	leaves = 0;
	lc_intake_closed(fb, (uint16_t)lb);
	assert_int_equal(lc_listeners[lb].closed, 1);
	assert_true(lc_listener_live(lb));
	assert_int_equal(leaves, 0); /* it left when it stopped */
	close(fb);
	n = lc_stash_drop(false);
	assert_int_equal(n, 1);
	assert_false(lc_listener_live(lb));
	assert_true(lc_listener_live(la));
	assert_int_equal(lc_stash_count(), 2);
	/* Its client sees the end: a FIN, or the reset for the byte it sent that nobody read. */
	assert_int_equal(poll(&(struct pollfd){ .fd = cb, .events = POLLIN }, 1, 5000), 1);
	r = recv(cb, &c, 1, 0);
	assert_true(r == 0 || (r < 0 && errno == ECONNRESET));
	/* The deadline: all of them. */
	assert_int_equal(lc_stash_drop(true), 2);
	assert_int_equal(lc_stash_count(), 0);
	assert_true(lc_listener_live(la)); /* still the program's listener */
	assert_false(readable(fa));	   /* no token left for an empty stash */
	assert_int_equal(lc_stash_drop(true), 0);
	close(ca[0]);
	close(ca[1]);
	close(cb);
	close(ra);
	close(rb);
	close(fa);
}

/* Closing a listener with nothing stashed frees its record at once, and leaves the count. */
static void test_intake_closed_listener(void **state)
{
	int fd, li;

	(void)state;
	li = listener(&fd);
	join(fd);
	lc_intake_closed(fd, (uint16_t)li);
	assert_int_equal(leaves, 1);
	assert_int_equal(left_slot, SLOT);
	assert_false(lc_listener_live(li));
	assert_int_equal(lc_listeners_count(), 0);
	close(fd);
}

/* Leaving: each listener once, never joined again; leave_all also leaves the list of
 * accepting processes, once. */
static void test_intake_leave(void **state)
{
	int fa, fb, la, lb, fc, lcr;

	(void)state;
	la = listener(&fa);
	lb = listener(&fb);
	lcr = listener(&fc); /* never accepted on: not counted, nothing to leave */
	join(fa);
	join(fb);
	assert_int_equal(joins, 2);
	lc_listener_leave(&lc_listeners[la]);
	assert_int_equal(leaves, 1);
	assert_int_equal(lc_listeners[la].acceptor, LC_ACC_DONE);
	assert_int_equal(lc_listeners[la].slot, -1);
	lc_listener_leave(&lc_listeners[la]);
	assert_int_equal(leaves, 1);
	assert_int_equal(lc_listener_quit(&lc_listeners[la]), -1);
	lc_listeners_leave();
	assert_int_equal(leaves, 2); /* b's; c had no slot */
	assert_int_equal(lc_listeners[lcr].acceptor, LC_ACC_DONE);
	assert_int_equal(accepting_calls, 1); /* still on the list: a draining worker */
	/* Done accepting: a later accept() does not join again. */
	join(fa);
	assert_int_equal(joins, 2);
	assert_int_equal(lc_listeners[la].acceptor, LC_ACC_DONE);
	lc_listeners_leave_all();
	assert_int_equal(accepting_calls, 2);
	assert_int_equal(accepting_now, 0);
	lc_listeners_leave_all();
	assert_int_equal(accepting_calls, 2);
	(void)lb;
	close(fa);
	close(fb);
	close(fc);
}

/* dup2() takes the number of a stashed connection: it moves, and keeps its place. */
static void test_intake_move_stashed(void **state)
{
	int fd, li, real, cl[4], head, mid, tail, moved, c, i;
	char want[] = "abcd";

	(void)state;
	li = listener(&fd);
	join(fd);
	for (i = 0; i < 3; i++)
		cl[i] = client(fd, want[i]);
	real = stop(fd);
	head = lc_listeners[li].head;
	mid = table[head].next;
	tail = lc_listeners[li].tail;
	assert_int_equal(table[mid].next, tail);
	lc_stash_move(mid);
	assert_int_equal(table[mid].kind, LC_FD_NONE);
	moved = table[head].next;
	assert_true(moved != mid);
	assert_int_equal(table[moved].kind, LC_FD_STASHED);
	assert_int_equal(table[moved].li, li);
	assert_int_equal(table[moved].next, tail);
	close(mid); /* what the program's dup2 does to our old copy */
	lc_stash_move(tail);
	assert_true(lc_listeners[li].tail != tail);
	close(tail);
	/* One more joins the end: after the moved tail. */
	cl[3] = client(real, 'd');
	push_next(real, li);
	assert_int_equal(lc_stash_count(), 4);
	for (i = 0; i < 4; i++) {
		c = lc_intake_accept(fd, NULL, NULL, 0, LC_ACCEPT);
		assert_true(c >= 0);
		assert_int_equal(tag_of(c), want[i]);
		close(c);
	}
	/* Not a stashed connection (a client's fd here): nothing moves, nothing is made. */
	lc_stash_move(cl[0]);
	assert_int_equal(table[cl[0]].kind, LC_FD_NONE);
	for (i = 0; i < lc_fds_hi; i++)
		assert_true(table[i].kind != LC_FD_STASHED);
	for (i = 0; i < 4; i++)
		close(cl[i]);
	close(real);
	close(fd);
}

/* fork: both sides share every listener now; the child has accepted nothing, and its copies of
 * the stash are closed (the parent's to hand over). */
static void test_intake_fork(void **state)
{
	int fd, li, real, cl[2];

	(void)state;
	li = listener(&fd);
	join(fd);
	cl[0] = client(fd, 'a');
	cl[1] = client(fd, 'b');
	real = stop(fd);
	lc_intake_fork(false); /* the parent */
	assert_int_equal(lc_listeners[li].shared, 1);
	assert_int_equal(lc_stash_count(), 2);
	lc_listeners[li].acceptor = LC_ACC_YES; /* as before the stop, to see the child reset it */
	lc_listeners[li].slot = SLOT;
	closes = 0;
	lc_intake_fork(true); /* the child */
	assert_int_equal(closes, 2);
	assert_int_equal(lc_stash_count(), 0);
	assert_int_equal(lc_listeners[li].queued, 0);
	assert_int_equal(lc_listeners[li].tokens, 0);
	assert_int_equal(lc_listeners[li].acceptor, LC_ACC_NO);
	assert_int_equal(lc_listeners[li].slot, -1);
	assert_true(lc_listener_live(li));
	close(cl[0]);
	close(cl[1]);
	close(real);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_intake_listen_records, setup),
		cmocka_unit_test_setup(test_intake_accept_joins_once, setup),
		cmocka_unit_test_setup(test_intake_service, setup),
		cmocka_unit_test_setup(test_intake_accepting_flag, setup),
		cmocka_unit_test_setup(test_intake_accept_inherited, setup),
		cmocka_unit_test_setup(test_intake_stash_order, setup),
		cmocka_unit_test_setup(test_intake_accepted_after_stop, setup),
		cmocka_unit_test_setup(test_intake_push_wakes, setup),
		cmocka_unit_test_setup(test_intake_drop_stash, setup),
		cmocka_unit_test_setup(test_intake_closed_listener, setup),
		cmocka_unit_test_setup(test_intake_leave, setup),
		cmocka_unit_test_setup(test_intake_move_stashed, setup),
		cmocka_unit_test_setup(test_intake_fork, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
