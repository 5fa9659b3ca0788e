/* SPDX-License-Identifier: MIT */
/* test_notify: NOTIFY_SOCKET parsing, and the datagrams as a real socket receives them. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/config.h"
#include "lastcall/notify.h"
#include "lastcall/real.h"

struct lc_real lc_real;
int lc_helper;

static void test_address_path_and_abstract(void **state)
{
	struct sockaddr_un sa;
	socklen_t len;

	(void)state;
	assert_int_equal(lc_notify_address("/run/systemd/notify", &sa, &len), 0);
	assert_string_equal(sa.sun_path, "/run/systemd/notify");
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 20); /* with its NUL */
	assert_int_equal(lc_notify_address("@abc", &sa, &len), 0);
	assert_memory_equal(sa.sun_path, "\0abc", 4);
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 4); /* no NUL */
}

static void test_address_rejects(void **state)
{
	char longest[sizeof(((struct sockaddr_un *)0)->sun_path) + 2];
	struct sockaddr_un sa;
	socklen_t len = 7;

	(void)state;
	assert_int_equal(lc_notify_address(NULL, &sa, &len), -1);
	assert_int_equal(lc_notify_address("", &sa, &len), -1);
	assert_int_equal(lc_notify_address("@", &sa, &len), -1);
	assert_int_equal(lc_notify_address("run/notify", &sa, &len), -1);
	assert_int_equal(lc_notify_address("vsock:2:1234", &sa, &len), -1);
	/* A path needs room for its NUL; an abstract name does not. */
	memset(longest, 'x', sizeof(longest));
	longest[0] = '/';
	longest[sizeof(sa.sun_path)] = '\0';
	assert_int_equal(lc_notify_address(longest, &sa, &len), -1);
	longest[sizeof(sa.sun_path) - 1] = '\0';
	assert_int_equal(lc_notify_address(longest, &sa, &len), 0);
	longest[0] = '@';
	longest[sizeof(sa.sun_path) - 1] = 'x';
	longest[sizeof(sa.sun_path)] = '\0';
	assert_int_equal(lc_notify_address(longest, &sa, &len), 0);
	longest[sizeof(sa.sun_path)] = 'x';
	longest[sizeof(sa.sun_path) + 1] = '\0';
	assert_int_equal(lc_notify_address(longest, &sa, &len), -1);
	assert_int_equal(len, sizeof(sa)); /* the last success */
}

/* The fake environment the library reads. */
static const char *env_socket, *env_mainpid;

static const char *fake_getenv(const char *name)
{
	if (strcmp(name, "NOTIFY_SOCKET") == 0)
		return env_socket;
	if (strcmp(name, "LASTCALL_INTERNAL_MAINPID") == 0)
		return env_mainpid;
	return NULL;
}

/* A bound datagram socket in a fresh directory; its path goes to env_socket. */
static char sock_path[64];

static int receiver(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/lastcall-notify.XXXXXX";
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	assert_non_null(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/notify", dir);
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	env_socket = sock_path;
	return s;
}

static void remove_receiver(int s)
{
	close(s);
	unlink(sock_path);
	*strrchr(sock_path, '/') = '\0';
	rmdir(sock_path);
}

/* The next datagram, or "" if none is waiting. */
static const char *next(int s)
{
	static char buf[1024];
	ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);

	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void test_messages_as_received(void **state)
{
	int s = receiver();

	(void)state;
	lc_real.close = close;
	env_mainpid = NULL;
	lc_config.notify_ready = true;
	lc_notify_init(fake_getenv);
	lc_notify_listening();
	assert_string_equal(next(s), "READY=1\nSTATUS=listening (lastcall)");
	lc_notify_listening(); /* once */
	assert_string_equal(next(s), "");
	lc_notify(1, "draining on SIGTERM", 16000);
	assert_string_equal(next(s),
			    "STOPPING=1\nSTATUS=draining on SIGTERM\nEXTEND_TIMEOUT_USEC=16000000");
	lc_notify(0, "x", -1);
	assert_string_equal(next(s), "STATUS=x");
	lc_notify(0, NULL, 0);
	assert_string_equal(next(s), "EXTEND_TIMEOUT_USEC=0");
	/* A helper of a server is not the service. */
	lc_helper = 1;
	lc_notify(1, "x", 1);
	assert_string_equal(next(s), "");
	lc_helper = 0;
	/* A fork child is not the main process. */
	lc_notify_fork_child();
	lc_notify(1, "x", 1);
	assert_string_equal(next(s), "");
	remove_receiver(s);
}

static void test_only_the_main_pid_speaks(void **state)
{
	char pid[16], other[16];
	int s = receiver();

	(void)state;
	lc_real.close = close;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(other, sizeof(other), "%d", (int)getpid() + 1);
	env_mainpid = other;
	lc_notify_init(fake_getenv);
	lc_notify(1, "x", 1);
	assert_string_equal(next(s), "");
	env_mainpid = "12x";
	lc_notify_init(fake_getenv);
	lc_notify(1, "x", 1);
	assert_string_equal(next(s), "");
	env_mainpid = pid;
	lc_notify_init(fake_getenv);
	lc_notify(1, "x", 1);
	assert_string_equal(next(s), "STOPPING=1\nSTATUS=x\nEXTEND_TIMEOUT_USEC=1000");
	lc_notify_fork_child();
	remove_receiver(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_path_and_abstract),
		cmocka_unit_test(test_address_rejects),
		cmocka_unit_test(test_messages_as_received),
		cmocka_unit_test(test_only_the_main_pid_speaks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
