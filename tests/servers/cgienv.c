/* SPDX-License-Identifier: MIT */
/* cgienv --run HOW --script PATH [options]: a server that runs a program for every request with
 * an environment of its own making, as CGI servers do, so nothing of its own environment
 * (LD_PRELOAD, LASTCALL_*) reaches the program by inheritance:
 *   --run execve  forks, and the child runs PATH with execve(), the client socket as its
 *                 standard output, and an environment of CGI variables only (PATH,
 *                 REQUEST_METHOD...): the script writes the whole reply itself. The server
 *                 reaps its children in a SIGCHLD handler;
 *   --run system  clears its own environment at start-up (clearenv(), then PATH), and for each
 *                 request, on a thread of its own, runs system("/bin/sh PATH >FILE") and sends
 *                 what FILE holds as the reply's body;
 *   --run popen   the same with popen("/bin/sh PATH", "r"), the body read from the pipe.
 * No SIGTERM handler. Followed by the usual --port, --port-file... options. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"

static const char *script;
static const char *run = "execve";

static void reap(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

/* Reads a request head from fd; 0 once it is whole, -1 if the client went away first. */
static int read_request(int fd)
{
	struct request req;
	char in[8192];
	size_t have = 0;
	ssize_t r;

	while ((r = read(fd, in + have, sizeof(in) - 1 - have)) > 0) {
		have += (size_t)r;
		in[have] = '\0';
		if (http_parse(in, have, &req) != 0)
			return http_parse(in, have, &req) > 0 ? 0 : -1;
	}
	return -1;
}

/* The CGI child: the script with the client socket as its standard output, and the variables
 * a CGI server sets, nothing of the server's own environment. */
static void exec_script(int fd)
{
	char *argv[] = { (char *)script, NULL };
	char *envp[] = { "PATH=/usr/bin:/bin",	      "GATEWAY_INTERFACE=CGI/1.1",
			 "SERVER_PROTOCOL=HTTP/1.1", "REQUEST_METHOD=GET",
			 "QUERY_STRING=",	      "SCRIPT_NAME=/stream",
			 NULL };

	dup2(fd, 1);
	close(fd);
	execve(script, argv, envp);
	_exit(127);
}

static void write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0 && (w = write(fd, p, n)) > 0) {
		p += w;
		n -= (size_t)w;
	}
}

/* Runs the script through system() or popen(); its output, up to n bytes, goes to body.
 * Returns the length. */
static size_t run_helper(char *body, size_t n)
{
	static unsigned counter;
	char cmd[4200], file[4120];
	size_t len = 0, r;
	FILE *f;

	if (strcmp(run, "popen") == 0) {
		snprintf(cmd, sizeof(cmd), "/bin/sh '%s'", script);
		if (!(f = popen(cmd, "r")))
			return 0;
		while (len < n && (r = fread(body + len, 1, n - len, f)) > 0)
			len += r;
		pclose(f);
		return len;
	}
	snprintf(file, sizeof(file), "%s.%d.%u.out", script, (int)getpid(),
		 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
	snprintf(cmd, sizeof(cmd), "/bin/sh '%s' >'%s'", script, file);
	if (system(cmd) == -1 || !(f = fopen(file, "r")))
		return 0;
	len = fread(body, 1, n, f);
	fclose(f);
	unlink(file);
	return len;
}

/* One connection of the system and popen modes: the request, the helper, the reply. */
static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char body[4096], head[128];
	size_t len;

	if (read_request(fd) == 0) {
		len = run_helper(body, sizeof(body));
		snprintf(head, sizeof(head),
			 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", len);
		write_all(fd, head, strlen(head));
		write_all(fd, body, len);
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct options o;
	pthread_t t;
	int lfd, fd;

	while (argc > 2 && strncmp(argv[1], "--", 2) == 0) {
		if (strcmp(argv[1], "--run") == 0)
			run = argv[2];
		else if (strcmp(argv[1], "--script") == 0)
			script = argv[2];
		else
			break;
		argv += 2, argc -= 2;
	}
	if (!script) {
		fprintf(stderr, "usage: cgienv --run execve|system|popen --script PATH [options]\n");
		return 2;
	}
	http_options(argc, argv, &o);
	if (strcmp(run, "execve") != 0) {
		/* A server that keeps nothing of the environment it was started with. */
		clearenv();
		setenv("PATH", "/usr/bin:/bin", 1);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = reap;
	sa.sa_flags = SA_RESTART;
	if (strcmp(run, "execve") == 0)
		sigaction(SIGCHLD, &sa, NULL);
	lfd = http_listen(&o);
	for (;;) {
		/* Close-on-exec: a helper must not hold the other clients' connections. */
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		if (strcmp(run, "execve") != 0) {
			if (pthread_create(&t, NULL, serve, (void *)(intptr_t)fd) != 0)
				close(fd);
			else
				pthread_detach(t);
			continue;
		}
		if (read_request(fd) == 0 && fork() == 0)
			exec_script(fd);
		close(fd);
	}
}
