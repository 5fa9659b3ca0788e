/* SPDX-License-Identifier: MIT */
/* cpu PID: prints the CPU time process PID has used so far, all its threads, in nanoseconds.
 * Read through the process's CPU-time clock (clock_getcpuclockid), which counts up to the
 * moment of the call: on the kernel this was written on, /proc/PID/stat and schedstat of a
 * busy process were seen to lag behind by whole seconds. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	clockid_t clock;

	if (argc != 2) {
		fprintf(stderr, "usage: cpu PID\n");
		return 2;
	}
	if (clock_getcpuclockid(atoi(argv[1]), &clock) != 0 || clock_gettime(clock, &ts) != 0) {
		perror("cpu");
		return 1;
	}
	printf("%lld\n", (long long)ts.tv_sec * 1000000000 + ts.tv_nsec);
	return 0;
}
