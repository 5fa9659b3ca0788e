/* SPDX-License-Identifier: MIT */
/* scm.h: one message with at most one file descriptor (SCM_RIGHTS) over an AF_UNIX socket;
 * shared by the library (shim/gen.c) and lastcall-parent. */
#ifndef LASTCALL_SCM_H
#define LASTCALL_SCM_H

#include <stddef.h>
#include <sys/types.h>

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* Sends buf (n bytes) with fd attached (fd < 0: none), MSG_NOSIGNAL. Returns 0, or -1 with
 * errno. Any thread. */
int lc_scm_send(int s, const void *buf, size_t n, int fd);

/* Receives one message into buf (at most n bytes) and the fd attached to it, close-on-exec,
 * in *fd (-1 if none; more are dropped by the kernel). Returns the message's length, 0 at end
 * of file, or -1 with errno. flags are recvmsg's (MSG_DONTWAIT). Any thread. */
ssize_t lc_scm_recv(int s, void *buf, size_t n, int *fd, int flags);

#pragma GCC visibility pop

#endif
