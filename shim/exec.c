/* SPDX-License-Identifier: MIT */
/* exec.c: programs a process under lastcall runs stay under lastcall: what is carried (captured
 * once at start-up), the set each program gets, and the merge of an environment with it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lastcall/atomic.h"
#include "lastcall/elf.h"
#include "lastcall/exec.h"
#include "lastcall/log.h"
#include "lastcall/real.h"

#define PRELOAD "LD_PRELOAD="
#define PRELOAD_LEN (sizeof(PRELOAD) - 1)
#define STORE_BYTES 8192
#define STORE_VARS 64

/* Servers often build a CGI script's environment from scratch, so LD_PRELOAD would not reach
 * the script, lastcall would not load in it, and it could not hold a SIGTERM meant for the whole
 * unit until its reply is written (see Helpers in docs/design.md). The exec family itself is in
 * run.c, system() and popen() in environ.c. */
struct lc_exec_set lc_exec_carry;
struct lc_exec_set lc_exec_cross;

/* The captured strings. A fixed buffer: nothing to allocate, nothing to free. */
static char store[STORE_BYTES];
static size_t stored;
static const char *vars[STORE_VARS];

/* The next LD_PRELOAD entry at *p (entries are separated by spaces or colons, as the loader
 * reads them): its start, with *len set and *p moved past it; NULL at the end. */
static const char *next_entry(const char **p, size_t *len)
{
	const char *s = *p;

	while (*s == ':' || *s == ' ')
		s++;
	*len = strcspn(s, ": ");
	*p = s + *len;
	return *len ? s : NULL;
}

/* The file name part of the entry e (len bytes); its length in *blen. */
static const char *base(const char *e, size_t len, size_t *blen)
{
	const char *b = e + len;

	while (b > e && b[-1] != '/')
		b--;
	*blen = len - (size_t)(b - e);
	return b;
}

/* A sanitizer's runtime (libasan.so.8, libtsan.so.2, libubsan.so...): lib*san.so*. */
static bool is_sanitizer(const char *e, size_t len)
{
	size_t blen;
	const char *b = base(e, len, &blen);

	return blen > 3 && memcmp(b, "lib", 3) == 0 && memmem(b + 3, blen - 3, "san.so", 6);
}

/* Whether the entry e names lastcall's library: its exact name, or another path to the same
 * file under the same file name (a symbolic link, a relative path). */
static bool is_ours(const struct lc_exec_set *set, const char *e, size_t len)
{
	char path[PATH_MAX];
	size_t blen, llen;
	const char *b, *lb;
	struct stat st;

	if (strlen(set->lib) == len && memcmp(set->lib, e, len) == 0)
		return true;
	if (!set->ino || len >= sizeof(path))
		return false;
	b = base(e, len, &blen);
	lb = base(set->lib, strlen(set->lib), &llen);
	if (blen != llen || memcmp(b, lb, blen) != 0)
		return false;
	memcpy(path, e, len);
	path[len] = '\0';
	return stat(path, &st) == 0 && st.st_dev == set->dev && st.st_ino == set->ino;
}

/* Whether the LD_PRELOAD value v lists lastcall's library. */
static bool lists_ours(const struct lc_exec_set *set, const char *v)
{
	const char *e;
	size_t len;

	if (!set->lib)
		return false;
	while ((e = next_entry(&v, &len)))
		if (is_ours(set, e, len))
			return true;
	return false;
}

/* Whether envp sets the variable that var ("NAME=value") sets, to any value. */
static bool has_var(char *const envp[], const char *var)
{
	size_t n = strcspn(var, "=");

	for (; envp && *envp; envp++)
		if (strncmp(*envp, var, n) == 0 && (*envp)[n] == '=')
			return true;
	return false;
}

/* Writes at most cap bytes; counts them all, so a NULL buffer measures. */
struct out {
	char *buf;
	size_t at, cap;
};

static void put(struct out *o, const char *s, size_t len)
{
	if (o->buf && o->at + len <= o->cap)
		memcpy(o->buf + o->at, s, len);
	o->at += len;
}

/* "LD_PRELOAD=" with lastcall's library added to the value v (NULL: none), then a NUL. The
 * library goes first, but after a sanitizer's runtime that leads v (it must come first, and
 * checks that it does), as the lastcall command does it. */
static void put_preload(struct out *o, const struct lc_exec_set *set, const char *v)
{
	const char *p = v ? v : "", *first, *e;
	size_t len;
	bool any = false;

	put(o, PRELOAD, PRELOAD_LEN);
	if (set->replaces) { /* the other C library's program: its build, or none, then the rest */
		if (set->lib) {
			put(o, set->lib, strlen(set->lib));
			any = true;
		}
		while ((e = next_entry(&p, &len)))
			if (!is_ours(set->replaces, e, len) && !(set->lib && is_ours(set, e, len))) {
				if (any)
					put(o, ":", 1);
				put(o, e, len);
				any = true;
			}
		put(o, "", 1);
		return;
	}
	first = next_entry(&p, &len);
	if (first && is_sanitizer(first, len)) {
		put(o, v, (size_t)(p - v));
		put(o, ":", 1);
		put(o, set->lib, strlen(set->lib));
		put(o, p, strlen(p) + 1);
		return;
	}
	if (*set->lead) {
		put(o, set->lead, strlen(set->lead));
		put(o, ":", 1);
	}
	put(o, set->lib, strlen(set->lib));
	if (first) {
		put(o, ":", 1);
		put(o, v, strlen(v));
	}
	put(o, "", 1);
}

/* Whether the LD_PRELOAD value v must be written anew for set. */
static bool rewrite(const struct lc_exec_set *set, const char *v)
{
	if (set->replaces)
		return lists_ours(set->replaces, v) || (set->lib && !lists_ours(set, v));
	return !lists_ours(set, v);
}

bool lc_exec_missing(char *const envp[], const struct lc_exec_set *set, size_t *ptrs,
		     size_t *bytes)
{
	struct out o = { 0 };
	size_t n, add = 0, i;
	bool preload = false;

	if (!set->lib && !set->replaces)
		return false;
	for (n = 0; envp && envp[n]; n++)
		if (strncmp(envp[n], PRELOAD, PRELOAD_LEN) == 0) {
			preload = true;
			if (rewrite(set, envp[n] + PRELOAD_LEN))
				put_preload(&o, set, envp[n] + PRELOAD_LEN);
		}
	if (!preload && set->lib) {
		put_preload(&o, set, NULL);
		add++;
	}
	for (i = 0; i < set->nvars; i++)
		add += !has_var(envp, set->vars[i]);
	*ptrs = n + add + 1;
	*bytes = o.at;
	return o.at > 0 || add > 0;
}

/* Appends p to out (room for nout pointers, the last one for NULL); false if full. */
static bool push(char **out, size_t *n, size_t nout, char *p)
{
	if (*n + 1 >= nout)
		return false;
	out[(*n)++] = p;
	return true;
}

char **lc_exec_merge(char *const envp[], const struct lc_exec_set *set, char **out, size_t nout,
		     char *buf, size_t nbuf)
{
	struct out o = { .buf = buf, .cap = nbuf };
	size_t n = 0, i, ptrs, bytes;
	bool preload = false, ok = true;
	char *e;

	if (!lc_exec_missing(envp, set, &ptrs, &bytes))
		return (char **)envp;
	/* Every write is bounded: envp may change between the two looks (another thread's
	 * setenv() under execv()), or a file named like the library may be replaced. */
	for (i = 0; ok && envp && envp[i]; i++) {
		e = envp[i];
		if (strncmp(e, PRELOAD, PRELOAD_LEN) == 0) {
			preload = true;
			if (rewrite(set, e + PRELOAD_LEN)) {
				e = buf + o.at;
				put_preload(&o, set, envp[i] + PRELOAD_LEN);
			}
		}
		ok = push(out, &n, nout, e);
	}
	if (ok && !preload && set->lib) {
		ok = push(out, &n, nout, buf + o.at);
		put_preload(&o, set, NULL);
	}
	for (i = 0; ok && i < set->nvars; i++)
		if (!has_var(envp, set->vars[i]))
			ok = push(out, &n, nout, (char *)set->vars[i]);
	if (!ok || o.at > nbuf)
		return NULL;
	out[n] = NULL;
	return out;
}

/* Copies s (len bytes) into the store; NULL if it is full. */
static const char *keep(const char *s, size_t len)
{
	char *p = store + stored;

	if (len + 1 > sizeof(store) - stored)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	stored += len + 1;
	return p;
}

/* Keeps the variable v ("NAME=value") to carry; says once that the store is full. */
static void keep_var(const char *v)
{
	static bool warned;
	const char *p = lc_exec_carry.nvars < STORE_VARS ? keep(v, strlen(v)) : NULL;
	char name[64];

	if (p) {
		vars[lc_exec_carry.nvars++] = p;
	} else if (!warned) {
		warned = true;
		lc_format(name, (int)sizeof(name), "%s", v);
		name[strcspn(name, "=")] = '\0';
		lc_log(LC_WARN, "unable to keep %s for the programs this process runs: the "
				"settings take more than %d bytes or %d variables",
		       name, STORE_BYTES, STORE_VARS);
	}
}

/* The sanitizer options are carried only with a sanitizer's runtime ahead of lastcall: a test
 * build (make SANITIZE=...), where the tests' settings (log_path, verify_asan_link_order=0)
 * must reach every process the library is loaded into. */
static bool carried(const char *v, bool sanitizer)
{
	return strncmp(v, "LASTCALL_", 9) == 0 ||
	       (sanitizer && (strncmp(v, "ASAN_OPTIONS=", 13) == 0 ||
			      strncmp(v, "UBSAN_OPTIONS=", 14) == 0 ||
			      strncmp(v, "TSAN_OPTIONS=", 13) == 0));
}

/* Keeps the library's entry e, absolute: a program is often run in another directory (a CGI
 * script in its own), where a relative path would name nothing, or something else, and
 * without the LD_LIBRARY_PATH a bare file name may have been found with. A relative path is
 * resolved; a bare name becomes the file the loader found (found, from dladdr()). */
static const char *keep_lib(const char *e, size_t len, const char *found)
{
	char path[PATH_MAX], abs[PATH_MAX];

	if (*e == '/' || len >= sizeof(path))
		return keep(e, len);
	if (!memchr(e, '/', len))
		return *found == '/' ? keep(found, strlen(found)) : keep(e, len);
	memcpy(path, e, len);
	path[len] = '\0';
	return realpath(path, abs) ? keep(abs, strlen(abs)) : keep(e, len);
}

/* Finds lastcall's library in the LD_PRELOAD value pre (as the loader found it: dladdr() names
 * the file, the entry may be another name for it) and keeps it, with what leads it if the first
 * entry is a sanitizer's runtime. Returns whether it was found. */
static bool find_lib(const char *pre)
{
	struct lc_exec_set self = { 0 };
	const char *p = pre, *e, *first = NULL, *prev_end = NULL, *b, *lb;
	size_t len, blen, llen;
	struct stat st;
	Dl_info info;

	if (!dladdr((void *)lc_exec_init, &info) || !info.dli_fname)
		return false;
	self.lib = info.dli_fname;
	if (stat(self.lib, &st) == 0) {
		self.dev = st.st_dev;
		self.ino = st.st_ino;
	}
	lb = base(self.lib, strlen(self.lib), &llen);
	while ((e = next_entry(&p, &len))) {
		b = base(e, len, &blen);
		/* A bare file name is one the loader searched for. */
		if (is_ours(&self, e, len) || (b == e && blen == llen && memcmp(b, lb, blen) == 0))
			break;
		first = first ? first : e;
		prev_end = e + len;
	}
	if (!e || !(lc_exec_carry.lib = keep_lib(e, len, self.lib)))
		return false;
	lc_exec_carry.lead = "";
	if (first && is_sanitizer(first, strcspn(first, ": ")))
		lc_exec_carry.lead = keep(first, (size_t)(prev_end - first));
	lc_exec_carry.dev = self.dev;
	lc_exec_carry.ino = self.ino;
	return lc_exec_carry.lead != NULL;
}

/* lc_exec_cross: the build for the other C library, where make install puts it beside this
 * one (DIR/liblastcall.so for glibc, DIR/musl/liblastcall.so for musl), if it is there. */
static void find_other(void)
{
	static const char glibc[] = "/liblastcall.so", musl[] = "/musl/liblastcall.so";
	const char *lib = lc_exec_carry.lib, *slash = strrchr(lib, '/'), *name;
	char path[PATH_MAX];
	size_t dir, n;
	struct stat st;

	lc_exec_cross = lc_exec_carry;
	lc_exec_cross.lib = NULL;
	lc_exec_cross.lead = "";
	lc_exec_cross.dev = 0;
	lc_exec_cross.ino = 0;
	lc_exec_cross.replaces = &lc_exec_carry;
	if (!slash) /* a bare name the loader found in the current directory: no "beside" */
		return;
	dir = (size_t)(slash - lib);
	if (LC_LIBC_SELF == LC_LIBC_MUSL && dir >= 5 && memcmp(slash - 5, "/musl", 5) == 0)
		dir -= 5, name = glibc;
	else if (LC_LIBC_SELF == LC_LIBC_GLIBC)
		name = musl;
	else
		return;
	n = dir + strlen(name);
	if (n >= sizeof(path))
		return;
	memcpy(path, lib, dir);
	memcpy(path + dir, name, strlen(name) + 1);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (lc_exec_cross.lib = keep(path, n))) {
		lc_exec_cross.dev = st.st_dev;
		lc_exec_cross.ino = st.st_ino;
	}
}

void lc_exec_init(void)
{
	const char *pre = secure_getenv("LD_PRELOAD");
	char **env;

	/* Secure execution: the loader ignored LD_PRELOAD's paths, and lastcall reads nothing. */
	if (getauxval(AT_SECURE) || !pre || !find_lib(pre)) {
		lc_exec_carry.lib = NULL;
		return;
	}
	for (env = environ; env && *env; env++)
		if (carried(*env, *lc_exec_carry.lead != '\0'))
			keep_var(*env);
	lc_exec_carry.vars = vars;
	find_other();
	lc_log(LC_DEBUG, "programs this process runs get LD_PRELOAD with %s%s%s and %lu settings; "
			 "%s programs get %s",
	       lc_exec_carry.lead, *lc_exec_carry.lead ? ":" : "", lc_exec_carry.lib,
	       (unsigned long)lc_exec_carry.nvars,
	       lc_libc_name(LC_LIBC_SELF == LC_LIBC_GLIBC ? LC_LIBC_MUSL : LC_LIBC_GLIBC),
	       lc_exec_cross.lib ? lc_exec_cross.lib : "no build of lastcall (none beside this one)");
}

/* The set for the program at path (relative to dirfd, as execveat() takes it), or found for it
 * in PATH if search: lc_exec_cross if it is of the other C library (said once). errno is kept. */
const struct lc_exec_set *lc_exec_set_find(bool search, int dirfd, const char *path, int flags)
{
	static int said;
	enum lc_libc libc;
	int err = errno;

	if (!lc_exec_carry.lib)
		return &lc_exec_carry; /* nothing carried: nothing to read */
	libc = search ? lc_elf_libc_search(path) : lc_elf_libc_at(dirfd, path, flags);
	errno = err;
	if (libc == LC_LIBC_UNKNOWN || libc == LC_LIBC_SELF)
		return &lc_exec_carry;
	if (!lc_xchg(&said, 1))
		lc_log(LC_DEBUG, "%s is a %s program: %s%s", path && *path ? path : "a program",
		       lc_libc_name(libc), lc_exec_cross.lib ? "it gets " : "it runs without lastcall",
		       lc_exec_cross.lib ? lc_exec_cross.lib : " (no build for it beside this one)");
	return &lc_exec_cross;
}
