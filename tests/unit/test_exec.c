/* SPDX-License-Identifier: MIT */
/* test_exec: the merge of a program's environment with what lastcall carries (its library in
 * LD_PRELOAD, the LASTCALL_* settings), for a program of the other C library too; the exec
 * hooks' use of it with a fake execve; the environ swap around system() and popen() with fakes
 * of those; and which C library a program is for (elf.c), on ELF files made here. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
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
#include "lastcall/exec.h"
#include "lastcall/real.h"
#include "lastcall/run.h"

struct lc_real lc_real;
pid_t lc_pid;
static int exec_stops;

/* The cleanup thread's side of an exec (thread.h): every exec hook asks it first. */
void lc_thread_exec(void)
{
	exec_stops++;
}

#define LIB "/opt/lastcall/lib/liblastcall.so"

static const char *const carried[] = { "LASTCALL_TIMEOUT=20s", "LASTCALL_LOG=warn" };
static const struct lc_exec_set set = {
	.lib = LIB, .lead = "", .vars = carried, .nvars = 2
};
static const struct lc_exec_set san_set = {
	.lib = LIB, .lead = "/usr/lib/libasan.so.8", .vars = carried, .nvars = 2
};

/* Merges envp with s into fresh storage of exactly the size lc_exec_missing() asks for. */
static char **out_p;
static char *buf_p;

static char **merge(char *const envp[], const struct lc_exec_set *s)
{
	size_t ptrs = 0, bytes = 0;

	free(out_p);
	free(buf_p);
	out_p = NULL;
	buf_p = NULL;
	if (!lc_exec_missing(envp, s, &ptrs, &bytes))
		return lc_exec_merge(envp, s, NULL, 0, NULL, 0);
	out_p = malloc(ptrs * sizeof(char *));
	buf_p = malloc(bytes ? bytes : 1);
	return lc_exec_merge(envp, s, out_p, ptrs, buf_p, bytes);
}

static int teardown(void **state)
{
	(void)state;
	free(out_p);
	free(buf_p);
	out_p = NULL;
	buf_p = NULL;
	return 0;
}

/* The entries of a merged environment, in order, one a line. */
static const char *joined(char *const env[])
{
	static char text[4096];
	size_t at = 0;

	text[0] = '\0';
	for (; env && *env && at < sizeof(text); env++)
		at += (size_t)snprintf(text + at, sizeof(text) - at, "%s\n", *env);
	return text;
}

static void test_exec_no_preload(void **state)
{
	char *envp[] = { "PATH=/usr/bin:/bin", "REQUEST_METHOD=GET", NULL };
	char *empty[] = { NULL };

	(void)state;
	assert_string_equal(joined(merge(envp, &set)),
			    "PATH=/usr/bin:/bin\nREQUEST_METHOD=GET\nLD_PRELOAD=" LIB "\n"
			    "LASTCALL_TIMEOUT=20s\nLASTCALL_LOG=warn\n");
	/* An empty environment, and none at all (execve's NULL is an empty one). */
	assert_string_equal(joined(merge(empty, &set)),
			    "LD_PRELOAD=" LIB "\nLASTCALL_TIMEOUT=20s\nLASTCALL_LOG=warn\n");
	assert_string_equal(joined(merge(NULL, &set)),
			    "LD_PRELOAD=" LIB "\nLASTCALL_TIMEOUT=20s\nLASTCALL_LOG=warn\n");
	/* In a sanitizer build the runtime leads. */
	assert_string_equal(joined(merge(envp, &san_set)),
			    "PATH=/usr/bin:/bin\nREQUEST_METHOD=GET\n"
			    "LD_PRELOAD=/usr/lib/libasan.so.8:" LIB "\n"
			    "LASTCALL_TIMEOUT=20s\nLASTCALL_LOG=warn\n");
}

static void test_exec_preload_without_us(void **state)
{
	char *envp[] = { "LD_PRELOAD=/x/other.so", "A=1", NULL };
	char *spaced[] = { "LD_PRELOAD=/x/other.so /y/more.so", NULL };
	char *empty[] = { "LD_PRELOAD=", NULL };
	char *asan_first[] = { "LD_PRELOAD=/z/libasan.so.8:/x/other.so", NULL };

	(void)state;
	assert_string_equal(joined(merge(envp, &set)),
			    "LD_PRELOAD=" LIB ":/x/other.so\nA=1\n"
			    "LASTCALL_TIMEOUT=20s\nLASTCALL_LOG=warn\n");
	assert_string_equal(merge(spaced, &set)[0], "LD_PRELOAD=" LIB ":/x/other.so /y/more.so");
	assert_string_equal(merge(empty, &set)[0], "LD_PRELOAD=" LIB);
	assert_string_equal(merge(envp, &san_set)[0],
			    "LD_PRELOAD=/usr/lib/libasan.so.8:" LIB ":/x/other.so");
	/* A sanitizer's runtime the program put first stays first. */
	assert_string_equal(merge(asan_first, &set)[0],
			    "LD_PRELOAD=/z/libasan.so.8:" LIB ":/x/other.so");
	assert_string_equal(merge(asan_first, &san_set)[0],
			    "LD_PRELOAD=/z/libasan.so.8:" LIB ":/x/other.so");
	/* The program's own string is not touched. */
	assert_string_equal(envp[0], "LD_PRELOAD=/x/other.so");
}

static void test_exec_preload_with_us(void **state)
{
	char *envp[] = { "LD_PRELOAD=/x/other.so:" LIB, "PATH=/bin", NULL };
	char *spaced[] = { "LD_PRELOAD=/x/other.so " LIB, NULL };
	char **m;

	(void)state;
	m = merge(envp, &set);
	assert_ptr_not_equal(m, envp); /* the settings are missing */
	assert_ptr_equal(m[0], envp[0]); /* LD_PRELOAD is the program's own, as it is */
	assert_string_equal(joined(m), "LD_PRELOAD=/x/other.so:" LIB "\nPATH=/bin\n"
				       "LASTCALL_TIMEOUT=20s\nLASTCALL_LOG=warn\n");
	m = merge(spaced, &set);
	assert_ptr_equal(m[0], spaced[0]);
}

static void test_exec_settings(void **state)
{
	char *envp[] = { "LASTCALL_TIMEOUT=3s", "LD_PRELOAD=" LIB, NULL };
	char *prefix[] = { "LASTCALL_TIMEOUTX=1", "LASTCALL_LOG", "LD_PRELOAD=" LIB, NULL };

	(void)state;
	/* The program's own value is kept; only the missing one is added. */
	assert_string_equal(joined(merge(envp, &set)),
			    "LASTCALL_TIMEOUT=3s\nLD_PRELOAD=" LIB "\nLASTCALL_LOG=warn\n");
	/* A name is matched whole, up to its '='. */
	assert_string_equal(joined(merge(prefix, &set)),
			    "LASTCALL_TIMEOUTX=1\nLASTCALL_LOG\nLD_PRELOAD=" LIB "\n"
			    "LASTCALL_TIMEOUT=20s\nLASTCALL_LOG=warn\n");
}

static void test_exec_nothing_missing(void **state)
{
	char *envp[] = { "LASTCALL_LOG=debug", "LD_PRELOAD=" LIB, "LASTCALL_TIMEOUT=20s", NULL };
	struct lc_exec_set off = set;
	size_t ptrs = 7, bytes = 7;

	(void)state;
	assert_false(lc_exec_missing(envp, &set, &ptrs, &bytes));
	assert_ptr_equal(merge(envp, &set), envp);
	/* Nothing to carry (not preloaded, secure execution): always the same pointer. */
	off.lib = NULL;
	assert_false(lc_exec_missing(NULL, &off, &ptrs, &bytes));
	assert_ptr_equal(lc_exec_merge(NULL, &off, NULL, 0, NULL, 0), NULL);
	assert_ptr_equal(lc_exec_merge(envp + 2, &off, NULL, 0, NULL, 0), envp + 2);
}

static void test_exec_storage_bounds(void **state)
{
	char *envp[] = { "LD_PRELOAD=/x/other.so", "A=1", NULL };
	char *out[8], buf[128];
	size_t ptrs, bytes;

	(void)state;
	assert_true(lc_exec_missing(envp, &set, &ptrs, &bytes));
	assert_int_equal(ptrs, 2 + 2 + 1);
	assert_int_equal(bytes, strlen("LD_PRELOAD=" LIB ":/x/other.so") + 1);
	memset(buf, 'Z', sizeof(buf));
	assert_null(lc_exec_merge(envp, &set, out, ptrs, buf, bytes - 1));
	assert_int_equal(buf[bytes - 1], 'Z'); /* nothing written past what it was given */
	assert_null(lc_exec_merge(envp, &set, out, ptrs - 1, buf, bytes));
	memset(buf, 'Z', sizeof(buf));
	assert_ptr_equal(lc_exec_merge(envp, &set, out, ptrs, buf, bytes), out);
	assert_null(out[ptrs - 1]);
	assert_int_equal(buf[bytes], 'Z');
}

/* Another name for the library's file counts as the library: a symbolic link under the same
 * file name. One of another name does not. */
static void test_exec_other_name(void **state)
{
	char dir[] = "/tmp/test_exec.XXXXXX", lib[64], link_dir[64], link[96], env[128];
	char *envp[] = { env, "LASTCALL_TIMEOUT=1s", "LASTCALL_LOG=info", NULL };
	struct lc_exec_set s = set;
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(lib, sizeof(lib), "%s/liblastcall.so", dir);
	snprintf(link_dir, sizeof(link_dir), "%s/alias", dir);
	snprintf(link, sizeof(link), "%s/liblastcall.so", link_dir);
	assert_non_null(f = fopen(lib, "w"));
	fclose(f);
	assert_int_equal(mkdir(link_dir, 0700), 0);
	assert_int_equal(symlink(lib, link), 0);
	assert_int_equal(stat(lib, &st), 0);
	s.lib = lib;
	s.dev = st.st_dev;
	s.ino = st.st_ino;
	snprintf(env, sizeof(env), "LD_PRELOAD=%s", link);
	assert_ptr_equal(merge(envp, &s), envp);
	s.ino++;
	assert_ptr_not_equal(merge(envp, &s), envp);
	unlink(link);
	rmdir(link_dir);
	unlink(lib);
	rmdir(dir);
}

/* The exec hooks, with a fake execve that records what it was given (the merged copy is gone
 * once the hook returns: its text is kept). */
static char seen_text[4096];
static char *const *seen_env;
static char *const *seen_argv;
static char *seen_args[8]; /* argv as it was, up to its NULL */
static const char *seen_path;

static int fake_execve(const char *path, char *const argv[], char *const envp[])
{
	int i;

	seen_path = path;
	seen_argv = argv;
	seen_env = envp;
	memset(seen_args, 0, sizeof(seen_args));
	for (i = 0; argv[i] && i < 7; i++)
		seen_args[i] = argv[i];
	snprintf(seen_text, sizeof(seen_text), "%s", joined(envp));
	errno = EACCES;
	return -1;
}

static int fake_execvpe(const char *file, char *const argv[], char *const envp[])
{
	return fake_execve(file, argv, envp);
}

static int setup_hooks(void **state)
{
	(void)state;
	lc_pid = getpid(); /* the swap's lock word holds it */
	lc_real.close = close;
	lc_real.execve = fake_execve;
	lc_real.execvpe = fake_execvpe;
	lc_exec_carry = set;
	/* system() and popen() choose by /bin/sh's C library, which may be either here (the
	 * musl build's tests run on a glibc system): the same set for both. */
	lc_exec_cross = set;
	return 0;
}

static void test_exec_hook_passes_envp(void **state)
{
	char *argv[] = { "x", NULL };
	char *full[] = { "LD_PRELOAD=" LIB, "LASTCALL_TIMEOUT=1s", "LASTCALL_LOG=info", NULL };
	char *bare[] = { "PATH=/bin", NULL };
	size_t n = LC_RUN_STACK_MAX / sizeof(char *) + 1, i;
	char **huge;

	(void)state;
	errno = 0;
	exec_stops = 0;
	assert_int_equal(lc_run_execve("/bin/x", argv, full), -1);
	assert_int_equal(exec_stops, 1); /* a held stop comes before the exec */
	assert_int_equal(errno, EACCES); /* the real call's errno */
	assert_ptr_equal(seen_env, full);
	assert_ptr_equal(seen_argv, argv);
	assert_int_equal(lc_run_execvpe("x", argv, bare), -1);
	assert_string_equal(seen_text, "PATH=/bin\nLD_PRELOAD=" LIB "\n"
				       "LASTCALL_TIMEOUT=20s\nLASTCALL_LOG=warn\n");
	/* A copy too large for the stack is not made: the program's environment goes as it is. */
	huge = calloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		huge[i] = "A=1";
	assert_int_equal(lc_run_execve("/bin/x", argv, huge), -1);
	assert_ptr_equal(seen_env, huge);
	free(huge);
}

static int call_list(enum lc_run_list kind, bool on, const char *path, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = lc_run_list(kind, on, path, arg, ap);
	va_end(ap);
	return r;
}

static void test_exec_list(void **state)
{
	char *envp[] = { "E=1", NULL };

	(void)state;
	assert_int_equal(call_list(LC_RUN_EXECL, false, "/bin/x", "x", "-a", "b", (char *)NULL), -1);
	assert_string_equal(seen_path, "/bin/x");
	assert_string_equal(seen_args[0], "x");
	assert_string_equal(seen_args[1], "-a");
	assert_string_equal(seen_args[2], "b");
	assert_null(seen_args[3]);
	assert_ptr_equal(seen_env, environ);
	/* execle: the environment after the list's NULL, merged when lastcall is on. */
	call_list(LC_RUN_EXECLE, false, "/bin/x", "x", (char *)NULL, envp);
	assert_ptr_equal(seen_env, envp);
	call_list(LC_RUN_EXECLE, true, "/bin/x", "x", (char *)NULL, envp);
	assert_string_equal(seen_text, "E=1\nLD_PRELOAD=" LIB "\n"
				       "LASTCALL_TIMEOUT=20s\nLASTCALL_LOG=warn\n");
	/* An empty list (arg0 is NULL): the environment follows it. */
	call_list(LC_RUN_EXECLE, false, "/bin/x", NULL, envp);
	assert_null(seen_args[0]);
	assert_ptr_equal(seen_env, envp);
	call_list(LC_RUN_EXECLP, false, "x", "x", (char *)NULL);
	assert_string_equal(seen_path, "x");
}

/* system() and popen(): a fake that records environ while it runs, and calls the other one
 * inside itself (a second thread in such a call at the same time). */
static char **env_in_system, **env_in_popen;
static char system_text[4096];
static int nested;

static FILE *fake_popen(const char *cmd, const char *mode)
{
	(void)cmd;
	(void)mode;
	env_in_popen = environ;
	errno = EMFILE;
	return NULL;
}

static int fake_system(const char *cmd)
{
	env_in_system = environ;
	snprintf(system_text, sizeof(system_text), "%s", joined(environ));
	if (nested)
		assert_null(lc_exec_popen(cmd, "r"));
	errno = ECHILD;
	return 42;
}

static void test_exec_environ_swap(void **state)
{
	char *mine[] = { "PATH=/bin", NULL }, **before = environ;
	char *full[] = { "LD_PRELOAD=" LIB, "LASTCALL_TIMEOUT=1s", "LASTCALL_LOG=info", NULL };

	(void)state;
	lc_real.system = fake_system;
	lc_real.popen = fake_popen;
	environ = mine;
	nested = 1;
	errno = 0;
	assert_int_equal(lc_exec_system("true"), 42);
	assert_int_equal(errno, ECHILD);
	assert_ptr_equal(environ, mine); /* put back */
	assert_string_equal(system_text, "PATH=/bin\nLD_PRELOAD=" LIB "\n"
					 "LASTCALL_TIMEOUT=20s\nLASTCALL_LOG=warn\n");
	assert_ptr_equal(env_in_popen, env_in_system); /* the same copy, one restore */
	/* Nothing missing: environ is not touched. */
	environ = full;
	nested = 0;
	assert_null(lc_exec_popen("true", "r"));
	assert_int_equal(errno, EMFILE);
	assert_ptr_equal(env_in_popen, full);
	assert_ptr_equal(environ, full);
	environ = before;
}

/* A program of the other C library: lastcall's library in LD_PRELOAD is replaced by the other
 * build, or taken out if there is none; the rest stays, and the settings are carried. */
#define MUSL_LIB "/opt/lastcall/lib/musl/liblastcall.so"
static const struct lc_exec_set other = {
	.lib = MUSL_LIB, .lead = "", .vars = carried, .nvars = 2, .replaces = &set
};
static const struct lc_exec_set none = {
	.lib = NULL, .lead = "", .vars = carried, .nvars = 2, .replaces = &set
};

static void test_exec_other_libc(void **state)
{
	char *inherited[] = { "LD_PRELOAD=" LIB, "A=1", NULL };
	char *mixed[] = { "LD_PRELOAD=/x/other.so " LIB ":/y/more.so", NULL };
	char *bare[] = { "PATH=/bin", NULL };
	char *done[] = { "LD_PRELOAD=" MUSL_LIB, "LASTCALL_TIMEOUT=1s", "LASTCALL_LOG=info", NULL };
	char *theirs[] = { "LD_PRELOAD=/x/other.so", "LASTCALL_TIMEOUT=1s", "LASTCALL_LOG=info",
			   NULL };

	(void)state;
	assert_string_equal(joined(merge(inherited, &other)),
			    "LD_PRELOAD=" MUSL_LIB "\nA=1\nLASTCALL_TIMEOUT=20s\nLASTCALL_LOG=warn\n");
	assert_string_equal(merge(mixed, &other)[0],
			    "LD_PRELOAD=" MUSL_LIB ":/x/other.so:/y/more.so");
	assert_string_equal(joined(merge(bare, &other)),
			    "PATH=/bin\nLD_PRELOAD=" MUSL_LIB "\nLASTCALL_TIMEOUT=20s\n"
			    "LASTCALL_LOG=warn\n");
	assert_ptr_equal(merge(done, &other), done);
	/* No build for it: lastcall's entry goes, nothing is added in its place. */
	assert_string_equal(joined(merge(inherited, &none)),
			    "LD_PRELOAD=\nA=1\nLASTCALL_TIMEOUT=20s\nLASTCALL_LOG=warn\n");
	assert_string_equal(merge(mixed, &none)[0], "LD_PRELOAD=/x/other.so:/y/more.so");
	assert_string_equal(joined(merge(bare, &none)),
			    "PATH=/bin\nLASTCALL_TIMEOUT=20s\nLASTCALL_LOG=warn\n");
	assert_ptr_equal(merge(theirs, &none), theirs);
}

/* Writes an ELF64 file of class cls with the interpreter interp (NULL: none, a static program)
 * at dir/name, executable. */
static void make_elf(const char *dir, const char *name, int cls, const char *interp)
{
	Elf64_Ehdr eh = { .e_phoff = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr) };
	Elf64_Phdr ph[2] = { { .p_type = PT_PHDR }, { .p_type = PT_LOAD } };
	char path[512];
	int fd;

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = (unsigned char)cls;
	eh.e_phnum = 2;
	if (interp) {
		ph[1].p_type = PT_INTERP;
		ph[1].p_offset = sizeof(eh) + sizeof(ph);
		ph[1].p_filesz = strlen(interp) + 1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, &eh, sizeof(eh)), sizeof(eh));
	assert_int_equal(write(fd, ph, sizeof(ph)), sizeof(ph));
	if (interp)
		assert_int_equal(write(fd, interp, strlen(interp) + 1), (ssize_t)strlen(interp) + 1);
	close(fd);
}

static void make_script(const char *dir, const char *name, const char *line)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(line, f);
	fclose(f);
	chmod(path, 0755);
}

static enum lc_libc libc_of(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lc_elf_libc_at(AT_FDCWD, path, 0);
}

static void test_elf_libc(void **state)
{
	char dir[] = "/tmp/lastcall-elf.XXXXXX", line[400], path[512], *saved;
	int fd;

	(void)state;
	lc_real.close = close;
	assert_non_null(mkdtemp(dir));
	make_elf(dir, "musl", ELFCLASS64, "/lib/ld-musl-x86_64.so.1");
	make_elf(dir, "glibc", ELFCLASS64, "/lib64/ld-linux-x86-64.so.2");
	make_elf(dir, "static", ELFCLASS64, NULL);
	make_elf(dir, "elf32", ELFCLASS32, "/lib/ld-musl-i386.so.1");
	make_elf(dir, "other", ELFCLASS64, "/lib/ld-other.so.1");
	assert_int_equal(libc_of(dir, "musl"), LC_LIBC_MUSL);
	assert_int_equal(libc_of(dir, "glibc"), LC_LIBC_GLIBC);
	assert_int_equal(libc_of(dir, "static"), LC_LIBC_UNKNOWN);
	assert_int_equal(libc_of(dir, "elf32"), LC_LIBC_UNKNOWN);
	assert_int_equal(libc_of(dir, "other"), LC_LIBC_UNKNOWN);
	assert_int_equal(libc_of(dir, "missing"), LC_LIBC_UNKNOWN);
	/* Scripts: the interpreter's, through #! lines, with or without blanks and arguments. */
	snprintf(line, sizeof(line), "#!%s/musl\necho\n", dir);
	make_script(dir, "script", line);
	snprintf(line, sizeof(line), "#! %s/glibc -e\n", dir);
	make_script(dir, "spaced", line);
	snprintf(line, sizeof(line), "#!%s/script", dir);
	make_script(dir, "nested", line); /* no newline: the file ends the word */
	make_script(dir, "text", "echo hello\n");
	snprintf(line, sizeof(line), "#!/%0300d\n", 0);
	make_script(dir, "long", line); /* longer than the kernel reads */
	assert_int_equal(libc_of(dir, "script"), LC_LIBC_MUSL);
	assert_int_equal(libc_of(dir, "spaced"), LC_LIBC_GLIBC);
	assert_int_equal(libc_of(dir, "nested"), LC_LIBC_MUSL);
	assert_int_equal(libc_of(dir, "text"), LC_LIBC_UNKNOWN);
	assert_int_equal(libc_of(dir, "long"), LC_LIBC_UNKNOWN);
	/* By fd (fexecve), and this test's own program. */
	snprintf(path, sizeof(path), "%s/musl", dir);
	fd = open(path, O_RDONLY);
	assert_int_equal(lc_elf_libc_at(fd, "", AT_EMPTY_PATH), LC_LIBC_MUSL);
	close(fd);
	assert_int_equal(lc_elf_libc_at(AT_FDCWD, "/proc/self/exe", 0), LC_LIBC_SELF);
	/* Found in PATH as execvp() finds it; a name with a slash is a path. */
	saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	snprintf(path, sizeof(path), "/nonexistent:%s", dir);
	setenv("PATH", path, 1);
	assert_int_equal(lc_elf_libc_search("spaced"), LC_LIBC_GLIBC);
	assert_int_equal(lc_elf_libc_search("missing"), LC_LIBC_UNKNOWN);
	snprintf(path, sizeof(path), "%s/musl", dir);
	assert_int_equal(lc_elf_libc_search(path), LC_LIBC_MUSL);
	/* The exec hooks' choice: the other C library's set for a program of it. */
	lc_exec_carry = set;
	assert_ptr_equal(lc_exec_set_for(path),
			 LC_LIBC_SELF == LC_LIBC_MUSL ? &lc_exec_carry : &lc_exec_cross);
	snprintf(path, sizeof(path), "%s/glibc", dir);
	assert_ptr_equal(lc_exec_set_for(path),
			 LC_LIBC_SELF == LC_LIBC_GLIBC ? &lc_exec_carry : &lc_exec_cross);
	snprintf(path, sizeof(path), "%s/static", dir);
	assert_ptr_equal(lc_exec_set_for(path), &lc_exec_carry);
	memset(&lc_exec_carry, 0, sizeof(lc_exec_carry));
	if (saved)
		setenv("PATH", saved, 1);
	free(saved);
	snprintf(line, sizeof(line), "rm -rf '%s'", dir);
	assert_int_equal(system(line), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_exec_no_preload, teardown),
		cmocka_unit_test_teardown(test_exec_preload_without_us, teardown),
		cmocka_unit_test_teardown(test_exec_preload_with_us, teardown),
		cmocka_unit_test_teardown(test_exec_settings, teardown),
		cmocka_unit_test_teardown(test_exec_nothing_missing, teardown),
		cmocka_unit_test(test_exec_storage_bounds),
		cmocka_unit_test_teardown(test_exec_other_name, teardown),
		cmocka_unit_test_setup(test_exec_hook_passes_envp, setup_hooks),
		cmocka_unit_test_setup(test_exec_list, setup_hooks),
		cmocka_unit_test_setup(test_exec_environ_swap, setup_hooks),
		cmocka_unit_test_teardown(test_exec_other_libc, teardown),
		cmocka_unit_test(test_elf_libc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
