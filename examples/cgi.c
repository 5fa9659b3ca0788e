/* SPDX-License-Identifier: MIT */
/* cgi: the CGI shape. For each connection the server reads the request, then forks and execs
 * /bin/sh with the client socket as its standard output; the shell (here standing in for a CGI
 * script) sleeps for the requested delay and writes the reply itself. The server reaps its
 * children in a SIGCHLD handler. No SIGTERM handler. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"

static void reap(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

/* The "CGI script": answers GET /delay/MS after MS milliseconds, and streams GET /stream/N/G
 * chunk by chunk with a sleep between two, as the other examples do. */
static void run_script(int fd, const struct request *req)
{
	char script[512];

	if (req->chunks)
		snprintf(script, sizeof(script),
			 "printf 'HTTP/1.1 200 OK\\r\\nContent-Length: %llu\\r\\n"
			 "Connection: close\\r\\n\\r\\n'; i=0; while [ $i -lt %d ]; do "
			 "[ $i -eq 0 ] || sleep %d.%03d; printf 'chunk %%d/%%d\\n' $i %d; "
			 "i=$((i + 1)); done",
			 (unsigned long long)req->body_len, req->chunks, req->gap_ms / 1000,
			 req->gap_ms % 1000, req->chunks);
	else
		snprintf(script, sizeof(script),
			 "sleep %d.%03d; printf 'HTTP/1.1 200 OK\\r\\nContent-Length: %zu\\r\\n"
			 "Connection: close\\r\\n\\r\\n%%s' '%s'",
			 req->delay_ms / 1000, req->delay_ms % 1000, strlen(req->text), req->text);
	dup2(fd, 1);
	execl("/bin/sh", "sh", "-c", script, (char *)NULL);
	_exit(127);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct request req;
	struct options o;
	char in[8192];
	size_t have;
	ssize_t r;
	int lfd, fd;

	http_options(argc, argv, &o);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = reap;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	lfd = http_listen(&o);
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) < 0)
			continue;
		for (have = 0; (r = read(fd, in + have, sizeof(in) - 1 - have)) > 0;) {
			have += (size_t)r;
			in[have] = '\0';
			if (http_parse(in, have, &req) != 0)
				break;
		}
		if (r > 0 && http_parse(in, have, &req) > 0 && fork() == 0)
			run_script(fd, &req);
		close(fd);
	}
}
