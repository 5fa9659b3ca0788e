/* SPDX-License-Identifier: MIT */
/* notify.h: the systemd notification protocol (sd_notify(3)), spoken directly: one datagram
 * of "KEY=value" lines to the AF_UNIX socket named by NOTIFY_SOCKET. Only the service's main
 * process speaks; a send never blocks, and a failure is logged at debug level and forgotten. */
#ifndef LASTCALL_NOTIFY_H
#define LASTCALL_NOTIFY_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "lastcall/config.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* Parses a NOTIFY_SOCKET value: an absolute path, or "@name" for an abstract socket. Returns 0
 * and fills *sa and *len, or -1 for anything else (too long, relative, vsock:, empty). Pure;
 * any context. */
int lc_notify_address(const char *s, struct sockaddr_un *sa, socklen_t *len);

/* Reads NOTIFY_SOCKET, and LASTCALL_INTERNAL_MAINPID (set by the lastcall command: only the
 * process with that pid is the service's main process). During lc_init() only. */
void lc_notify_init(lc_getenv_fn get);

/* READY=1 the first time the program listens, if LASTCALL_NOTIFY_READY is on. Any thread. */
void lc_notify_listening(void);

/* One message: "STOPPING=1" if stopping, "STATUS=status" if status is not NULL, and
 * "EXTEND_TIMEOUT_USEC=" if extend_ms >= 0. Cleanup thread (a drain's reports). */
void lc_notify(int stopping, const char *status, int64_t extend_ms);

/* In a child after fork: not the main process, it stays silent. */
void lc_notify_fork_child(void);

#pragma GCC visibility pop

#endif
