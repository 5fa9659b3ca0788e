/* SPDX-License-Identifier: MIT */
/* notify.c: sd_notify(3) without libsystemd: one datagram per message, the fields
 * newline-separated, from the service's main process only. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/log.h"
#include "lastcall/notify.h"
#include "lastcall/real.h"
#include "lastcall/state.h"
#include "lastcall/util.h"

static struct sockaddr_un addr;
static socklen_t addr_len; /* 0: no NOTIFY_SOCKET, or not ours to use */
static int ready_sent;

int lc_notify_address(const char *s, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 2 || n > sizeof(sa->sun_path) || (s[0] != '/' && s[0] != '@') ||
	    (s[0] == '/' && n == sizeof(sa->sun_path)))
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, s, n);
	if (s[0] == '@')
		sa->sun_path[0] = '\0'; /* abstract: the length, not a NUL, ends the name */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (s[0] == '/'));
	return 0;
}

void lc_notify_init(lc_getenv_fn get)
{
	const char *sock = get("NOTIFY_SOCKET"), *main = get("LASTCALL_INTERNAL_MAINPID");
	char *end;
	long pid;

	if (!sock)
		return;
	if (main) {
		pid = strtol(main, &end, 10);
		if (*main == '\0' || *end != '\0' || pid != (long)getpid())
			return; /* a child of the service (a CGI script, a helper): not the main pid */
	}
	if (lc_notify_address(sock, &addr, &addr_len) < 0)
		lc_log(LC_DEBUG, "NOTIFY_SOCKET: unsupported address, not notifying systemd");
}

/* systemd reads the sender's pid from the socket's credentials, which is why only the main
 * process may speak (NotifyAccess=main is the default). */
static void send_message(const char *msg, size_t n)
{
	int s;

	if (!lc_load(&addr_len) || lc_helper)
		return;
	/* Non-blocking: a stuck service manager must not hold up the drain. */
	s = LC_OWN(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (s < 0 || sendto(s, msg, n, MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len) < 0)
		lc_log_errno(LC_DEBUG, errno, "unable to notify systemd");
	if (s >= 0)
		lc_real.close(s);
}

void lc_notify_listening(void)
{
	static const char msg[] = "READY=1\nSTATUS=listening (lastcall)";

	if (lc_config.notify_ready && !lc_xchg(&ready_sent, 1))
		send_message(msg, sizeof(msg) - 1);
}

void lc_notify(int stopping, const char *status, int64_t extend_ms)
{
	char msg[512];
	int n;

	n = lc_format(msg, sizeof(msg), "%s%s%s%s", stopping ? "STOPPING=1\n" : "",
		      status ? "STATUS=" : "", status ? status : "", status ? "\n" : "");
	if (extend_ms >= 0)
		n += lc_format(msg + n, (int)sizeof(msg) - n, "EXTEND_TIMEOUT_USEC=%lld\n",
			       (long long)extend_ms * 1000);
	if (n > 0)
		send_message(msg, (size_t)n - 1); /* without the last newline */
}

void lc_notify_fork_child(void)
{
	addr_len = 0;
}
