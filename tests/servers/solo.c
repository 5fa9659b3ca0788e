/* SPDX-License-Identifier: MIT */
/* solo: a program with one thread, as lighttpd is, that reports what glibc believes of it once
 * lastcall's thread runs (tests/e2e/41-solo.sh). It accepts a connection of its own (which arms
 * lastcall), then prints one "name value" line per fact:
 *
 *   thread N         threads named "lastcall" in the process
 *   single N M       __libc_single_threaded, the program's copy (it reads the flag, so it has
 *                    one) and libc's own, which libc's code reads: 1, glibc takes its
 *                    single-threaded paths
 *   child-single N M the same in a child of fork(), once the child accepted too
 *   parent-single N M  the same in the parent after that fork
 *   creds FN same    after the set*id call FN (as root): every thread has the same Uid, Gid and
 *                    Groups lines in /proc/self/task/TID/status, or "differ" if one does not
 *   mallocs N        allocations made on lastcall's thread while it drained for a SIGTERM, with
 *                    a request in flight (--mallocs)
 *
 * With --thread it starts a thread of its own once lastcall's runs, then prints the same lines
 * but creds and mallocs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int listener, lc_tid;
static char *libcs; /* libc's own __libc_single_threaded */
static volatile sig_atomic_t got_term;
static int mallocs;

static void die(const char *what)
{
	fprintf(stderr, "solo: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* --mallocs: the allocator's entry points, counting calls on lastcall's thread. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static void count(void)
{
	if (lc_tid && gettid() == lc_tid)
		__atomic_add_fetch(&mallocs, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
	count();
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	count();
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	count();
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (p)
		count();
	__libc_free(p);
}

/* A connection to our own listener, accepted: the client's end and the server's. */
static void connect_self(int *client, int *server)
{
	struct sockaddr_in a;
	socklen_t n = sizeof(a);

	if (getsockname(listener, (struct sockaddr *)&a, &n) < 0)
		die("getsockname");
	if ((*client = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(*client, (struct sockaddr *)&a, n) < 0)
		die("connect");
	if ((*server = accept(listener, 0, 0)) < 0)
		die("accept");
}

/* The tid of the thread named "lastcall" (the last one, with *count of them), or 0. */
static int find_lastcall(int *found)
{
	char path[300], comm[32];
	struct dirent *d;
	int tid = 0, fd;
	ssize_t n;
	DIR *dir;

	*found = 0;
	if (!(dir = opendir("/proc/self/task")))
		die("/proc/self/task");
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", d->d_name);
		if ((fd = open(path, O_RDONLY)) < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n > 0 && strncmp(comm, "lastcall\n", (size_t)n) == 0) {
			tid = atoi(d->d_name);
			++*found;
		}
	}
	closedir(dir);
	return tid;
}

/* The Uid, Gid and Groups lines of one thread's status. */
static void creds_of(const char *tid, char *out, size_t size)
{
	char path[300], buf[4096], *line;
	size_t used = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
	out[0] = 0;
	if ((fd = open(path, O_RDONLY)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	for (line = strtok(buf, "\n"); line; line = strtok(0, "\n"))
		if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) ||
		    !strncmp(line, "Groups:", 7))
			used += (size_t)snprintf(out + used, size - used, "%s|", line);
}

/* After set*id call FN: whether every thread has the credentials of the first. */
static void creds(const char *fn, int ret)
{
	char first[512] = "", mine[512];
	const char *verdict = "same";
	struct dirent *d;
	DIR *dir;

	if (ret < 0)
		die(fn);
	if (!(dir = opendir("/proc/self/task")))
		die("/proc/self/task");
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		creds_of(d->d_name, mine, sizeof(mine));
		if (!first[0])
			strcpy(first, mine);
		else if (strcmp(first, mine))
			verdict = "differ";
	}
	closedir(dir);
	printf("creds %s %s\n", fn, verdict);
}

static void all_creds(void)
{
	gid_t one = 1;

	if (geteuid() != 0) {
		printf("creds skipped (not root)\n");
		return;
	}
	creds("setgroups", setgroups(1, &one));
	creds("initgroups", initgroups("nobody", 65534));
	creds("setegid", setegid(1));
	creds("setregid", setregid(2, 3));
	creds("setresgid", setresgid(4, 5, 6));
	creds("setgid", setgid(65534));
	creds("seteuid", seteuid(1));
	creds("setreuid", setreuid((uid_t)-1, 0) < 0 ? -1 : setreuid((uid_t)-1, 2));
	creds("setresuid", seteuid(0) < 0 ? -1 : setresuid((uid_t)-1, 3, (uid_t)-1));
	creds("setuid", seteuid(0) < 0 ? -1 : setuid(65534));
}

/* fork(): the child accepts a connection of its own (arming lastcall there), reports, ends. */
static void forked(void)
{
	int status, client, server, found;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		connect_self(&client, &server);
		find_lastcall(&found);
		printf("child-thread %d\nchild-single %d %d\n", found, __libc_single_threaded,
		       *libcs);
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		die("the child");
	printf("parent-single %d %d\n", __libc_single_threaded, *libcs);
}

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

/* SIGTERM to ourselves with a request in flight: lastcall's thread drains, then hands the
 * signal back once the reply is written and the connection closed. */
static void drain(void)
{
	struct sigaction sa = { .sa_handler = on_term };
	int client, server, i;
	char buf[64];

	sigaction(SIGTERM, &sa, 0);
	connect_self(&client, &server);
	if (write(client, "GET / HTTP/1.0\r\n\r\n", 18) != 18 || read(server, buf, sizeof(buf)) <= 0)
		die("the request");
	kill(getpid(), SIGTERM);
	poll(0, 0, 200); /* the drain waits on the request meanwhile */
	if (write(server, "HTTP/1.0 200 OK\r\n\r\n", 19) != 19)
		die("the reply");
	close(server);
	for (i = 0; i < 1000 && !got_term; i++)
		poll(0, 0, 10);
	printf("term %d\nmallocs %d\n", got_term, __atomic_load_n(&mallocs, __ATOMIC_RELAXED));
}

static void *nothing(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bool thread = argc > 1 && !strcmp(argv[1], "--thread");
	bool count_mallocs = argc > 1 && !strcmp(argv[1], "--mallocs");
	int client, server, found;
	pthread_t t;

	setvbuf(stdout, 0, _IOLBF, 0);
	if (!(libcs = dlsym(dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD), "__libc_single_threaded")))
		die("libc's __libc_single_threaded");
	if ((listener = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(listener, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(listener, 16) < 0)
		die("listen");
	connect_self(&client, &server);
	lc_tid = find_lastcall(&found);
	close(server);
	close(client);
	if (thread && (pthread_create(&t, 0, nothing, 0) || pthread_join(t, 0)))
		die("pthread_create");
	printf("thread %d\nsingle %d %d\n", found, __libc_single_threaded, *libcs);
	forked();
	if (thread)
		return 0;
	if (count_mallocs) {
		drain();
		return 0;
	}
	all_creds();
	return 0;
}
