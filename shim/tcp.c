/* SPDX-License-Identifier: MIT */
/* tcp.c: the SYN filter, handshakes under way (sock_diag), idle or busy (TCP_INFO, FIONREAD,
 * SIOCOUTQ), so no read or write of the program is ever hooked. Cleanup thread only. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lastcall/real.h"
#include "lastcall/tcp.h"

#ifndef SO_GET_FILTER
#define SO_GET_FILTER SO_ATTACH_FILTER
#endif

/* The kernel's TCP state numbers (include/net/tcp_states.h), not exported to user space. */
enum { ESTABLISHED = 1, SYN_RECV = 3 };

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

	if ((s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) < 0)
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

int lc_tcp_handshakes(int fd)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	int n4, n6;

	if (!is_tcp(fd) || getsockname(fd, (struct sockaddr *)&local, &len) < 0)
		return -1;
	if (local.ss_family == AF_INET)
		return count_handshakes(AF_INET, &local);
	/* An IPv6 listener on :: also takes IPv4 clients (as ::ffff:a.b.c.d), listed as AF_INET
	 * request sockets. */
	n6 = count_handshakes(AF_INET6, &local);
	if (n6 < 0 || !IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&local)->sin6_addr))
		return n6;
	{
		struct sockaddr_in any4 = { .sin_family = AF_INET,
					    .sin_port = ((struct sockaddr_in6 *)&local)->sin6_port };

		n4 = count_handshakes(AF_INET, (struct sockaddr_storage *)&any4);
	}
	return n4 < 0 ? -1 : n4 + n6;
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
