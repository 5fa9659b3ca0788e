/* SPDX-License-Identifier: MIT */
/* fuzz_config: lc_config_load with every LASTCALL_* variable taken from the input at once. The
 * input is an environment block, "NAME=value" entries separated by NUL bytes as in
 * /proc/PID/environ; the first entry of a name wins, as with getenv. Whatever the values:
 * every field ends within its documented range; a valid value is taken exactly and an invalid
 * one gives the default; each invalid value gives one warning line (unless LASTCALL_LOG hides
 * it) and nothing else is logged; a warning is printable ASCII ending in one newline, names
 * the variable, shows the value sanitised and cut at 40 characters, and names the default. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>

#include "fuzz.h"
#include "lastcall/config.h"

#define DAY_MS (24LL * 3600 * 1000)
#define TRIGGERS                                                                                   \
	((1ULL << SIGHUP) | (1ULL << SIGINT) | (1ULL << SIGQUIT) | (1ULL << SIGUSR1) |             \
	 (1ULL << SIGUSR2) | (1ULL << SIGALRM) | (1ULL << SIGTERM) | (1ULL << SIGPWR))

enum kind { BOOL, DURATION, DURATION_OFF, SIGNALS, LEVEL, COUNT, CHILDREN };

/* The settings table of docs/configuration.md, in the order lc_config_load reads them. */
static const struct var {
	const char *name;
	enum kind kind;
	const char *def_text; /* as the warning names it */
	int64_t def, min, max;
	size_t offset;
} vars[] = {
	{ "LASTCALL_LOG", LEVEL, "info", LC_INFO, LC_ERROR, LC_DEBUG,
	  offsetof(struct lc_config, log_level) },
	{ "LASTCALL_DISABLE", BOOL, "0", 0, 0, 1, offsetof(struct lc_config, disable) },
	{ "LASTCALL_TIMEOUT", DURATION, "30s", 30000, 0, DAY_MS,
	  offsetof(struct lc_config, timeout_ms) },
	{ "LASTCALL_GRACE", DURATION, "0s", 0, 0, DAY_MS, offsetof(struct lc_config, grace_ms) },
	{ "LASTCALL_IDLE", DURATION_OFF, "5s", 5000, 0, DAY_MS, offsetof(struct lc_config, idle_ms) },
	{ "LASTCALL_CHILDREN", CHILDREN, "wait", 1, 0, 1,
	  offsetof(struct lc_config, wait_children) },
	{ "LASTCALL_KILL_AFTER", DURATION, "5s", 5000, 0, DAY_MS,
	  offsetof(struct lc_config, kill_after_ms) },
	{ "LASTCALL_SIGNALS", SIGNALS, "TERM,INT", (1LL << SIGTERM) | (1LL << SIGINT), 1,
	  (int64_t)TRIGGERS, offsetof(struct lc_config, signals) },
	{ "LASTCALL_NOTIFY_READY", BOOL, "0", 0, 0, 1, offsetof(struct lc_config, notify_ready) },
	{ "LASTCALL_MAX_FDS", COUNT, "1048576", 1 << 20, 64, 1 << 26,
	  offsetof(struct lc_config, max_fds) },
};
#define NVARS (sizeof(vars) / sizeof(vars[0]))

static const char *env;
static size_t env_size;

static const char *fake_getenv(const char *name)
{
	size_t n = strlen(name);
	const char *e;

	CHECK(strncmp(name, "LASTCALL_", 9) == 0); /* it reads nothing else */
	for (e = env; e < env + env_size; e += strlen(e) + 1)
		if (strncmp(e, name, n) == 0 && e[n] == '=')
			return e + n + 1;
	return NULL;
}

/* A field of cfg as a number: bools 0 or 1, the signal set as its bits. */
static int64_t field(const struct lc_config *cfg, const struct var *v)
{
	const char *p = (const char *)cfg + v->offset;

	if (v->kind == BOOL || v->kind == CHILDREN)
		return *(const bool *)p;
	if (v->kind == SIGNALS)
		return (int64_t) * (const uint64_t *)p;
	return *(const int64_t *)p;
}

/* The value v should give: 1 and *out if the parsers (fuzzed on their own) take it and it is
 * within the range, else 0. */
static int expect(const struct var *v, const char *s, int64_t *out)
{
	uint64_t set = 0;
	bool b = false;
	int rc = -1;

	switch (v->kind) {
	case BOOL:
	case CHILDREN:
		rc = v->kind == BOOL ? lc_parse_bool(s, &b) : lc_parse_children(s, &b);
		*out = b;
		break;
	case SIGNALS:
		rc = lc_parse_signals(s, &set);
		*out = (int64_t)set;
		return rc == 0 && (set & ~TRIGGERS) == 0;
	case LEVEL:
		rc = lc_parse_level(s, out);
		break;
	case DURATION:
	case DURATION_OFF:
		rc = v->kind == DURATION ? lc_parse_duration(s, out)
					 : lc_parse_duration_off(s, out);
		if (rc == 0 && *out == -1 && v->kind == DURATION_OFF)
			return 1;
		break;
	case COUNT:
		rc = lc_parse_count(s, out);
		break;
	}
	return rc == 0 && *out >= v->min && *out <= v->max;
}

/* The value as a warning shows it: printable ASCII kept, anything else '?', cut at 40. */
static void shown(const char *s, char *buf)
{
	size_t i;

	for (i = 0; s[i] && i < 40; i++)
		buf[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	strcpy(buf + i, s[i] ? "..." : "");
}

/* One warning line (without its newline): which variable, and that it is well formed. */
static size_t check_warning(const char *line, size_t len, const char *const *values)
{
	char want[160], value[44];
	const char *p;
	size_t i, n;

	for (p = line; p < line + len; p++)
		CHECK(*p >= 0x20 && *p < 0x7f);
	n = (size_t)snprintf(want, sizeof(want), "lastcall[%d]: warning: ", (int)getpid());
	CHECK(len > n && memcmp(line, want, n) == 0);
	for (i = 0; i < NVARS; i++) {
		if (!values[i])
			continue;
		shown(values[i], value);
		n = (size_t)snprintf(want, sizeof(want), "lastcall[%d]: warning: %s=\"%s\" invalid (",
				     (int)getpid(), vars[i].name, value);
		if (len > n && memcmp(line, want, n) == 0)
			break;
	}
	CHECK(i < NVARS);
	n = (size_t)snprintf(want, sizeof(want), "), using %s", vars[i].def_text);
	CHECK(len > n && memcmp(line + len - n, want, n) == 0);
	return i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), log[8192], *line, *nl;
	const char *values[NVARS];
	int invalid[NVARS], warned[NVARS] = { 0 };
	struct lc_config cfg;
	int64_t want, got;
	size_t i;

	CHECK(copy != NULL);
	memcpy(copy, data, size);
	copy[size] = '\0';
	env = copy, env_size = size;
	fuzz_log_read(log, sizeof(log)); /* the pipe starts empty */

	memset(&cfg, 0xa5, sizeof(cfg));
	lc_log_level = LC_INFO; /* as when the library is loaded */
	lc_config_load(&cfg, fake_getenv);
	CHECK(lc_log_level == cfg.log_level);

	for (i = 0; i < NVARS; i++) {
		values[i] = fake_getenv(vars[i].name);
		if (values[i] && !*values[i])
			values[i] = NULL; /* empty is unset */
		invalid[i] = values[i] && !expect(&vars[i], values[i], &want);
		if (!values[i] || invalid[i])
			want = vars[i].def;
		got = field(&cfg, &vars[i]);
		CHECK(got == want);
		CHECK((got >= vars[i].min && got <= vars[i].max) ||
		      (vars[i].kind == DURATION_OFF && got == -1));
	}
	CHECK(cfg.signals != 0 && (cfg.signals & ~TRIGGERS) == 0);

	/* Every line is a warning about a different invalid variable. */
	fuzz_log_read(log, sizeof(log));
	for (line = log; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		CHECK(nl != NULL);
		i = check_warning(line, (size_t)(nl - line), values);
		CHECK(invalid[i] && !warned[i]);
		warned[i] = 1;
	}
	/* LASTCALL_LOG's own warning obeys the level before it; the others obey its value. */
	for (i = 0; i < NVARS; i++)
		CHECK(warned[i] == (invalid[i] && (i == 0 || cfg.log_level >= LC_WARN)));
	free(copy);
	return 0;
}
