/* SPDX-License-Identifier: MIT */
/* test_elf: which C library a program is for, read from files this test writes to a temp dir:
 * 64-bit little-endian ELF headers built here (the interpreter names of musl and glibc, static
 * programs, bad and short files), #! scripts (blanks, arguments, chains, loops, /usr/bin/env),
 * by fd, and the PATH search as execvp() does it. elf.c calls only lc_real.close outside libc. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/elf.h"
#include "lastcall/real.h"

/* fakes: lc_real, with a close that counts, so every fd elf.c opens is seen closed */
struct lc_real lc_real;
static int closes;

static int counting_close(int fd)
{
	closes++;
	return close(fd);
}

static char dir[] = "/tmp/test_elf.XXXXXX";

/* How to build one ELF file; zero fields take the sane default. */
struct elf_spec {
	int cls;		/* EI_CLASS, default ELFCLASS64 */
	int phentsize;		/* default sizeof(Elf64_Phdr) */
	int phnum;		/* default 2 */
	int interp_at;		/* index of PT_INTERP among the program headers, -1: none */
	const char *interp;	/* its text (written with its NUL) */
	int interp_filesz;	/* p_filesz if not 0 */
	uint64_t interp_offset; /* p_offset if not 0 */
	uint64_t phoff;		/* e_phoff if not 0 */
	int cut;		/* if not 0, the file is truncated to this many bytes */
};

static const char *at(const char *name)
{
	static char path[4][PATH_MAX];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

static void write_elf(const char *name, const struct elf_spec *s)
{
	Elf64_Ehdr eh = { .e_phoff = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr) };
	Elf64_Phdr ph[32];
	int phnum = s->phnum ? s->phnum : 2, fd, i;
	size_t text = s->interp ? strlen(s->interp) + 1 : 0;

	assert_true(phnum <= 32);
	memset(ph, 0, sizeof(ph));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = (unsigned char)(s->cls ? s->cls : ELFCLASS64);
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_phnum = (Elf64_Half)phnum;
	if (s->phentsize)
		eh.e_phentsize = (Elf64_Half)s->phentsize;
	if (s->phoff)
		eh.e_phoff = s->phoff;
	for (i = 0; i < phnum; i++)
		ph[i].p_type = PT_LOAD;
	if (s->interp_at >= 0 && s->interp) {
		ph[s->interp_at].p_type = PT_INTERP;
		ph[s->interp_at].p_offset = s->interp_offset ? s->interp_offset
							     : sizeof(eh) + (size_t)phnum * sizeof(ph[0]);
		ph[s->interp_at].p_filesz = s->interp_filesz ? (uint64_t)s->interp_filesz : text;
	}
	fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, &eh, sizeof(eh)), sizeof(eh));
	assert_int_equal(write(fd, ph, (size_t)phnum * sizeof(ph[0])),
			 (ssize_t)((size_t)phnum * sizeof(ph[0])));
	if (text)
		assert_int_equal(write(fd, s->interp, text), (ssize_t)text);
	if (s->cut)
		assert_int_equal(ftruncate(fd, s->cut), 0);
	close(fd);
}

/* An ELF program with interpreter interp at program header 1 (NULL: static). */
static void elf(const char *name, const char *interp)
{
	struct elf_spec s = { .interp_at = interp ? 1 : -1, .interp = interp };

	write_elf(name, &s);
}

static void script(const char *name, const char *text, mode_t mode)
{
	FILE *f = fopen(at(name), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(at(name), mode), 0);
}

static enum lc_libc libc_of(const char *name)
{
	return lc_elf_libc_at(AT_FDCWD, at(name), 0);
}

#define MUSL_LD "/lib/ld-musl-x86_64.so.1"
#define GLIBC_LD "/lib64/ld-linux-x86-64.so.2"

static int setup(void **state)
{
	(void)state;
	lc_real.close = counting_close;
	closes = 0;
	strcpy(dir, "/tmp/test_elf.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* How many fds this process has open: elf.c must leave none behind. */
static int open_fds(void)
{
	char path[32];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

static void test_elf_names(void **state)
{
	(void)state;
	assert_string_equal(lc_libc_name(LC_LIBC_GLIBC), "glibc");
	assert_string_equal(lc_libc_name(LC_LIBC_MUSL), "musl");
	assert_string_equal(lc_libc_name(LC_LIBC_UNKNOWN), "unknown");
	assert_string_equal(lc_libc_name((enum lc_libc)42), "unknown");
}

/* The loader's name says the C library, whatever the architecture and directory. */
static void test_elf_interpreters(void **state)
{
	static const struct {
		const char *interp;
		enum lc_libc libc;
	} cases[] = {
		{ MUSL_LD, LC_LIBC_MUSL },
		{ "/lib/ld-musl-aarch64.so.1", LC_LIBC_MUSL },
		{ "/usr/local/musl/lib/ld-musl-x86_64.so.1", LC_LIBC_MUSL },
		{ GLIBC_LD, LC_LIBC_GLIBC },
		{ "/lib/ld-linux-aarch64.so.1", LC_LIBC_GLIBC },
		{ "/lib/ld-linux.so.2", LC_LIBC_GLIBC },
		{ "/system/bin/linker64", LC_LIBC_UNKNOWN }, /* Android's bionic */
		{ "/lib/ld-other.so.1", LC_LIBC_UNKNOWN },
		{ "ld-musl-x86_64.so.1", LC_LIBC_UNKNOWN }, /* not the name of a directory's file */
		{ "", LC_LIBC_UNKNOWN },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		elf("prog", cases[i].interp);
		assert_int_equal(libc_of("prog"), cases[i].libc);
	}
	/* Statically linked: no interpreter, nothing would load a preloaded library. */
	elf("static", NULL);
	assert_int_equal(libc_of("static"), LC_LIBC_UNKNOWN);
	(void)state;
}

/* PT_INTERP is looked for among the first 16 program headers, wherever it is among them. */
static void test_elf_interp_position(void **state)
{
	struct elf_spec s = { .phnum = 16, .interp_at = 15, .interp = MUSL_LD };

	(void)state;
	write_elf("last", &s);
	assert_int_equal(libc_of("last"), LC_LIBC_MUSL);
	s.interp_at = 0;
	write_elf("first", &s);
	assert_int_equal(libc_of("first"), LC_LIBC_MUSL);
	/* The specification puts it before any loadable segment: one further on is not read. */
	s.phnum = 20;
	s.interp_at = 17;
	write_elf("late", &s);
	assert_int_equal(libc_of("late"), LC_LIBC_UNKNOWN);
	/* Without its NUL in p_filesz the name still counts. */
	s = (struct elf_spec){ .interp_at = 1, .interp = GLIBC_LD,
			       .interp_filesz = (int)strlen(GLIBC_LD) };
	write_elf("nonul", &s);
	assert_int_equal(libc_of("nonul"), LC_LIBC_GLIBC);
	/* Only the first 256 bytes of a (absurd) long interpreter path are read. */
	{
		char longer[400];

		memset(longer, 'd', sizeof(longer));
		longer[0] = '/';
		strcpy(longer + sizeof(longer) - sizeof(MUSL_LD), MUSL_LD);
		s = (struct elf_spec){ .interp_at = 1, .interp = longer };
		write_elf("long", &s);
		assert_int_equal(libc_of("long"), LC_LIBC_UNKNOWN);
		strcpy(longer + 200, MUSL_LD);
		write_elf("long", &s);
		assert_int_equal(libc_of("long"), LC_LIBC_MUSL);
	}
}

/* Headers that are not those of a 64-bit program, or that point outside the file. */
static void test_elf_bad_files(void **state)
{
	static const char magic_only[] = ELFMAG;
	struct elf_spec s;

	(void)state;
	s = (struct elf_spec){ .cls = ELFCLASS32, .interp_at = 1, .interp = MUSL_LD };
	write_elf("elf32", &s);
	assert_int_equal(libc_of("elf32"), LC_LIBC_UNKNOWN);
	s = (struct elf_spec){ .phentsize = 32, .interp_at = 1, .interp = MUSL_LD };
	write_elf("phentsize", &s);
	assert_int_equal(libc_of("phentsize"), LC_LIBC_UNKNOWN);
	s = (struct elf_spec){ .interp_at = 1, .interp = MUSL_LD, .phoff = 1 << 20 };
	write_elf("phoff", &s);
	assert_int_equal(libc_of("phoff"), LC_LIBC_UNKNOWN);
	s = (struct elf_spec){ .interp_at = 1, .interp = MUSL_LD, .interp_offset = 1 << 20 };
	write_elf("interp_offset", &s);
	assert_int_equal(libc_of("interp_offset"), LC_LIBC_UNKNOWN);
	s = (struct elf_spec){ .interp_at = 1, .interp = MUSL_LD, .interp_filesz = -1 };
	write_elf("huge_filesz", &s); /* p_filesz 2^64-1: at most the buffer is read */
	assert_int_equal(libc_of("huge_filesz"), LC_LIBC_MUSL);
	/* Cut: in the middle of the program headers, of the interpreter's name, of the header. */
	s = (struct elf_spec){ .interp_at = 1, .interp = MUSL_LD,
			       .cut = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 10 };
	write_elf("cut_phdrs", &s);
	assert_int_equal(libc_of("cut_phdrs"), LC_LIBC_UNKNOWN);
	s.cut = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr) + 8; /* "/lib/ld-" */
	write_elf("cut_interp", &s);
	assert_int_equal(libc_of("cut_interp"), LC_LIBC_UNKNOWN);
	s.cut = sizeof(Elf64_Ehdr) - 1;
	write_elf("cut_header", &s);
	assert_int_equal(libc_of("cut_header"), LC_LIBC_UNKNOWN);
	script("magic_only", magic_only, 0755);
	assert_int_equal(libc_of("magic_only"), LC_LIBC_UNKNOWN);
	script("empty", "", 0755);
	assert_int_equal(libc_of("empty"), LC_LIBC_UNKNOWN);
	script("text", "echo " MUSL_LD "\n", 0755);
	assert_int_equal(libc_of("text"), LC_LIBC_UNKNOWN);
	assert_int_equal(libc_of("missing"), LC_LIBC_UNKNOWN);
	assert_int_equal(mkdir(at("adir"), 0755), 0);
	assert_int_equal(libc_of("adir"), LC_LIBC_UNKNOWN);
	assert_int_equal(lc_elf_libc_at(AT_FDCWD, NULL, 0), LC_LIBC_UNKNOWN);
}

/* A script is for its interpreter's C library: the first word after #!, blanks allowed before
 * it, arguments after it, the end of the file or of the line ending it. */
static void test_elf_scripts(void **state)
{
	char line[PATH_MAX + 64];

	(void)state;
	elf("musl", MUSL_LD);
	elf("glibc", GLIBC_LD);
	snprintf(line, sizeof(line), "#!%s\necho\n", at("musl"));
	script("plain", line, 0755);
	assert_int_equal(libc_of("plain"), LC_LIBC_MUSL);
	snprintf(line, sizeof(line), "#! \t%s -e -x\n", at("glibc"));
	script("spaced", line, 0755);
	assert_int_equal(libc_of("spaced"), LC_LIBC_GLIBC);
	snprintf(line, sizeof(line), "#!%s", at("glibc"));
	script("no_newline", line, 0755);
	assert_int_equal(libc_of("no_newline"), LC_LIBC_GLIBC);
	snprintf(line, sizeof(line), "#!%s\r\n", at("musl"));
	script("crlf", line, 0755);
	assert_int_equal(libc_of("crlf"), LC_LIBC_MUSL);
	/* Not executable: the answer is the file's all the same (the exec fails by itself). */
	snprintf(line, sizeof(line), "#!%s\n", at("musl"));
	script("no_x", line, 0644);
	assert_int_equal(libc_of("no_x"), LC_LIBC_MUSL);
	/* No interpreter named: nothing to follow. */
	script("bare", "#!", 0755);
	assert_int_equal(libc_of("bare"), LC_LIBC_UNKNOWN);
	script("bare_nl", "#!\n/bin/true\n", 0755);
	assert_int_equal(libc_of("bare_nl"), LC_LIBC_UNKNOWN);
	script("blank", "#!   \n", 0755);
	assert_int_equal(libc_of("blank"), LC_LIBC_UNKNOWN);
	script("missing_interp", "#!/nonexistent/lastcall/interp\n", 0755);
	assert_int_equal(libc_of("missing_interp"), LC_LIBC_UNKNOWN);
	script("hash_only", "# !/bin/sh\n", 0755);
	assert_int_equal(libc_of("hash_only"), LC_LIBC_UNKNOWN);
	/* A name the kernel's 256-byte read cuts is not taken for a shorter one. */
	snprintf(line, sizeof(line), "#!/%0300d\n", 0);
	script("long", line, 0755);
	assert_int_equal(libc_of("long"), LC_LIBC_UNKNOWN);
}

/* A relative interpreter is found from the current directory, as the kernel finds it. */
static void test_elf_script_relative(void **state)
{
	char cwd[PATH_MAX];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	elf("musl", MUSL_LD);
	script("rel", "#!./musl\n", 0755);
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(libc_of("rel"), LC_LIBC_UNKNOWN);
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(libc_of("rel"), LC_LIBC_MUSL);
	assert_int_equal(chdir(cwd), 0);
}

/* #! lines are followed four deep (a script's interpreter may be a script); a loop ends. */
static void test_elf_script_chains(void **state)
{
	char line[PATH_MAX + 8], name[8], prev[8];
	int i;

	(void)state;
	elf("s0", MUSL_LD);
	for (i = 1; i <= 5; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		snprintf(prev, sizeof(prev), "s%d", i - 1);
		snprintf(line, sizeof(line), "#!%s\n", at(prev));
		script(name, line, 0755);
	}
	assert_int_equal(libc_of("s1"), LC_LIBC_MUSL);
	assert_int_equal(libc_of("s4"), LC_LIBC_MUSL); /* four #! lines, then the ELF file */
	assert_int_equal(libc_of("s5"), LC_LIBC_UNKNOWN);
	snprintf(line, sizeof(line), "#!%s\n", at("loop"));
	script("loop", line, 0755);
	assert_int_equal(libc_of("loop"), LC_LIBC_UNKNOWN);
}

/* "#!/usr/bin/env prog": the program run is env, so env's C library decides; env, preloaded
 * too, makes its own choice when it executes prog. */
static void test_elf_script_env(void **state)
{
	char line[PATH_MAX + 32];

	(void)state;
	elf("env", MUSL_LD);
	elf("prog", GLIBC_LD);
	snprintf(line, sizeof(line), "#!%s %s\n", at("env"), at("prog"));
	script("via_env", line, 0755);
	assert_int_equal(libc_of("via_env"), LC_LIBC_MUSL);
	if (access("/usr/bin/env", X_OK) == 0) {
		script("sys_env", "#!/usr/bin/env lastcall-no-such-program\n", 0755);
		assert_int_equal(libc_of("sys_env"),
				 lc_elf_libc_at(AT_FDCWD, "/usr/bin/env", 0));
	}
}

/* By fd (fexecve: AT_EMPTY_PATH) and relative to a directory fd (execveat); the caller's fd
 * stays open, and every fd elf.c opened is closed. */
static void test_elf_by_fd(void **state)
{
	int fd, dfd, before;

	(void)state;
	elf("musl", MUSL_LD);
	elf("glibc", GLIBC_LD);
	before = open_fds();
	fd = open(at("musl"), O_RDONLY);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0 && dfd >= 0);
	closes = 0;
	assert_int_equal(lc_elf_libc_at(fd, "", AT_EMPTY_PATH), LC_LIBC_MUSL);
	assert_int_equal(closes, 1); /* its own duplicate, not fd */
	assert_true(fcntl(fd, F_GETFD) >= 0);
	assert_int_equal(lc_elf_libc_at(dfd, "glibc", 0), LC_LIBC_GLIBC);
	assert_int_equal(lc_elf_libc_at(dfd, "glibc", AT_EMPTY_PATH), LC_LIBC_GLIBC);
	assert_int_equal(lc_elf_libc_at(dfd, "", 0), LC_LIBC_UNKNOWN); /* no flag: no path */
	assert_int_equal(lc_elf_libc_at(-1, "", AT_EMPTY_PATH), LC_LIBC_UNKNOWN);
	assert_int_equal(lc_elf_libc_at(AT_FDCWD, "/proc/self/exe", 0), LC_LIBC_SELF);
	close(fd);
	close(dfd);
	assert_int_equal(open_fds(), before);
}

/* Sets PATH for one search; NULL unsets it. */
static enum lc_libc search_with(const char *path, const char *file)
{
	char *saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	enum lc_libc r;

	if (path)
		setenv("PATH", path, 1);
	else
		unsetenv("PATH");
	r = lc_elf_libc_search(file);
	if (saved)
		setenv("PATH", saved, 1);
	free(saved);
	return r;
}

/* The program execvp() would run: the first executable file of that name in PATH. */
static void test_elf_search(void **state)
{
	char path[3 * PATH_MAX], cwd[PATH_MAX], longname[PATH_MAX + 16];

	(void)state;
	assert_int_equal(mkdir(at("a"), 0755), 0);
	assert_int_equal(mkdir(at("b"), 0755), 0);
	elf("a/prog", MUSL_LD);
	elf("b/prog", GLIBC_LD);
	elf("b/other", GLIBC_LD);
	snprintf(path, sizeof(path), "/nonexistent:%s:%s", at("a"), at("b"));
	assert_int_equal(search_with(path, "prog"), LC_LIBC_MUSL); /* the first one found */
	assert_int_equal(search_with(path, "other"), LC_LIBC_GLIBC);
	assert_int_equal(search_with(path, "missing"), LC_LIBC_UNKNOWN);
	/* Not executable: execvp passes over it. */
	assert_int_equal(chmod(at("a/prog"), 0644), 0);
	assert_int_equal(search_with(path, "prog"), LC_LIBC_GLIBC);
	assert_int_equal(chmod(at("a/prog"), 0755), 0);
	/* A directory of that name: execvp gets EACCES there and goes on, and so does the search. */
	assert_int_equal(mkdir(at("a/other"), 0755), 0);
	assert_int_equal(search_with(path, "other"), LC_LIBC_GLIBC);
	/* A name with a slash is a path, PATH is not searched. */
	assert_int_equal(search_with(path, at("b/prog")), LC_LIBC_GLIBC);
	assert_int_equal(search_with("/nonexistent", "b/prog"), LC_LIBC_UNKNOWN);
	assert_int_equal(search_with(NULL, NULL), LC_LIBC_UNKNOWN);
	assert_int_equal(search_with(path, ""), LC_LIBC_UNKNOWN);
	/* An empty entry, leading, inner or trailing, is the current directory. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(at("b")), 0);
	assert_int_equal(search_with(":/nonexistent", "prog"), LC_LIBC_GLIBC);
	assert_int_equal(search_with("/nonexistent::/x", "prog"), LC_LIBC_GLIBC);
	assert_int_equal(search_with("/nonexistent:", "prog"), LC_LIBC_GLIBC);
	assert_int_equal(search_with("/nonexistent", "prog"), LC_LIBC_UNKNOWN);
	assert_int_equal(chdir(cwd), 0);
	/* A directory and name too long together are passed over, not cut short. */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(search_with(path, longname), LC_LIBC_UNKNOWN);
	/* No PATH: execvp's default, "/bin:/usr/bin". */
	if (access("/bin/sh", X_OK) == 0)
		assert_int_equal(search_with(NULL, "sh"), lc_elf_libc_at(AT_FDCWD, "/bin/sh", 0));
	elf("a/sh", MUSL_LD);
	assert_int_equal(search_with(at("a"), "sh"), LC_LIBC_MUSL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_names),
		cmocka_unit_test_setup_teardown(test_elf_interpreters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_interp_position, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_bad_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_scripts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_script_relative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_script_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_script_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_by_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_search, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
