/* SPDX-License-Identifier: MIT */
/* fuzz_notify: the two values lastcall reads for systemd.
 * NOTIFY_SOCKET: lc_notify_address takes exactly what notify.h says, an absolute path that fits
 * sun_path with its NUL or "@name" that fits without one, and nothing else; what it fills in
 * is that address with the length connect(2) needs; a refused value leaves both outputs alone.
 * LASTCALL_INTERNAL_MAINPID (the input, with each "$$" replaced by our pid, as in sh): after
 * lc_notify_init, a message reaches NOTIFY_SOCKET (a socket of ours) only if the value is our
 * pid as strtol reads it (blanks, a '+', leading zeros), so a child of the service stays
 * silent whatever it inherits. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "lastcall/notify.h"
#include "lastcall/real.h"

/* notify.c's neighbours: close() is the only one the sending path uses. */
struct lc_real lc_real = { .close = close };
int lc_helper;

static char sock_name[64], *main_pid;

static const char *fake_getenv(const char *name)
{
	if (strcmp(name, "NOTIFY_SOCKET") == 0)
		return sock_name;
	CHECK(strcmp(name, "LASTCALL_INTERNAL_MAINPID") == 0);
	return main_pid;
}

/* Our own abstract socket for NOTIFY_SOCKET, once; returns its non-blocking fd. */
static int notify_socket(void)
{
	static int fd = -1;
	struct sockaddr_un sa;
	socklen_t len;

	if (fd >= 0)
		return fd;
	snprintf(sock_name, sizeof(sock_name), "@lastcall-fuzz-notify-%d", (int)getpid());
	CHECK(lc_notify_address(sock_name, &sa, &len) == 0);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, len) == 0);
	return fd;
}

/* s with each "$$" replaced by our pid (malloc'd). */
static char *with_pid(const char *s)
{
	char pid[16], *out = malloc(strlen(s) / 2 * 14 + strlen(s) + 1), *o = out;

	CHECK(out != NULL);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	while (*s)
		if (s[0] == '$' && s[1] == '$')
			o = stpcpy(o, pid), s += 2;
		else
			*o++ = *s++;
	*o = '\0';
	return out;
}

/* Whether s is our pid as strtol(s, &end, 10) reads it with *end == '\0'. */
static int is_our_pid(const char *s)
{
	long long v = 0;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '+')
		s++;
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (*s - '0');
		if (v > INT32_MAX)
			return 0;
	}
	return v == getpid();
}

static void check_address(const char *s)
{
	size_t n = strlen(s), max = sizeof(((struct sockaddr_un *)0)->sun_path);
	struct sockaddr_un sa, before;
	socklen_t len = 12345;
	int path = s[0] == '/';
	int ok = (path && n >= 2 && n < max) || (s[0] == '@' && n >= 2 && n <= max);

	memset(&sa, 0x5a, sizeof(sa));
	before = sa;
	if (lc_notify_address(s, &sa, &len) < 0) {
		CHECK(!ok);
		CHECK(len == 12345 && memcmp(&sa, &before, sizeof(sa)) == 0);
		return;
	}
	CHECK(ok);
	CHECK(sa.sun_family == AF_UNIX);
	CHECK(len == offsetof(struct sockaddr_un, sun_path) + n + path);
	CHECK(len <= sizeof(sa));
	if (path)
		CHECK(strcmp(sa.sun_path, s) == 0); /* the path and its NUL */
	else
		CHECK(sa.sun_path[0] == '\0' && memcmp(sa.sun_path + 1, s + 1, n - 1) == 0);
}

static void check_main_pid(const char *s)
{
	char msg[64];
	ssize_t got;
	int fd = notify_socket();

	main_pid = with_pid(s);
	lc_notify_fork_child(); /* forget the previous input's address */
	lc_notify_init(fake_getenv);
	lc_notify(1, NULL, -1);
	got = recv(fd, msg, sizeof(msg), 0);
	if (is_our_pid(main_pid))
		CHECK(got == 10 && memcmp(msg, "STOPPING=1", 10) == 0);
	else
		CHECK(got < 0 && errno == EAGAIN);
	free(main_pid);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	struct sockaddr_un sa;
	socklen_t len;

	check_address(s);
	CHECK(lc_notify_address(NULL, &sa, &len) < 0);
	check_main_pid(s);
	free(s);
	return 0;
}
