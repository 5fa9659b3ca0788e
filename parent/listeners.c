/* SPDX-License-Identifier: MIT */
/* listeners.c: the listening sockets lastcall-parent holds for the next generation, the owner
 * map that tells each generation which of them it serves, the control sockets' messages, and
 * readiness: when a starting generation has taken up every address and waits for connections
 * on its listeners. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lastcall/gen.h"
#include "lastcall/log.h"
#include "lastcall/scm.h"
#include "parent.h"

/* A listening socket: made by generation gen (or served by it since a restart), and taken up
 * with bind() by the starting generation taken (0: by none yet). */
struct lst {
	int fd; /* the parent's copy; -1: a free entry */
	uint64_t ino;
	struct sockaddr_storage addr;
	int gen;
	int taken;
	bool listened; /* the taker called listen() on it */
};

static struct lst lst[LC_GEN_OWNERS]; /* entry i is owners[i] in the owner map */
static struct lc_gen_owner *owners;

int lc_parent_listeners_init(void)
{
	int fd = memfd_create("lastcall-owners", MFD_CLOEXEC), i;
	size_t size = LC_GEN_OWNERS * sizeof(struct lc_gen_owner);
	void *map;

	for (i = 0; i < LC_GEN_OWNERS; i++)
		lst[i].fd = -1;
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return -1;
	map = mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -1;
	owners = map;
	return fd;
}

int lc_parent_listeners(void)
{
	int i, n = 0;

	for (i = 0; i < LC_GEN_OWNERS; i++)
		n += lst[i].fd >= 0;
	return n;
}

static void set_owner(int i, uint64_t ino, int gen)
{
	__atomic_store_n(&owners[i].gen, gen, __ATOMIC_RELEASE);
	__atomic_store_n(&owners[i].ino, ino, __ATOMIC_RELEASE);
}

static void drop(int i)
{
	set_owner(i, 0, 0);
	close(lst[i].fd);
	lst[i].fd = -1;
}

/* The same TCP address: family, port and address. */
static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a->ss_family == AF_INET6 && a6->sin6_port == b6->sin6_port &&
	       memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0 &&
	       a6->sin6_scope_id == b6->sin6_scope_id;
}

/* A TCP listening socket's inode, or 0 for anything else (only TCP listeners are handed on). */
static uint64_t tcp_listener(int fd)
{
	int domain = 0, type = 0, acc = 0;
	socklen_t n = sizeof(int);
	struct stat st;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &n) < 0 || (n = sizeof(int), 0) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &n) < 0 || (n = sizeof(int), 0) ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &n) < 0 || fstat(fd, &st) < 0)
		return 0;
	return (domain == AF_INET || domain == AF_INET6) && type == SOCK_STREAM && acc
		       ? (uint64_t)st.st_ino
		       : 0;
}

/* Generation g listened on fd: a listener it took up, or a new one the parent keeps. */
static void on_listen(const struct gen *g, int fd)
{
	uint64_t ino = tcp_listener(fd);
	socklen_t n = sizeof(struct sockaddr_storage);
	int i, free_i = -1;

	for (i = 0; i < LC_GEN_OWNERS && ino; i++) {
		if (lst[i].fd < 0 && free_i < 0)
			free_i = i;
		if (lst[i].fd >= 0 && lst[i].ino == ino) {
			lst[i].listened |= lst[i].taken == g->n;
			ino = 0;
		}
	}
	if (!ino || free_i < 0 || getsockname(fd, (struct sockaddr *)&lst[free_i].addr, &n) < 0) {
		if (ino)
			lc_log(LC_WARN, "generation %d: more than %d listeners: fd %d is not kept",
			       g->n, LC_GEN_OWNERS, fd);
		close(fd);
		return;
	}
	lst[free_i] = (struct lst){ fd, ino, lst[free_i].addr, g->n, 0, false };
	set_owner(free_i, ino, g->n);
}

/* Generation g binds an address: the listener the parent holds for it, if one is free. */
static void on_bind(const struct gen *g, const struct lc_gen_msg *m, int reply)
{
	char no = LC_GEN_NONE, yes = LC_GEN_GIVE;
	int i;

	for (i = 0; i < LC_GEN_OWNERS; i++)
		if (lst[i].fd >= 0 && lst[i].gen != g->n && !lst[i].taken &&
		    m->type == SOCK_STREAM && same_addr(&lst[i].addr, &m->addr))
			break;
	if (i < LC_GEN_OWNERS && lc_scm_send(reply, &yes, 1, lst[i].fd) == 0) {
		lst[i].taken = g->n;
		lc_log(LC_DEBUG, "generation %d takes up listener %d", g->n, i);
	} else {
		lc_scm_send(reply, &no, 1, -1);
	}
	close(reply);
}

void lc_parent_control(struct gen *g)
{
	struct lc_gen_msg m;
	ssize_t r;
	int fd;

	while (g->ctl >= 0) {
		memset(&m, 0, sizeof(m));
		r = lc_scm_recv(g->ctl, &m, sizeof(m), &fd, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) { /* every process of the generation has closed it */
			close(g->ctl);
			g->ctl = -1;
			if (fd >= 0)
				close(fd);
			return;
		}
		if (fd < 0)
			continue;
		if (m.op == LC_GEN_LISTEN)
			on_listen(g, fd);
		else if (m.op == LC_GEN_BIND && r == (ssize_t)sizeof(m))
			on_bind(g, &m, fd);
		else
			close(fd);
	}
}

/* Whether socket inode ino is one of g's listeners (taken up or its own). */
static bool serves(const struct gen *g, uint64_t ino)
{
	int i;

	for (i = 0; i < LC_GEN_OWNERS; i++)
		if (lst[i].fd >= 0 && lst[i].ino == ino && (lst[i].taken == g->n || lst[i].gen == g->n))
			return true;
	return false;
}

static ssize_t slurp(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, n - 1);
	close(fd);
	buf[r > 0 ? r : 0] = '\0';
	return r;
}

/* Whether epoll instance epfd of process pid watches one of g's listeners. */
static bool epoll_watches(const struct gen *g, pid_t pid, long epfd)
{
	char path[64], buf[16384], *p;
	unsigned long ino;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%ld", (int)pid, epfd);
	if (slurp(path, buf, sizeof(buf)) <= 0)
		return false;
	for (p = buf; (p = strstr(p, "tfd:")); p++)
		if ((p = strstr(p, " ino:")) && sscanf(p + 5, "%lx", &ino) == 1 && serves(g, ino))
			return true;
	return false;
}

/* Whether thread tid of process pid waits for connections: blocked in accept on one of g's
 * listeners, in epoll_wait on an epoll set that holds one, or in poll or select (whose sets
 * are in the program's memory, so they are taken on trust). lastcall's threads do not count. */
static bool task_waits(const struct gen *g, pid_t pid, const char *tid)
{
	char path[320], buf[256], link[64];
	unsigned long ino;
	long nr, a0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, tid);
	if (slurp(path, buf, sizeof(buf)) <= 0 || strncmp(buf, "lastcall", 8) == 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall", (int)pid, tid);
	if (slurp(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%ld %lx", &nr, &a0) != 2)
		return false;
	switch (nr) {
	case SYS_accept:
	case SYS_accept4:
		snprintf(path, sizeof(path), "/proc/%d/fd/%ld", (int)pid, a0);
		n = readlink(path, link, sizeof(link) - 1);
		return n > 0 && (link[n] = '\0', sscanf(link, "socket:[%lu]", &ino) == 1) &&
		       serves(g, ino);
#ifdef SYS_epoll_wait
	case SYS_epoll_wait:
#endif
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
#endif
	case SYS_epoll_pwait:
		return epoll_watches(g, pid, a0);
#ifdef SYS_poll
	case SYS_poll:
#endif
#ifdef SYS_select
	case SYS_select:
#endif
	case SYS_ppoll:
	case SYS_pselect6:
		return true;
	default:
		return false;
	}
}

/* Whether a thread of pid, or of a descendant (pre-fork workers), waits for connections. */
static bool tree_waits(const struct gen *g, pid_t pid, int depth)
{
	char path[320], buf[4096], *p, *end;
	struct dirent *d;
	bool found = false;
	DIR *dir;
	long kid;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(dir = opendir(path)))
		return false;
	while (!found && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		if (task_waits(g, pid, d->d_name)) {
			found = true;
			break;
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children", (int)pid, d->d_name);
		if (depth >= 4 || slurp(path, buf, sizeof(buf)) <= 0)
			continue;
		for (p = buf; !found && (kid = strtol(p, &end, 10)) > 0; p = end)
			found = tree_waits(g, (pid_t)kid, depth + 1);
	}
	closedir(dir);
	return found;
}

bool lc_parent_ready(const struct gen *g)
{
	bool inherited = false, own = false, got;
	int i, j;

	for (i = 0; i < LC_GEN_OWNERS; i++) {
		if (lst[i].fd < 0)
			continue;
		if (lst[i].gen == g->n) {
			own = true;
			continue;
		}
		inherited = true;
		for (got = false, j = 0; j < LC_GEN_OWNERS && !got; j++)
			got = lst[j].fd >= 0 && lst[j].taken == g->n && lst[j].listened &&
			      same_addr(&lst[j].addr, &lst[i].addr);
		if (!got)
			return false; /* an address not taken up yet */
	}
	return (inherited || own) && tree_waits(g, g->pid, 0);
}

void lc_parent_switch(const struct gen *g)
{
	int i;

	for (i = 0; i < LC_GEN_OWNERS; i++) {
		if (lst[i].fd < 0 || lst[i].gen == g->n)
			continue;
		if (lst[i].taken == g->n) {
			lst[i].gen = g->n;
			lst[i].taken = 0;
			set_owner(i, lst[i].ino, g->n);
		} else {
			/* A second socket on an address (SO_REUSEPORT) nobody asked for: the old
			 * generation's drain takes its queue and shuts it, as in any stop. */
			drop(i);
		}
	}
}

void lc_parent_abandon(const struct gen *g)
{
	int i;

	for (i = 0; i < LC_GEN_OWNERS; i++) {
		if (lst[i].fd >= 0 && lst[i].gen == g->n) {
			drop(i);
		} else if (lst[i].fd >= 0 && lst[i].taken == g->n) {
			lst[i].taken = 0;
			lst[i].listened = false;
		}
	}
}
