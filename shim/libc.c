/* SPDX-License-Identifier: MIT */
/* libc.c: which C library this build is for, in words the lastcall command can find in the
 * file. Everything else that differs is in include/lastcall/libc.h. */
#include "lastcall/libc.h"

#ifdef __GLIBC__
#define LIBC "glibc"
#else
#define LIBC "musl"
#endif

/* The lastcall command reads "lastcall-libc=" followed by glibc or musl to tell the builds
 * apart, for LASTCALL_LIBRARY. */
__attribute__((used)) static const char marker[] = "lastcall-libc=" LIBC;
