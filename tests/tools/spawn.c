/* SPDX-License-Identifier: MIT */
/* spawn [-r|-k] PIDFILE STATUSFILE COMMAND [ARGS...]
 * Runs COMMAND as a child (with default signal dispositions), writes its pid to PIDFILE, waits
 * for it and writes how it ended to STATUSFILE: "exit N at MS cpu CPUMS tree ALIVE ZOMBIES" or
 * "signal N at ...", MS being CLOCK_REALTIME milliseconds (the clock of bash's $EPOCHREALTIME),
 * CPUMS the user+system CPU time it used. Both files appear whole (written, then renamed).
 *   -r  act as the tree's reaper (PR_SET_CHILD_SUBREAPER), reaping orphans as they die:
 *       ALIVE and ZOMBIES count the command's descendants still running, or dead but
 *       unreaped, when it ended; then wait for them all before exiting;
 *   -k  the same, then SIGKILL them at once, as a container runtime does when its main
 *       process exits.
 * SIGTERM makes spawn SIGKILL everything it started and exit. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void put(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w")) || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path)) {
		perror(path);
		exit(1);
	}
}

/* Calls fn on every descendant of pid: the children of each of its threads, recursively. */
static void each_descendant(pid_t pid, void (*fn)(pid_t, char), int depth)
{
	char path[300], buf[8192], *p, *end, stat[512], state;
	struct dirent *t;
	DIR *tasks;
	FILE *f;
	size_t n;
	long kid;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (depth > 64 || !(tasks = opendir(path)))
		return;
	while ((t = readdir(tasks))) {
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children", (int)pid, t->d_name);
		if (t->d_name[0] == '.' || !(f = fopen(path, "r")))
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		for (p = buf; (kid = strtol(p, &end, 10)) > 0; p = end) {
			snprintf(path, sizeof(path), "/proc/%ld/stat", kid);
			state = '?';
			if ((f = fopen(path, "r"))) {
				if (fgets(stat, sizeof(stat), f) && strrchr(stat, ')'))
					state = strrchr(stat, ')')[2];
				fclose(f);
			}
			fn((pid_t)kid, state);
			each_descendant((pid_t)kid, fn, depth + 1);
		}
	}
	closedir(tasks);
}

/* Whether pid has started to exit: a zombie, or its PF_EXITING flag (0x4) is set. */
static int exiting(pid_t pid)
{
	char path[64], stat[512], *p;
	unsigned long flags = 0;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 1;
	n = fgets(stat, sizeof(stat), f) != NULL;
	fclose(f);
	/* pid (comm) state ppid pgrp session tty_nr tpgid flags */
	if (!n || !(p = strrchr(stat, ')')) || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return 1;
	return p[2] == 'Z' || p[2] == 'X' || (flags & 0x4);
}

static int alive, zombies;

/* Counts what is left, and names it on stderr (the command's log), to tell what it was. */
static void count(pid_t pid, char state)
{
	char path[64], comm[64] = "?";
	FILE *f;

	if (state == 'Z')
		zombies++;
	else
		alive++;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if ((f = fopen(path, "r"))) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	fprintf(stderr, "spawn: left when the command ended: %d (%s) %c\n", (int)pid, comm, state);
}

/* The processes kill_tree() stopped, to be killed. */
#define TREE_MAX 4096
static pid_t tree[TREE_MAX];
static int ntree;

static void stop_one(pid_t pid, char state)
{
	(void)state;
	kill(pid, SIGSTOP);
	if (ntree < TREE_MAX)
		tree[ntree++] = pid;
}

static void kill_one(pid_t pid, char state)
{
	(void)state;
	kill(pid, SIGKILL);
}

/* SIGKILL to everything below this process. The tree is stopped and listed first, then killed:
 * a process killed before its children are read takes them out of the walk (orphans, which
 * escape), and one stopped but not killed would stay stopped for good. A second walk kills
 * anything a fork under way let through. */
static void kill_tree(void)
{
	int i;

	ntree = 0;
	each_descendant(getpid(), stop_one, 0);
	for (i = 0; i < ntree; i++)
		kill(tree[i], SIGKILL);
	each_descendant(getpid(), kill_one, 0);
}

static void on_term(int sig)
{
	(void)sig;
	kill_tree();
	_exit(0);
}

int main(int argc, char **argv)
{
	int reaper = 0, st, i = 1;
	struct timespec ts;
	struct rusage ru;
	char text[160];
	pid_t pid;

	if (argc > 1 && (strcmp(argv[1], "-r") == 0 || strcmp(argv[1], "-k") == 0))
		reaper = argv[i++][1];
	if (argc - i < 3) {
		fprintf(stderr, "usage: spawn [-r|-k] PIDFILE STATUSFILE COMMAND [ARGS...]\n");
		return 2;
	}
	if (reaper)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGTERM, on_term);
	if ((pid = fork()) == 0) {
		/* As a service manager starts a service: default dispositions, nothing blocked.
		 * (A non-interactive shell starts background jobs with SIGINT and SIGQUIT
		 * ignored, and an ignored signal stays ignored across exec.) */
		sigset_t none;

		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execvp(argv[i + 2], argv + i + 2);
		perror(argv[i + 2]);
		_exit(127);
	}
	snprintf(text, sizeof(text), "%d\n", (int)pid);
	put(argv[i], text);
	/* As a reaper, orphans adopted before the command ends are reaped as they die, as init
	 * would: only what is left when the command ends counts. The command's own zombies are
	 * adopted while it exits, and reported a moment before it is: a dead child seen once the
	 * command is exiting is left for the count. */
	for (;;) {
		siginfo_t si = { 0 };

		if (waitid(reaper ? P_ALL : P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			perror("waitid");
			return 1;
		}
		if (si.si_pid == pid || exiting(pid))
			break;
		waitpid(si.si_pid, &st, 0);
	}
	while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
		;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* The command's orphans are ours now (subreaper): what is left of its tree. */
	if (reaper)
		each_descendant(getpid(), count, 0);
	snprintf(text, sizeof(text), "%s %d at %lld cpu %ld tree %d %d\n",
		 WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
		 (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
		 (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
			 (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000,
		 alive, zombies);
	if (reaper == 'k')
		kill_tree();
	put(argv[i + 1], text);
	while (reaper && (wait(&st) > 0 || errno == EINTR))
		;
	return 0;
}
