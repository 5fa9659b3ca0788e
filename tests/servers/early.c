/* SPDX-License-Identifier: MIT */
/* libearly.so: a library whose constructor installs a SIGTERM handler with signal(). Preloaded
 * after lastcall (LD_PRELOAD=liblastcall.so:libearly.so), its constructor runs first, so the
 * signal() call reaches lastcall's hook before lastcall's own constructor. The handler writes
 * $EARLY_MARKER, then dies by SIGTERM. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static const char *marker;

static void on_term(int sig)
{
	int fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (write(fd, "early handler\n", 14) < 0)
			_exit(5);
		close(fd);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

__attribute__((constructor)) static void early(void)
{
	marker = getenv("EARLY_MARKER");
	if (marker)
		signal(SIGTERM, on_term);
}
