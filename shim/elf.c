/* SPDX-License-Identifier: MIT */
/* elf.c: which C library a program is for (lastcall/elf.h), from a few hundred bytes of its
 * file; the exec hooks ask before they give a program lastcall's library. */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lastcall/elf.h"
#include "lastcall/real.h"

/* Program headers read at once: PT_INTERP comes before any loadable segment (the ELF
 * specification requires it), so among the first few. */
#define PHDRS 16
/* #! lines followed: a script's interpreter may be a script (the kernel allows four levels). */
#define DEPTH 4
/* What the kernel reads of a #! line (BINPRM_BUF_SIZE): the interpreter's name fits in it. */
#define LINE 256

const char *lc_libc_name(enum lc_libc libc)
{
	return libc == LC_LIBC_GLIBC ? "glibc" : libc == LC_LIBC_MUSL ? "musl" : "unknown";
}

static enum lc_libc of_interp(const char *s, size_t n)
{
	if (memmem(s, n, "/ld-musl-", 9))
		return LC_LIBC_MUSL;
	if (memmem(s, n, "/ld-linux", 9))
		return LC_LIBC_GLIBC;
	return LC_LIBC_UNKNOWN;
}

static enum lc_libc of_elf(int fd, const Elf64_Ehdr *eh)
{
	Elf64_Phdr ph[PHDRS];
	char interp[256];
	ssize_t n;
	size_t i, want;

	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof(Elf64_Phdr))
		return LC_LIBC_UNKNOWN; /* lastcall's builds are 64-bit */
	want = eh->e_phnum < PHDRS ? eh->e_phnum : PHDRS;
	n = pread(fd, ph, want * sizeof(*ph), (off_t)eh->e_phoff);
	for (i = 0; n > 0 && i < (size_t)n / sizeof(*ph); i++) {
		if (ph[i].p_type != PT_INTERP)
			continue;
		want = ph[i].p_filesz < sizeof(interp) ? ph[i].p_filesz : sizeof(interp);
		n = pread(fd, interp, want, (off_t)ph[i].p_offset);
		return n > 0 ? of_interp(interp, (size_t)n) : LC_LIBC_UNKNOWN;
	}
	return LC_LIBC_UNKNOWN; /* statically linked: no loader, nothing preloaded */
}

static enum lc_libc of_file(int dirfd, const char *path, int flags, int depth)
{
	union {
		Elf64_Ehdr eh;
		char text[LINE + 1];
	} head;
	char interp[LINE];
	enum lc_libc libc = LC_LIBC_UNKNOWN;
	ssize_t n;
	size_t len;
	int fd;

	if ((flags & AT_EMPTY_PATH) && !*path)
		fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	else
		fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return LC_LIBC_UNKNOWN;
	n = pread(fd, head.text, LINE, 0);
	if (n >= (ssize_t)sizeof(head.eh) && memcmp(head.text, ELFMAG, SELFMAG) == 0) {
		libc = of_elf(fd, &head.eh);
	} else if (n > 2 && head.text[0] == '#' && head.text[1] == '!' && depth < DEPTH) {
		/* "#! /bin/sh -e": the interpreter is the first word, whole if a blank follows it
		 * or the file ends there. */
		head.text[n] = '\0';
		path = head.text + 2 + strspn(head.text + 2, " \t");
		len = strcspn(path, " \t\r\n");
		if (len > 0 && len < sizeof(interp) && (path[len] != '\0' || n < LINE)) {
			memcpy(interp, path, len);
			interp[len] = '\0';
			lc_real.close(fd);
			return of_file(AT_FDCWD, interp, 0, depth + 1);
		}
	}
	lc_real.close(fd);
	return libc;
}

enum lc_libc lc_elf_libc_at(int dirfd, const char *path, int flags)
{
	return path ? of_file(dirfd, path, flags, 0) : LC_LIBC_UNKNOWN;
}

enum lc_libc lc_elf_libc_search(const char *file)
{
	const char *p = getenv("PATH"), *end, *dir;
	char path[PATH_MAX];
	size_t dlen, flen;
	struct stat st;

	if (!file || !*file)
		return LC_LIBC_UNKNOWN;
	if (strchr(file, '/'))
		return of_file(AT_FDCWD, file, 0, 0);
	flen = strlen(file);
	for (p = p ? p : "/bin:/usr/bin";; p = end + 1) {
		end = strchrnul(p, ':');
		/* An empty entry is the current directory. */
		dir = end > p ? p : ".";
		dlen = end > p ? (size_t)(end - p) : 1;
		if (dlen + 1 + flen < sizeof(path)) {
			memcpy(path, dir, dlen);
			path[dlen] = '/';
			memcpy(path + dlen + 1, file, flen + 1);
			/* execvp() passes over what it cannot execute, a directory too (EACCES). */
			if (access(path, X_OK) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
				return of_file(AT_FDCWD, path, 0, 0);
		}
		if (!*end)
			return LC_LIBC_UNKNOWN;
	}
}
