/* SPDX-License-Identifier: MIT */
/* test_drain: the drain's decisions (when a connection is idle, when nothing is left) and whole
 * drains run on a fake clock: connections that finish, one ended at the deadline, idle ones
 * closed, an exit() meanwhile. Everything drain.c calls outside itself is a fake here, the
 * wake-up wait included: it moves the clock to the next scripted event. The summary is read
 * from the log, in its key=value form. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/children.h"
#include "lastcall/config.h"
#include "lastcall/drain.h"
#include "lastcall/fds.h"
#include "lastcall/linger.h"
#include "lastcall/log.h"
#include "lastcall/master.h"
#include "lastcall/notify.h"
#include "lastcall/private.h"
#include "lastcall/share.h"
#include "lastcall/sig.h"
#include "lastcall/stash.h"
#include "lastcall/state.h"
#include "lastcall/stop.h"
#include "lastcall/tcp.h"
#include "lastcall/util.h"
#include "lastcall/wake.h"

/* fakes: the process state, the fd table, the clock, the wake-up wait, and the modules a drain
 * steers (intake, linger, children, master, systemd) */
int lc_draining, lc_helper;
pid_t lc_pid = 1000, lc_helper_parent, lc_sig_sender;

/* share.c and children.c: a process tree. The helper's parent 200 is a shell, started by the
 * server 100 (which runs lastcall), started by 1 (systemd). */
enum { SYSTEMD = 1, SERVER = 100, SHELL = 200, STRANGER = 555 };

pid_t lc_share_parent(pid_t pid)
{
	return pid == SHELL ? SERVER : pid == SERVER ? SYSTEMD : 0;
}

bool lc_children_runs_lastcall(pid_t pid)
{
	return pid == SERVER;
}

#define TABLE 64
static struct lc_fd table[TABLE];
struct lc_fd *lc_fds = table;
int lc_fds_n = TABLE, lc_fds_hi = TABLE;

int lc_fds_count(bool own_only)
{
	int fd, n = 0;

	for (fd = 0; fd < TABLE; fd++)
		n += table[fd].kind == LC_FD_CONN && (!own_only || table[fd].owner == lc_pid);
	return n;
}

void lc_fds_each(enum lc_kind kind, void (*fn)(int fd, void *arg), void *arg)
{
	int fd;

	for (fd = 0; fd < TABLE; fd++)
		if (table[fd].kind == kind)
			fn(fd, arg);
}

enum lc_kind lc_fds_forget(int fd)
{
	enum lc_kind k = table[fd].kind;

	table[fd].kind = LC_FD_NONE;
	return k;
}

static int64_t now_ms; /* the fake clock */

int64_t lc_now_us(void)
{
	return now_ms * 1000;
}

/* The script: at each time, the program closes fd (or, fd -1, calls exit(); fd -2: the server
 * sends this process a trigger signal). */
struct event {
	int64_t at;
	int fd;
};
static struct event events[8];
static int nevents, next_event;
static int64_t start;

static void at(int64_t ms, int fd)
{
	events[nevents++] = (struct event){ start + ms, fd };
}

static void program_closes(int fd)
{
	if (fd == -2) {
		lc_sig_sender = SERVER;
		return;
	}
	if (fd < 0) {
		lc_drain_request_exit();
		return;
	}
	table[fd].kind = LC_FD_NONE;
}

/* The program closes what lastcall shut for reading as idle at once: it read EOF. */
static void program_reads_eof(int fd, void *arg)
{
	(void)arg;
	if (table[fd].flags & LC_FDF_IDLE)
		program_closes(fd);
}

static int waits;

int lc_wake_wait(int64_t timeout, const int *also, int n)
{
	(void)also;
	(void)n;
	assert_true(++waits < 10000); /* a drain that never ends fails here, not by hanging */
	assert_true(timeout >= 0);
	lc_fds_each(LC_FD_CONN, program_reads_eof, 0);
	if (next_event < nevents && events[next_event].at <= now_ms + timeout) {
		if (events[next_event].at > now_ms)
			now_ms = events[next_event].at;
		program_closes(events[next_event++].fd);
	} else {
		now_ms += timeout;
	}
	return 0;
}

void lc_private_renew(int how)
{
	(void)how;
	fail();
}

/* tcp.c: each connection's state and quiet time, as the test sets them. */
static enum lc_conn_state conn_state[TABLE];
static int64_t conn_quiet[TABLE];

/* util.c: lc_own_lock(), held around what the drain does to a connection by its number.
 * reuse_at: the fd the program closes and makes again (a new socket at that number) just
 * before the drain takes the lock for it, -1 for none; reused: that new socket. */
static int lock_held, reuse_at = -1, reused = -1;

bool lc_own_lock(void)
{
	int sp[2];

	assert_false(lock_held);
	lock_held = 1;
	if (reuse_at >= 0 && table[reuse_at].kind == LC_FD_CONN) {
		table[reuse_at].word = 0; /* the program's close() forgot it, then... */
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
		assert_int_equal(dup2(sp[0], reuse_at), reuse_at); /* ...made a new fd there */
		close(sp[0]);
		reused = sp[1];
	}
	return true;
}

void lc_own_unlock(bool took)
{
	assert_true(took && lock_held);
	lock_held = 0;
}

enum lc_conn_state lc_tcp_classify(int fd, int64_t *quiet)
{
	assert_true(lock_held); /* the look and what follows it are one step */
	assert_int_equal(table[fd].kind, LC_FD_CONN);
	*quiet = conn_quiet[fd] + (now_ms - start);
	return conn_state[fd];
}

bool lc_tcp_pending(int fd)
{
	(void)fd;
	return false;
}

static int stops, stop_stash, ended_fds;

int lc_stop_intake(bool stash)
{
	stops++;
	stop_stash = stash;
	return 1;
}

int lc_stash_count(void)
{
	return 0;
}

int lc_stash_drop(bool all)
{
	(void)all;
	return 0;
}

int lc_linger_setup(void)
{
	return 0;
}

int lc_linger_fd(void)
{
	return -1;
}

void lc_linger_end(int fd)
{
	assert_true(lock_held);
	ended_fds++;
	table[fd].flags |= LC_FDF_ENDED;
}

int lc_linger_service(void)
{
	return 0;
}

void lc_linger_drop_all(void)
{
}

static int kids_running, sigterms;

void lc_children_setup(void)
{
}

int lc_children_fd(void)
{
	return -1;
}

int lc_children_scan(void)
{
	return kids_running;
}

int lc_children_forward(int sig)
{
	(void)sig;
	return 0;
}

int lc_children_signal(int sig)
{
	sigterms += sig == SIGTERM;
	return sig == SIGTERM ? kids_running : 0;
}

int lc_children_ended(void)
{
	return 0;
}

int64_t lc_children_last_end(void)
{
	return 0;
}

void lc_children_reset(void)
{
}

bool lc_master_holding(void)
{
	return false;
}

int64_t lc_master_until(void)
{
	return 0;
}

int lc_share_undrained(pid_t parent)
{
	(void)parent;
	return 0;
}

unsigned lc_sig_count(int sig)
{
	(void)sig;
	return 0;
}

void lc_notify(int stopping, const char *status, int64_t extend_ms)
{
	(void)stopping;
	(void)status;
	(void)extend_ms;
}

/* The clients' ends of the test's connections (see conn()). */
static int peers[16], npeers;

/* The log, read back through a pipe. */
static int log_pipe[2];
static char log_text[8192];
static size_t log_len;

static const char *no_env(const char *name)
{
	(void)name;
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	lc_config_load(&lc_config, no_env); /* the defaults, then each test's own */
	memset(table, 0, sizeof(table));
	memset(conn_state, 0, sizeof(conn_state));
	memset(conn_quiet, 0, sizeof(conn_quiet));
	nevents = next_event = waits = stops = ended_fds = sigterms = kids_running = 0;
	lock_held = 0;
	reuse_at = reused = -1;
	start = now_ms = 100000;
	lc_helper = 0;
	lc_helper_parent = lc_sig_sender = 0;
	lc_drain_fork_child(); /* no exit() requested, not draining */
	log_len = 0;
	assert_int_equal(pipe2(log_pipe, O_NONBLOCK | O_CLOEXEC), 0);
	lc_log_reset(log_pipe[1]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	while (npeers > 0)
		close(peers[--npeers]);
	lc_log_reset(2);
	close(log_pipe[0]);
	close(log_pipe[1]);
	return 0;
}

/* The value of key in the log's "summary:" line, or -1. */
static long summary(const char *key)
{
	char want[32], *line, *p;
	ssize_t r;

	while ((r = read(log_pipe[0], log_text + log_len, sizeof(log_text) - 1 - log_len)) > 0)
		log_len += (size_t)r;
	log_text[log_len] = '\0';
	if (!(line = strstr(log_text, "summary: ")))
		return -1;
	snprintf(want, sizeof(want), " %s=", key);
	p = strstr(line, want);
	return p && p < strchrnul(line, '\n') ? strtol(p + strlen(want), 0, 10) : -1;
}

/* A connection in the table: one end of a socketpair (a drain forgets fds that are not open),
 * the other end kept as the client's, closed at teardown. Returns the fd. */
static int conn(pid_t owner, enum lc_conn_state s)
{
	int sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_true(sp[0] < TABLE && npeers < 15);
	table[sp[0]] = (struct lc_fd){ .kind = LC_FD_CONN, .owner = owner };
	conn_state[sp[0]] = s;
	peers[npeers++] = sp[0];
	peers[npeers++] = sp[1];
	return sp[0];
}

static void test_drain_idle_due(void **state)
{
	(void)state;
	lc_config.idle_ms = 5000;
	/* Quiet long enough once answered (or never spoken on): idle now. */
	assert_int_equal(lc_drain_idle_due(LC_CONN_ANSWERED, 5000), 0);
	assert_int_equal(lc_drain_idle_due(LC_CONN_FRESH, 7000), 0);
	/* Not yet: the rest of the quiet time, and a few ms for the kernel's jiffies. */
	assert_int_equal(lc_drain_idle_due(LC_CONN_ANSWERED, 4000), 1005);
	assert_int_equal(lc_drain_idle_due(LC_CONN_FRESH, 0), 5005);
	/* Busy: the whole quiet time from its answer. */
	assert_int_equal(lc_drain_idle_due(LC_CONN_BUSY, 99999), 5005);
	/* Not an established TCP connection: never idle. */
	assert_int_equal(lc_drain_idle_due(LC_CONN_OTHER, 99999), -1);
	/* A short LASTCALL_IDLE: a client that has not spoken yet still gets a second. */
	lc_config.idle_ms = 200;
	assert_int_equal(lc_drain_idle_due(LC_CONN_ANSWERED, 200), 0);
	assert_int_equal(lc_drain_idle_due(LC_CONN_FRESH, 500), 505);
	assert_int_equal(lc_drain_idle_due(LC_CONN_FRESH, 1000), 0);
}

static void test_drain_done(void **state)
{
	struct lc_drain d = { .sig = SIGTERM, .kids = true };

	(void)state;
	/* Before the deadline: nothing open, and children settled. */
	assert_true(lc_drain_done(&d, 0, 0, 0, 1000));
	assert_false(lc_drain_done(&d, 1, 0, 0, 1000));
	assert_false(lc_drain_done(&d, 0, 1, 0, 1000));
	assert_false(lc_drain_done(&d, 0, 0, 1, 1000));
	/* The last child ended just now (lc_children_last_end is 0 here): settling. */
	assert_false(lc_drain_done(&d, 0, 0, 0, LC_CHILD_SETTLE_MS - 1));
	assert_true(lc_drain_done(&d, 0, 0, 0, LC_CHILD_SETTLE_MS));
	/* A helper holds its signal to the deadline, unless the program ends first. */
	d.helper = true;
	assert_false(lc_drain_done(&d, 0, 0, 0, 1000));
	d.exiting = true;
	assert_true(lc_drain_done(&d, 0, 0, 0, 1000));
	/* After the deadline: lingers to their end, children to their SIGKILL and its linger. */
	d = (struct lc_drain){ .sig = SIGTERM, .kids = true, .ending = true, .linger_until = 2000,
			       .kill_at = 5000 };
	assert_false(lc_drain_done(&d, 3, 1, 0, 1999));
	assert_true(lc_drain_done(&d, 3, 1, 0, 2000)); /* open connections were ended */
	assert_false(lc_drain_done(&d, 0, 0, 1, 5000 + LC_LINGER_MS - 1));
	assert_true(lc_drain_done(&d, 0, 0, 1, 5000 + LC_LINGER_MS));
	/* A master does not wait for its workers past its deadline: its handler stops them. */
	d.master = true;
	assert_true(lc_drain_done(&d, 0, 0, 1, 2000));
}

static void test_drain_waits_for_connections(void **state)
{
	int a = conn(lc_pid, LC_CONN_BUSY);
	int b = conn(2000, LC_CONN_BUSY); /* accepted by another process of the tree: counts too */

	(void)state;
	at(300, a);
	at(700, b);
	assert_true(lc_drain_run(SIGTERM));
	assert_int_equal(stops, 1);
	assert_true(stop_stash); /* queued connections kept for the program */
	assert_int_equal(now_ms - start, 700);
	assert_int_equal(ended_fds, 0);
	assert_int_equal(lc_draining, 0);
	assert_int_equal(summary("ms"), 700);
	assert_int_equal(summary("finished"), 2);
	assert_int_equal(summary("idle"), 0);
	assert_int_equal(summary("deadline"), 0);
}

static void test_drain_deadline(void **state)
{
	(void)state;
	lc_config.timeout_ms = 1000;
	kids_running = 1;
	conn(lc_pid, LC_CONN_BUSY); /* never closes */
	at(400, 63);		    /* not a connection: changes nothing */
	assert_true(lc_drain_run(SIGTERM));
	assert_int_equal(ended_fds, 1);
	assert_int_equal(sigterms, 1);
	/* Ended at 1000 ms; the child got SIGTERM and is waited for until its SIGKILL's linger. */
	assert_int_equal(now_ms - start, 1000 + lc_config.kill_after_ms + LC_LINGER_MS);
	assert_int_equal(summary("deadline"), 1);
	assert_int_equal(summary("finished"), 0);
	assert_int_equal(summary("termed"), 1);
}

static void test_drain_closes_idle(void **state)
{
	int quiet = conn(lc_pid, LC_CONN_ANSWERED), busy = conn(lc_pid, LC_CONN_BUSY);

	(void)state;
	conn_quiet[quiet] = 4000; /* idle 1 s into the drain */
	at(3000, busy);
	assert_true(lc_drain_run(SIGTERM));
	/* Shut for reading: the program read EOF, as from a client that left. */
	assert_int_equal(recv(quiet, (char[1]){ 0 }, 1, MSG_DONTWAIT), 0);
	assert_true(table[quiet].flags & LC_FDF_IDLE);
	assert_int_equal(summary("idle"), 1);
	assert_int_equal(summary("finished"), 1);
	assert_int_equal(now_ms - start, 3000);
}

/* The program closed an idle connection and made a new fd at its number, after the drain
 * chose it and before the drain's look: the new fd is not shut for reading. */
static void test_drain_idle_reused(void **state)
{
	int quiet = conn(lc_pid, LC_CONN_ANSWERED), busy = conn(lc_pid, LC_CONN_BUSY);

	(void)state;
	conn_quiet[quiet] = 4000;
	reuse_at = quiet;
	at(3000, busy);
	assert_true(lc_drain_run(SIGTERM));
	assert_true(reused >= 0);
	assert_int_equal(send(reused, "x", 1, MSG_DONTWAIT), 1);
	assert_int_equal(recv(quiet, (char[1]){ 0 }, 1, MSG_DONTWAIT), 1); /* still open to read */
	assert_int_equal(summary("idle"), 0);
	close(reused);
	close(quiet);
}

/* Who may end a helper at once: the server above it, not a stranger nor the service manager. */
static void test_drain_from_server(void **state)
{
	(void)state;
	lc_helper_parent = SHELL; /* cat, under "|sh -c 'cat >>log'" */
	assert_true(lc_drain_from_server(SHELL));
	assert_true(lc_drain_from_server(SERVER));
	assert_false(lc_drain_from_server(SYSTEMD));
	assert_false(lc_drain_from_server(STRANGER));
	assert_false(lc_drain_from_server(0));
	lc_helper_parent = SERVER; /* sh itself */
	assert_true(lc_drain_from_server(SERVER));
	assert_false(lc_drain_from_server(SHELL));
	assert_false(lc_drain_from_server(SYSTEMD));
}

/* A helper holds systemd's SIGTERM; the server's own, 500 ms later, ends the hold at once
 * instead of at the deadline (Apache's SIGTERM to its piped loggers after its workers). */
static void test_drain_helper_released(void **state)
{
	(void)state;
	lc_helper = 1;
	lc_helper_parent = SHELL;
	lc_sig_sender = SYSTEMD;
	at(500, -2);
	assert_true(lc_drain_run(SIGTERM));
	assert_int_equal(now_ms - start, 500);
}

static void test_drain_idle_off(void **state)
{
	(void)state;
	lc_config.idle_ms = -1; /* LASTCALL_IDLE=off */
	lc_config.timeout_ms = 2000;
	conn_quiet[conn(lc_pid, LC_CONN_ANSWERED)] = 99999;
	assert_true(lc_drain_run(SIGTERM));
	assert_int_equal(summary("idle"), 0);
	assert_int_equal(summary("deadline"), 1);
}

static void test_drain_exit_meanwhile(void **state)
{
	(void)state;
	conn(2000, LC_CONN_BUSY); /* another process's: not waited for once exit() is called */
	at(500, -1);
	assert_false(lc_drain_run(SIGTERM)); /* the program ends itself: its exit goes on */
	assert_int_equal(now_ms - start, 500);
	assert_true(lc_drain_exit_requested());
}

static void test_drain_for_exit(void **state)
{
	int own = conn(lc_pid, LC_CONN_BUSY);

	(void)state;
	conn(2000, LC_CONN_BUSY); /* inherited: not this process's to finish before exit() */
	at(200, own);
	assert_true(lc_drain_run(0));
	assert_false(stop_stash); /* no one will accept queued connections */
	assert_int_equal(now_ms - start, 200);
	assert_int_equal(lc_drain_remaining(true), 0);
	assert_int_equal(lc_drain_remaining(false), 1);
	assert_int_equal(summary("finished"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drain_idle_due),
		cmocka_unit_test(test_drain_done),
		cmocka_unit_test_setup_teardown(test_drain_waits_for_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_closes_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_idle_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_from_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_helper_released, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_idle_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_exit_meanwhile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_for_exit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
