/* SPDX-License-Identifier: MIT */
/* prefork [--no-forward | --supervise] [options]: a master and --threads N worker processes. By
 * default the master listens and the workers inherit the socket and block in accept() on it; with
 * --reuseport each worker opens its own SO_REUSEPORT listener on the same port (the master
 * only holds the port). On SIGTERM the master forwards it to the workers and waits for them,
 * then exits 0; with --no-forward it has no handler and simply dies, leaving its workers.
 * --supervise makes the master keep its workers as Apache's, php-fpm's or gunicorn's masters
 * do: a worker that exits is replaced at once while the master is not stopping; on SIGTERM the
 * master sends SIGTERM to its workers, SIGKILL to those still running 1 s later, and exits 0
 * once it has reaped them all. It prints "spawned worker PID" for every worker it starts and
 * "SIGKILL to N workers" when it escalates. Workers have no handler of their own. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

#define MAX_WORKERS 64
#define KILL_AFTER_MS 1000

static pid_t workers[MAX_WORKERS];
static int nworkers;
static int supervised;		      /* --supervise */
static volatile sig_atomic_t stopping; /* --supervise: SIGTERM came */

static void on_term(int sig)
{
	int i;

	for (i = 0; i < nworkers; i++)
		kill(workers[i], sig);
}

/* --supervise's handler: the stop starts here, as in the masters it imitates. Runs only while
 * the master waits in ppoll() (the signal is blocked elsewhere), so workers[] is stable. */
static void on_stop(int sig)
{
	int i;

	(void)sig;
	stopping = 1;
	for (i = 0; i < nworkers; i++)
		if (workers[i] > 0)
			kill(workers[i], SIGTERM);
}

/* A handler, not SIG_DFL: only a caught SIGCHLD makes ppoll() return. */
static void on_child(int sig)
{
	(void)sig;
}

static void worker(int lfd)
{
	int fd;

	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			perror("accept");
			/* A supervised worker backs off from a lasting error (a listener shut
			 * under it), as the masters' workers do, instead of spinning. */
			if (supervised && errno != EINTR && errno != ECONNABORTED)
				sleep(1);
			continue;
		}
		http_serve_blocking(fd);
		close(fd);
	}
}

/* Forks a worker on lfd (on a listener of its own with --reuseport). It writes a byte to ready
 * once it listens, if ready >= 0. A worker forked by a supervising master gets the default
 * dispositions and mask back: workers have no handler. Returns its pid, or -1. */
static pid_t start_worker(int lfd, const struct options *o, int ready)
{
	struct sigaction dfl;
	sigset_t none;
	pid_t pid;
	int fd;

	if ((pid = fork()) != 0)
		return pid;
	if (supervised) {
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGCHLD, &dfl, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	fd = lfd;
	if (o->reuseport && (listen(fd = http_socket(o), o->backlog) < 0))
		_exit(1);
	if (ready >= 0 && write(ready, "r", 1) < 0)
		_exit(1);
	worker(fd);
	_exit(0);
}

static void spawned(pid_t pid)
{
	if (pid > 0)
		dprintf(STDOUT_FILENO, "spawned worker %d\n", (int)pid);
}

/* Reaps what has exited; replaces each worker that exited while the master is not stopping.
 * Returns the number of workers still running. */
static int reap(int lfd, const struct options *o)
{
	int i, st, live = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (i = 0; i < nworkers; i++)
			if (workers[i] == pid) {
				workers[i] = stopping ? 0 : start_worker(lfd, o, -1);
				spawned(workers[i]);
			}
	for (i = 0; i < nworkers; i++)
		live += workers[i] > 0;
	return live;
}

static void kill_workers(void)
{
	int i, n = 0;

	for (i = 0; i < nworkers; i++)
		if (workers[i] > 0 && kill(workers[i], SIGKILL) == 0)
			n++;
	dprintf(STDOUT_FILENO, "SIGKILL to %d workers\n", n);
}

/* --supervise's handlers. SIGTERM and SIGCHLD stay blocked except inside the master loop's
 * ppoll(), so a stop or an exit is never missed between a look and the wait; open gets the
 * mask to wait with. */
static void supervise_signals(sigset_t *open)
{
	struct sigaction sa;
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, open);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
}

/* --supervise's master loop: replaces workers until SIGTERM, then waits for them, with SIGKILL
 * KILL_AFTER_MS after the stop. Returns the exit status. */
static int supervise(int lfd, const struct options *o, const sigset_t *open)
{
	int64_t stop_at = 0, left;
	struct timespec ts;
	int killed = 0;

	for (;;) {
		if (reap(lfd, o) == 0 && stopping)
			return 0;
		if (stopping && !stop_at)
			stop_at = http_now_ms();
		left = stop_at + KILL_AFTER_MS - http_now_ms();
		if (stopping && !killed && left <= 0) {
			kill_workers();
			killed = 1;
		}
		ts = (struct timespec){ left / 1000, (left % 1000) * 1000000 };
		ppoll(NULL, 0, stopping && !killed ? &ts : NULL, open);
	}
}

int main(int argc, char **argv)
{
	int lfd, i, st, ready[2], forward = 1;
	struct sigaction sa;
	sigset_t open;
	struct options o;
	char c;
	pid_t pid;

	if (argc > 1 && strcmp(argv[1], "--no-forward") == 0) {
		forward = 0;
		argv++, argc--;
	} else if (argc > 1 && strcmp(argv[1], "--supervise") == 0) {
		supervised = 1;
		argv++, argc--;
	}
	http_options(argc, argv, &o);
	nworkers = o.threads < MAX_WORKERS ? o.threads : MAX_WORKERS;
	/* With --reuseport the master's socket only holds the port: a listening one would get
	 * its share of connections and never accept them. */
	lfd = http_socket(&o);
	if (!o.reuseport && listen(lfd, o.backlog) < 0) {
		perror("listen");
		return 1;
	}
	o.port = http_port(lfd);
	if (pipe(ready) < 0)
		return 1;
	for (i = 0; i < nworkers; i++)
		workers[i] = start_worker(lfd, &o, ready[1]);
	for (i = 0; i < nworkers; i++)
		if (read(ready[0], &c, 1) != 1)
			return 1;
	if (supervised) {
		close(ready[0]);
		close(ready[1]);
		for (i = 0; i < nworkers; i++)
			spawned(workers[i]);
		supervise_signals(&open);
		http_announce(&o, o.port);
		return supervise(lfd, &o, &open);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	if (forward)
		sigaction(SIGTERM, &sa, NULL);
	/* Announced only now, every worker up and the handler set: whoever reads the port may
	 * stop the server at once and see it end as it was made to. */
	http_announce(&o, o.port);
	while ((pid = wait(&st)) > 0 || errno == EINTR)
		;
	return 0;
}
