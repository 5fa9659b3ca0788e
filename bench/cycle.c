/* SPDX-License-Identifier: MIT */
/* cycle: the program callgrind measures for figure 1 (bench/README.md).
 *   cycle accept N    a loopback server accepts and closes N connections, one at a time
 *   cycle sigterm N   a server (it listens, so lastcall is armed) sets a SIGTERM handler N times
 *   cycle sigusr1 N   the same for SIGUSR1, a signal lastcall passes straight through
 *   cycle write N     a server writes one byte to /dev/null N times (write is not hooked)
 *   cycle syscall N   a server calls syscall(SYS_getppid) N times (a number lastcall passes on)
 * A "-mt" suffix (accept-mt...) starts an idle thread first, as a multi-threaded server has:
 * glibc takes a longer path through every cancellable call (accept4, close, write...) once a
 * process has a second thread, which lastcall's cleanup thread gives every server it arms.
 * callgrind counts only serve(), set_handler(), write_byte() and getppid_call()
 * (--toggle-collect), so the client half of each cycle is left out; run at two N, the
 * difference divided by the difference of N is the cost of one cycle, start-up costs
 * cancelling. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib.h"

/* Not static, and not inlined, so that callgrind finds them by name. */
__attribute__((noinline)) void serve(int lfd);
__attribute__((noinline)) void set_handler(int sig, const struct sigaction *act);
__attribute__((noinline)) void write_byte(int fd);
__attribute__((noinline)) long getppid_call(void);

/* One accept4 + close, the server's side of a connection. */

void serve(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		perror("accept4");
		exit(1);
	}
	close(fd);
}

void set_handler(int sig, const struct sigaction *act)
{
	if (sigaction(sig, act, NULL) < 0) {
		perror("sigaction");
		exit(1);
	}
}

void write_byte(int fd)
{
	if (write(fd, "x", 1) != 1) {
		perror("write");
		exit(1);
	}
}

long getppid_call(void)
{
	return syscall(SYS_getppid);
}

static void on_signal(int sig)
{
	(void)sig;
}

/* A listener on 127.0.0.1, any port; returns its fd and sets *port. */
static int listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t n = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &n) < 0) {
		perror("listener");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

/* Whether the mode word argv[1][0..len) is name. */
static int is(const char *mode, size_t len, const char *name)
{
	return strlen(name) == len && strncmp(mode, name, len) == 0;
}

int main(int argc, char **argv)
{
	struct sigaction act = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	const char *mode = argc == 3 ? argv[1] : "";
	size_t len = strcspn(mode, "-");
	int lfd, port, c, null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	pthread_t t;
	long i, n = argc == 3 ? atol(argv[2]) : 0;

	if (n <= 0 || (mode[len] && strcmp(mode + len, "-mt") != 0) ||
	    !(is(mode, len, "accept") || is(mode, len, "sigterm") || is(mode, len, "sigusr1") ||
	      is(mode, len, "write") || is(mode, len, "syscall"))) {
		fprintf(stderr, "usage: cycle accept|sigterm|sigusr1|write|syscall[-mt] N\n");
		return 2;
	}
	if (mode[len] && pthread_create(&t, NULL, idle, NULL) != 0) {
		fprintf(stderr, "cycle: unable to start a thread\n");
		return 1;
	}
	lfd = listener(&port);
	for (i = 0; i < n; i++) {
		if (is(mode, len, "sigterm")) {
			set_handler(SIGTERM, &act);
		} else if (is(mode, len, "sigusr1")) {
			set_handler(SIGUSR1, &act);
		} else if (is(mode, len, "write")) {
			write_byte(null);
		} else if (is(mode, len, "syscall")) {
			getppid_call();
		} else {
			/* A blocking connect on loopback returns with the connection queued. */
			if ((c = bench_connect(port, 0)) < 0) {
				perror("connect");
				return 1;
			}
			serve(lfd);
			/* A reset, not a FIN: no socket is left in TIME_WAIT, where it would slow
			 * down a drain's sock_diag query in the figures measured next. */
			setsockopt(c, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
			close(c);
		}
	}
	return 0;
}
