/* SPDX-License-Identifier: MIT */
/* atsecure LIBRARY VARIABLE: a program that loads LIBRARY with dlopen(), for a setuid copy.
 * The loader ignores LD_PRELOAD paths in a secure-execution process, but dlopen() of an
 * absolute path still runs the library's constructor, which is where lastcall reads its
 * configuration. Prints "secure N VARIABLE=VALUE" (getauxval(AT_SECURE), and the variable as
 * the environment holds it), loads the library, listens on 127.0.0.1 through the library's own
 * listen() (the program's calls were bound to libc before the library came), prints
 * "listening on 127.0.0.1 port N" and waits for signals until one ends it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t n = sizeof(a);
	int (*lc_listen)(int, int);
	const char *v;
	void *lib;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: atsecure LIBRARY VARIABLE\n");
		return 2;
	}
	v = getenv(argv[2]);
	printf("secure %lu %s=%s\n", getauxval(AT_SECURE), argv[2], v ? v : "(unset)");
	fflush(stdout);
	if (!(lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) ||
	    !(lc_listen = (int (*)(int, int))dlsym(lib, "listen"))) {
		fprintf(stderr, "atsecure: %s\n", dlerror());
		return 1;
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || lc_listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &n) < 0) {
		perror("atsecure");
		return 1;
	}
	printf("listening on 127.0.0.1 port %d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;)
		pause();
}
