/* SPDX-License-Identifier: MIT */
/* gen.c: a process of a generation run by lastcall-parent (--restart-on): its control socket,
 * the bind() that takes an inherited listener, the owner map (docs/design.md, "Restarts"). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lastcall/sys.h"
#include "lastcall/atomic.h"
#include "lastcall/config.h"
#include "lastcall/fds.h"
#include "lastcall/gen.h"
#include "lastcall/log.h"
#include "lastcall/real.h"
#include "lastcall/scm.h"
#include "lastcall/util.h"

/* How long bind() waits for the parent's answer. The parent answers from its poll loop at
 * once; this only bounds a parent that is gone or stuck. */
#define ASK_MS 5000

#ifndef SYS_accept
#define SYS_accept -1 /* architectures with accept4 only */
#endif

/* The control socket carries listeners going up and requests for inherited listeners; the owner
 * map tells a stopping generation which sockets another one serves. */
static int ctl = -1;			   /* the control socket, a private fd; -1: not a generation */
static const struct lc_gen_owner *owners; /* the owner map, read-only */
static int32_t gen;			   /* this generation's number */
static bool inherits;			   /* the parent holds listeners for this generation */

/* "PID,CONTROL,MAP,GEN,INHERITED" into v; 0 if it parses. */
static int parse(const char *s, long v[5])
{
	char *end;
	int i;

	for (i = 0; i < 5; i++) {
		v[i] = strtol(s, &end, 10);
		if (end == s || *end != (i < 4 ? ',' : '\0'))
			return -1;
		s = end + 1;
	}
	return 0;
}

static long v[5]; /* LC_GEN_ENV's fields, read by lc_gen_claim() */

bool lc_gen_claim(lc_getenv_fn get)
{
	const char *s = get(LC_GEN_ENV);
	struct stat st;

	if (!s || parse(s, v) < 0 || v[0] != (long)getpid() || v[1] < 0 || v[2] < 0)
		return false; /* not the generation: a program it executed carries the variable on */
	return fstat((int)v[1], &st) == 0 && S_ISSOCK(st.st_mode) && fstat((int)v[2], &st) == 0 &&
	       S_ISREG(st.st_mode);
}

/* The control socket's number is wanted by the program's dup2(): it answers as to now. */
static void moved(int from, int to)
{
	if (from == lc_load(&ctl))
		lc_release(&ctl, to);
}

void lc_gen_startup(void)
{
	void *map;
	int fd;

	map = mmap(0, LC_GEN_OWNERS * sizeof(struct lc_gen_owner), PROT_READ, MAP_SHARED,
		   (int)v[2], 0);
	if (map == MAP_FAILED) {
		lc_log_errno(LC_WARN, errno, "unable to map the owner map: not restartable");
		return;
	}
	owners = map;
	/* Private (the program's close() cannot take them), and left open across exec where the
	 * parent put them (high numbers): a wrapper script that executes the server keeps its pid,
	 * and the server finds them as the script did. A program the generation forks and
	 * executes (a CGI script) inherits them and, with another pid, leaves them alone. */
	fd = (int)v[1];
	lc_fds_private(fd, moved);
	lc_fds_private((int)v[2], moved);
	gen = (int32_t)v[3];
	inherits = v[4] > 0;
	lc_release(&ctl, fd);
	lc_log(LC_DEBUG, "generation %d: control socket on fd %d, %ld listeners inherited", gen,
	       fd, v[4]);
}

bool lc_gen_inherits(void)
{
	return inherits;
}

/* Asks the parent for the listener it holds for m's address; returns it, or -1. */
static int ask(const struct lc_gen_msg *m)
{
	struct pollfd p = { .events = POLLIN };
	int pair[2], got = -1;
	char reply = 0;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return -1;
	/* The answer comes on a socketpair of this call's own: processes of a generation (pre-fork
	 * workers binding each their own socket) share the control socket. */
	if (lc_scm_send(ctl, m, sizeof(*m), pair[1]) == 0) {
		p.fd = pair[0];
		lc_real.close(pair[1]);
		pair[1] = -1;
		if (poll(&p, 1, ASK_MS) == 1 && lc_scm_recv(pair[0], &reply, 1, &got, 0) == 1 &&
		    reply != LC_GEN_GIVE && got >= 0) {
			lc_real.close(got);
			got = -1;
		}
	}
	lc_real.close(pair[0]);
	if (pair[1] >= 0)
		lc_real.close(pair[1]);
	return got;
}

int lc_gen_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct lc_gen_msg m = { .op = LC_GEN_BIND };
	int type = 0, got, fl, gfl, fdfl;
	socklen_t tl = sizeof(type);

	if (lc_acquire(&ctl) < 0 || !addr || len > sizeof(m.addr) ||
	    (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM)
		return lc_real.bind(fd, addr, len);
	m.type = type;
	m.len = len;
	memcpy(&m.addr, addr, len);
	if ((got = ask(&m)) < 0)
		return lc_real.bind(fd, addr, len);
	/* The program's choices for its fd: close-on-exec, and O_NONBLOCK (which belongs to the
	 * open file, shared with the generation that listened first: the same program sets the
	 * same, so this changes nothing there). */
	fl = fcntl(fd, F_GETFL);
	fdfl = fcntl(fd, F_GETFD);
	gfl = fcntl(got, F_GETFL);
	if (fl >= 0 && gfl >= 0 && ((fl ^ gfl) & O_NONBLOCK))
		fcntl(got, F_SETFL, (gfl & ~O_NONBLOCK) | (fl & O_NONBLOCK));
	if (lc_real.dup3(got, fd, fdfl > 0 && (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		lc_log_errno(LC_WARN, errno, "unable to take up an inherited listener on fd %d", fd);
		lc_real.close(got);
		return lc_real.bind(fd, addr, len);
	}
	lc_real.close(got);
	lc_log(LC_DEBUG, "bind: fd %d is the listener inherited from the last generation", fd);
	return 0;
}

void lc_gen_listened(int fd)
{
	struct lc_gen_msg m = { .op = LC_GEN_LISTEN };
	int err = errno, c = lc_acquire(&ctl);

	if (c >= 0 && lc_scm_send(c, &m, sizeof(m), fd) < 0)
		lc_log_errno(LC_DEBUG, errno, "unable to tell lastcall's parent about fd %d", fd);
	errno = err;
}

bool lc_gen_elsewhere(int fd)
{
	struct stat st;
	size_t i;
	uint64_t ino;

	if (!owners || fstat(fd, &st) < 0)
		return false;
	for (i = 0; i < LC_GEN_OWNERS; i++) {
		ino = lc_acquire(&owners[i].ino);
		if (ino == (uint64_t)st.st_ino) {
			int32_t g = lc_acquire(&owners[i].gen);

			return g != 0 && g != gen;
		}
	}
	return false;
}

enum { OTHER, IN_ACCEPT, ON_CPU };

/* How many times lc_gen_unblock looks while a thread is on a CPU. */
#define UNBLOCK_PASSES 5

/* Whether thread tid of this process is blocked in accept() or accept4() on fd (IN_ACCEPT), or
 * on a CPU right now (ON_CPU: the kernel cannot say in which call). */
static int in_accept(const char *tid, int fd)
{
	char path[64], buf[128], *end;
	long nr, a0;
	ssize_t n;
	int in;

	lc_format(path, sizeof(path), "/proc/self/task/%s/syscall", tid);
	if ((in = lc_open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return OTHER;
	n = read(in, buf, sizeof(buf) - 1);
	lc_real.close(in);
	if (n <= 0)
		return OTHER;
	buf[n] = '\0';
	if (strncmp(buf, "running", 7) == 0)
		return ON_CPU;
	nr = strtol(buf, &end, 10);
	if (end == buf || (nr != SYS_accept && nr != SYS_accept4))
		return OTHER;
	a0 = strtol(end, &end, 16);
	return a0 == fd ? IN_ACCEPT : OTHER;
}

/* Bit sig of the mask on line key ("SigBlk:", "SigPnd:") of thread tid's status; -1 if
 * unreadable. */
static int status_bit(const char *tid, const char *key, int sig)
{
	char path[64], buf[2048], *p;
	unsigned long long mask;
	ssize_t n;
	int in;

	lc_format(path, sizeof(path), "/proc/self/task/%s/status", tid);
	if ((in = lc_open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(in, buf, sizeof(buf) - 1);
	lc_real.close(in);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (!(p = strstr(buf, key)))
		return -1;
	mask = strtoull(p + strlen(key), 0, 16);
	return (int)(mask >> (sig - 1) & 1);
}

/* Interrupts thread tid with sig, and waits (200 ms at most) until it has taken it: a standard
 * signal still pending would swallow the one the drain's hand-back queues later. */
static void interrupt(const char *tid, int sig)
{
	struct timespec ms = { 0, 1000000 };
	int i;

	if (status_bit(tid, "SigBlk:", sig) != 0)
		return; /* blocked there: it would only stay pending */
	lc_syscall(SYS_tgkill, getpid(), (pid_t)strtol(tid, 0, 10), sig);
	for (i = 0; i < 200 && status_bit(tid, "SigPnd:", sig) == 1; i++)
		nanosleep(&ms, 0);
}

/* One look at this process's threads (the cleanup thread, the caller, aside): each blocked in
 * accept() on fd is interrupted with sig. Returns whether one was on a CPU. */
static bool unblock_pass(int fd, int sig)
{
	long me = (long)lc_syscall(SYS_gettid);
	struct lc_dir dir;
	const char *tid;
	bool on_cpu = false;
	int what;

	if (lc_dir_open(&dir, "/proc/self/task") < 0)
		return false;
	while ((tid = lc_dir_next(&dir, 0))) {
		if (strtol(tid, 0, 10) == me)
			continue;
		what = in_accept(tid, fd);
		on_cpu |= what == ON_CPU;
		if (what == IN_ACCEPT) {
			interrupt(tid, sig);
			lc_log(LC_DEBUG, "thread %s was in accept() on fd %d: moved to the stand-in",
			       tid, fd);
		}
	}
	return on_cpu;
}

void lc_gen_unblock(int fd)
{
	int sig = (lc_config.signals >> SIGTERM & 1) ? SIGTERM : 0, s, pass;
	struct timespec ms = { 0, 1000000 };

	for (s = 1; s < 64 && !sig; s++)
		if (s != SIGINT && (lc_config.signals >> s & 1))
			sig = s;
	if (!sig)
		return;
	/* A thread on a CPU may be inside accept() already, on the socket it looked up before
	 * the stand-in took its fd, about to wait there: looked at again 1 ms later. Left
	 * waiting, it would take a connection meant for the next generation, perhaps as this
	 * process ends (a reset). */
	for (pass = 0; pass < UNBLOCK_PASSES && unblock_pass(fd, sig); pass++)
		nanosleep(&ms, 0);
}
