/* SPDX-License-Identifier: MIT */
/* tcp.c: the SYN filter, connections a listener has not handed out yet (its reference count,
 * or sock_diag), idle or busy (TCP_INFO, FIONREAD, SIOCOUTQ), so no read or write of the program
 * is ever hooked. Cleanup thread only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lastcall/log.h"
#include "lastcall/real.h"
#include "lastcall/tcp.h"
#include "lastcall/util.h"

#ifndef SO_GET_FILTER
#define SO_GET_FILTER SO_ATTACH_FILTER
#endif

/* The kernel's TCP state numbers (include/net/tcp_states.h), not exported to user space. */
enum { ESTABLISHED = 1, SYN_RECV = 3, LISTEN = 10 };

static int is_tcp(int fd)
{
	int proto = 0, type = 0;
	socklen_t n = sizeof(proto);

	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &n) < 0)
		return 0;
	n = sizeof(type);
	return proto == IPPROTO_TCP && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &n) == 0 &&
	       type == SOCK_STREAM;
}

int lc_tcp_drop_syns(int fd)
{
	/* For a TCP socket filter the packet starts at the TCP header: byte 13 holds the flags.
	 * SYN set and ACK clear is a new connection attempt: drop it (return 0); keep anything
	 * else whole (return the largest length, never a small one: it would trim payloads). */
	static struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };
	socklen_t len = 0;

	if (!is_tcp(fd))
		return ENOTSUP;
	/* SO_GET_FILTER with a zero length reports the program's filter length, if any. */
	if (getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, 0, &len) == 0 && len > 0)
		return EEXIST;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		return errno;
	return 0;
}

/* Every request socket (a handshake under way, or done and waiting to be accepted) holds a
 * reference on its listener, and /proc/net/tcp prints each socket's reference count after its
 * inode. The file lists the listening sockets first and makes its lines as they are read, so
 * reading it a line at a time up to the listener costs what the host's listeners cost (30 us
 * here), where a sock_diag dump of SYN_RECV sockets walks every connection of the host (20 ms
 * with 100,000 in TIME_WAIT). The kernel makes one line ahead: after the last listener of a
 * family, the first connection of that family in the network namespace, found by walking the
 * established table (shared by all namespaces), to its end if there is none. */
enum { LINE = 150, MAX_LISTENERS = 4096 }; /* an IPv4 line, padded; IPv6 ones are longer */

struct wanted {
	unsigned long ino;
	long refs; /* -1 until found */
};

/* Field n (from 0) of a /proc/net/tcp line, as a number in base. */
static unsigned long field(const char *s, int n, int base)
{
	while (n-- > 0) {
		s += strspn(s, " ");
		s += strcspn(s, " ");
	}
	return strtoul(s, NULL, base);
}

/* Takes the reference counts of the n listening sockets of inodes w[i].ino from /proc/net/tcp
 * (tcp6 for AF_INET6), reading until all are found, the listeners end, or MAX_LISTENERS lines. */
static void listener_refs(int family, struct wanted *w, int n)
{
	char buf[4 * LINE], *line, *nl;
	unsigned long ino;
	int fd, i, lines = 0, left = n;
	size_t have = 0;
	ssize_t got;

	if ((fd = lc_open(family == AF_INET6 ? "/proc/net/tcp6" : "/proc/net/tcp",
			  O_RDONLY | O_CLOEXEC)) < 0)
		return;
	while (left > 0 && lines < MAX_LISTENERS && have + LINE < sizeof(buf) &&
	       (got = read(fd, buf + have, LINE)) > 0) {
		buf[have += (size_t)got] = '\0';
		for (line = buf; left > 0 && (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = '\0';
			if (lines++ == 0)
				continue; /* the header */
			if (field(line, 3, 16) != LISTEN) {
				left = 0;
				break;
			}
			ino = field(line, 9, 10);
			for (i = 0; i < n; i++)
				if (w[i].refs < 0 && w[i].ino == ino) {
					w[i].refs = (long)field(line, 10, 10);
					left--;
				}
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
	}
	lc_real.close(fd);
}

/* A listening socket on an ephemeral loopback port that no handshake can reach (its SYN filter
 * goes on before listen()); -1 if one cannot be made. */
static int unreachable(int family)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = LC_OWN(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));

	if (fd >= 0 &&
	    (lc_tcp_drop_syns(fd) != 0 ||
	     lc_real.bind(fd, family == AF_INET6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4,
			  family == AF_INET6 ? sizeof(a6) : sizeof(a4)) < 0 ||
	     lc_real.listen(fd, 1) < 0)) {
		lc_real.close(fd);
		fd = -1;
	}
	return fd;
}

/* The count of a listener that holds no request socket, per family: -1 not measured yet, 0 it
 * cannot be (then sock_diag counts). The kernel's own reference makes it 1 on Linux 6.18; it is
 * measured rather than assumed, once, on a listener nothing can reach. Anything else holding a
 * reference for a moment only makes the drain wait longer, for at most LC_SETTLE_MS. */
static long none_refs[2] = { -1, -1 };

/* The request sockets listening socket fd of family holds, from its reference count; -1 if it
 * cannot be read. */
static int from_refs(int fd, int family)
{
	struct wanted w[2] = { { 0, -1 }, { 0, -1 } };
	long *none = &none_refs[family == AF_INET6];
	struct stat st;
	int probe;

	if (*none == 0 || fstat(fd, &st) < 0)
		return -1;
	w[0].ino = st.st_ino;
	if (*none > 0) {
		listener_refs(family, w, 1);
	} else {
		/* The first time, with an unreachable listener read in the same pass (tried again
		 * next time if one cannot be made: out of fds, say). */
		if ((probe = unreachable(family)) < 0)
			return -1;
		if (fstat(probe, &st) == 0) {
			w[1].ino = st.st_ino;
			listener_refs(family, w, 2);
		}
		lc_real.close(probe);
		*none = w[1].refs > 0 ? w[1].refs : 0;
	}
	return *none > 0 && w[0].refs >= *none ? (int)(w[0].refs - *none) : -1;
}

/* One sock_diag dump of the SYN_RECV sockets of family; counts those whose local port and
 * address match (a wildcard listener matches any address). */
static int count_handshakes(int family, const struct sockaddr_storage *local)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = 1U << SYN_RECV },
	};
	const struct sockaddr_in *in4 = (const void *)local;
	const struct sockaddr_in6 *in6 = (const void *)local;
	uint16_t port = family == AF_INET ? in4->sin_port : in6->sin6_port;
	char buf[8192];
	struct nlmsghdr *h;
	int s, n = 0, done = 0;
	ssize_t got;

	if ((s = LC_OWN(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG))) < 0)
		return -1;
	if (send(s, &msg, sizeof(msg), 0) < 0) {
		lc_real.close(s);
		return -1;
	}
	while (!done && (got = recv(s, buf, sizeof(buf), 0)) > 0) {
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)got); h = NLMSG_NEXT(h, got)) {
			struct inet_diag_msg *d = NLMSG_DATA(h);

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = 1;
				break;
			}
			if (d->id.idiag_sport != port)
				continue;
			if (family == AF_INET && in4->sin_addr.s_addr != INADDR_ANY &&
			    d->id.idiag_src[0] != in4->sin_addr.s_addr)
				continue;
			if (family == AF_INET6 && !IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) &&
			    memcmp(d->id.idiag_src, &in6->sin6_addr, 16) != 0)
				continue;
			n++;
		}
	}
	lc_real.close(s);
	return done ? n : -1;
}

/* The handshakes under way towards local (SYN_RECV sockets), from sock_diag dumps. */
static int from_diag(struct sockaddr_storage *local)
{
	struct sockaddr_in any4 = { .sin_family = AF_INET };
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)local;
	int n4, n6;

	if (local->ss_family == AF_INET)
		return count_handshakes(AF_INET, local);
	/* An IPv6 listener on :: also takes IPv4 clients (as ::ffff:a.b.c.d), listed as AF_INET
	 * request sockets. */
	n6 = count_handshakes(AF_INET6, local);
	if (n6 < 0 || !IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
		return n6;
	any4.sin_port = in6->sin6_port;
	n4 = count_handshakes(AF_INET, (struct sockaddr_storage *)&any4);
	return n4 < 0 ? -1 : n4 + n6;
}

/* Says once in the debug log which way connections not yet accepted are counted. */
static void say(bool refs)
{
	static bool said[2];

	if (said[refs])
		return;
	said[refs] = true;
	lc_log(LC_DEBUG, "connections not yet accepted: counted %s",
	       refs ? "from the listener's reference count (/proc/net/tcp)"
		    : "with sock_diag (/proc/net/tcp unreadable, or the listener not in it)");
}

int lc_tcp_handshakes(int fd)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	struct tcp_info ti;
	int n;

	if (!is_tcp(fd) || getsockname(fd, (struct sockaddr *)&local, &len) < 0)
		return -1;
	if ((n = from_refs(fd, local.ss_family)) >= 0) {
		say(true);
		return n;
	}
	say(false);
	/* The dump sees request sockets under way only; add the queue, as the count does. */
	len = sizeof(ti);
	if ((n = from_diag(&local)) < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -1;
	return n + (int)ti.tcpi_unacked; /* on a listener: connections waiting to be accepted */
}

/* Whether the kernel filled field f of struct tcp_info (older kernels return less). */
#define HAS(n, f) ((n) >= offsetof(struct tcp_info, f) + sizeof(((struct tcp_info *)0)->f))

enum lc_conn_state lc_tcp_classify(int fd, int64_t *quiet_ms)
{
	struct tcp_info ti;
	socklen_t n = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &n) < 0 || ti.tcpi_state != ESTABLISHED)
		return LC_CONN_OTHER;
	*quiet_ms = ti.tcpi_last_data_recv < ti.tcpi_last_data_sent ? ti.tcpi_last_data_recv
								      : ti.tcpi_last_data_sent;
	if (!HAS(n, tcpi_bytes_received))
		return LC_CONN_BUSY; /* cannot tell: wait for the program */
	if (ti.tcpi_bytes_received == 0)
		return LC_CONN_FRESH;
	/* Data arrived after the last reply went out (the times are in jiffies, 4 ms here), or
	 * no reply ever went out: a request is being worked on. Equal times are ambiguous;
	 * after a first reply they are taken as a request answered within the same jiffy. */
	if (ti.tcpi_last_data_recv < ti.tcpi_last_data_sent || ti.tcpi_bytes_acked == 0)
		return LC_CONN_BUSY;
	return LC_CONN_ANSWERED;
}

bool lc_tcp_pending(int fd)
{
	int unread = 0, unsent = 0;

	/* Unsent, not unacknowledged: a reply sent but not yet acknowledged (the client's ACK
	 * often rides on its next request) is on its way, and a lingering close delivers it. */
	return ioctl(fd, FIONREAD, &unread) < 0 || ioctl(fd, SIOCOUTQNSD, &unsent) < 0 ||
	       unread > 0 || unsent > 0;
}

bool lc_tcp_delivering(int fd, int64_t within_ms)
{
	struct tcp_info ti;
	socklen_t n = sizeof(ti);
	int queued = 0;

	/* SIOCOUTQ: sent or not, what the client has not acknowledged. Acknowledged bytes are
	 * safe: a reset does not take back what the client's kernel already holds. */
	if (ioctl(fd, SIOCOUTQ, &queued) < 0 || queued <= 0)
		return false;
	memset(&ti, 0, sizeof(ti));
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &n) == 0 && HAS(n, tcpi_last_data_sent) &&
	       (int64_t)ti.tcpi_last_data_sent < within_ms;
}
