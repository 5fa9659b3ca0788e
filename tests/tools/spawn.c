/* SPDX-License-Identifier: MIT */
/* spawn PIDFILE STATUSFILE COMMAND [ARGS...]
 * Runs COMMAND as a child (with default signal dispositions), writes its pid to PIDFILE, waits for it and writes how it ended to
 * STATUSFILE: "exit N at MS cpu CPUMS" or "signal N at MS cpu CPUMS", MS being CLOCK_REALTIME
 * milliseconds (the clock of bash's $EPOCHREALTIME), CPUMS the user+system CPU time it used. Both files appear whole (written, then renamed), so a test
 * can poll for them. Exits 0 once the status is written. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
	struct timespec ts;
	struct rusage ru;
	char text[96];
	pid_t pid;
	int st;

	if (argc < 4) {
		fprintf(stderr, "usage: spawn PIDFILE STATUSFILE COMMAND [ARGS...]\n");
		return 2;
	}
	if ((pid = fork()) == 0) {
		/* As a service manager starts a service: default dispositions, nothing blocked.
		 * (A non-interactive shell starts background jobs with SIGINT and SIGQUIT
		 * ignored, and an ignored signal stays ignored across exec.) */
		sigset_t none;

		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execvp(argv[3], argv + 3);
		perror(argv[3]);
		_exit(127);
	}
	snprintf(text, sizeof(text), "%d\n", (int)pid);
	put(argv[1], text);
	while (wait4(pid, &st, 0, &ru) < 0)
		;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(text, sizeof(text), "%s %d at %lld cpu %ld\n", WIFSIGNALED(st) ? "signal" : "exit",
		 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
		 (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
		 (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
			 (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000);
	put(argv[2], text);
	return 0;
}
