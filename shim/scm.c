/* SPDX-License-Identifier: MIT */
/* scm.c: a message and one file descriptor over an AF_UNIX socket (SCM_RIGHTS), for the
 * control socket between lastcall-parent and a generation (gen.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "lastcall/scm.h"

int lc_scm_send(int s, const void *buf, size_t n, int fd)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} c;
	struct iovec iov = { (void *)buf, n };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;

	if (fd >= 0) {
		memset(&c, 0, sizeof(c));
		m.msg_control = c.space;
		m.msg_controllen = sizeof(c.space);
		c.h.cmsg_level = SOL_SOCKET;
		c.h.cmsg_type = SCM_RIGHTS;
		c.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&c.h), &fd, sizeof(int));
	}
	do
		r = sendmsg(s, &m, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : 0;
}

ssize_t lc_scm_recv(int s, void *buf, size_t n, int *fd, int flags)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))]; /* room for one: the kernel drops more */
	} c;
	struct iovec iov = { buf, n };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.space,
			    .msg_controllen = sizeof(c.space) };
	struct cmsghdr *h;
	ssize_t r;

	*fd = -1;
	do
		r = recvmsg(s, &m, flags | MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	for (h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
		    h->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(h), sizeof(int));
	return r;
}
