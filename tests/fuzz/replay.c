/* SPDX-License-Identifier: MIT */
/* replay: runs a fuzz target over files, without libFuzzer, so that any compiler exercises the
 * corpus. Arguments are files or directories (every regular file in them, in name order; the
 * first 1 MiB of each). A failed property aborts, after naming the file. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>

#include "fuzz.h"

static char current[4096];

static void name_input(int sig)
{
	static const char msg[] = "replay: failed on ";

	(void)!write(2, msg, sizeof(msg) - 1);
	(void)!write(2, current, strlen(current));
	(void)!write(2, "\n", 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Feeds one file to the target; returns 1 if it was a regular file, else 0. */
static int run_file(const char *path)
{
	static uint8_t data[1 << 20];
	size_t n;
	FILE *f;

	f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(1);
	}
	n = fread(data, 1, sizeof(data), f);
	fclose(f);
	snprintf(current, sizeof(current), "%s", path);
	LLVMFuzzerTestOneInput(data, n);
	return 1;
}

static int run_path(const char *path)
{
	struct dirent **names;
	struct stat st;
	char sub[4096];
	int i, n, runs = 0;

	if (stat(path, &st) < 0) {
		perror(path);
		exit(1);
	}
	if (!S_ISDIR(st.st_mode))
		return S_ISREG(st.st_mode) ? run_file(path) : 0;
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		perror(path);
		exit(1);
	}
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && stat(sub, &st) == 0 && S_ISREG(st.st_mode))
			runs += run_file(sub);
		free(names[i]);
	}
	free(names);
	return runs;
}

int main(int argc, char **argv)
{
	static const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
	int i, runs = 0;

	for (i = 0; i < (int)(sizeof(sigs) / sizeof(sigs[0])); i++)
		signal(sigs[i], name_input);
	for (i = 1; i < argc; i++)
		runs += run_path(argv[i]);
	printf("%s: %d inputs replayed, 0 failures\n", program_invocation_short_name, runs);
	return 0;
}
