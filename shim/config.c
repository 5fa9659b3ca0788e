/* SPDX-License-Identifier: MIT */
/* config.c: LASTCALL_* variables -> struct lc_config, from the table below: the single source of
 * truth for names, defaults and ranges (docs/configuration.md mirrors it). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lastcall/config.h"
#include "lastcall/log.h"

/* Filled by lc_config_load(), from the defaults in settings[] below (the only place they are
 * written) and the environment. Bad values never stop the host program: they are reported once
 * and replaced by the default. */
struct lc_config lc_config;

enum type { T_BOOL, T_DURATION, T_DURATION_OFF, T_SIGNALS, T_LEVEL, T_COUNT, T_CHILDREN };

struct setting {
	const char *name;
	enum type type;
	const char *def;
	int64_t min, max; /* for durations (ms) and counts */
	size_t offset;
	const char *accepts;
};

#define DAY_MS (24LL * 3600 * 1000)

static const struct setting settings[] = {
	/* LASTCALL_LOG first, so the warnings about the others obey it. */
	{ "LASTCALL_LOG", T_LEVEL, "info", 0, 0, offsetof(struct lc_config, log_level),
	  "one of error, warn, info, debug" },
	{ "LASTCALL_DISABLE", T_BOOL, "0", 0, 0, offsetof(struct lc_config, disable),
	  "1, 0, yes, no, true, false, on or off" },
	{ "LASTCALL_TIMEOUT", T_DURATION, "30s", 0, DAY_MS, offsetof(struct lc_config, timeout_ms),
	  "a duration like 30s or 500ms, from 0 to 24h" },
	{ "LASTCALL_GRACE", T_DURATION, "0s", 0, DAY_MS, offsetof(struct lc_config, grace_ms),
	  "a duration like 10s or 500ms, from 0 to 24h" },
	{ "LASTCALL_IDLE", T_DURATION_OFF, "5s", 0, DAY_MS, offsetof(struct lc_config, idle_ms),
	  "a duration like 1s or 200ms, from 0 to 24h, or off" },
	{ "LASTCALL_CHILDREN", T_CHILDREN, "wait", 0, 0, offsetof(struct lc_config, wait_children),
	  "wait or none" },
	{ "LASTCALL_KILL_AFTER", T_DURATION, "5s", 0, DAY_MS,
	  offsetof(struct lc_config, kill_after_ms), "a duration like 5s or 500ms, from 0 to 24h" },
	{ "LASTCALL_SIGNALS", T_SIGNALS, "TERM,INT", 0, 0, offsetof(struct lc_config, signals),
	  "a comma-separated list of HUP, INT, QUIT, USR1, USR2, ALRM, TERM, PWR" },
	{ "LASTCALL_NOTIFY_READY", T_BOOL, "0", 0, 0, offsetof(struct lc_config, notify_ready),
	  "1, 0, yes, no, true, false, on or off" },
	{ "LASTCALL_MAX_FDS", T_COUNT, "1048576", 64, 1 << 26, offsetof(struct lc_config, max_fds),
	  "a number of file descriptors from 64 to 67108864" },
};

#define TRIGGER_ENTRY(name) { SIG##name, #name },
static const struct {
	int sig;
	const char *name;
} triggers[] = { LC_TRIGGER_CANDIDATES(TRIGGER_ENTRY) };

const char *lc_signal_name(int sig)
{
	size_t i;

	for (i = 0; i < sizeof(triggers) / sizeof(triggers[0]); i++)
		if (triggers[i].sig == sig)
			return triggers[i].name;
	return NULL;
}

/* Parses a whole decimal number with no sign or space; -1 on anything else or overflow. */
static int parse_digits(const char *s, const char **end, int64_t *out)
{
	char *e;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &e, 10);
	if (errno == ERANGE)
		return -1;
	*end = e;
	*out = v;
	return 0;
}

int lc_parse_duration(const char *s, int64_t *out_ms)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = { { "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	const char *end;
	int64_t v;
	size_t i;

	if (parse_digits(s, &end, &v) < 0)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (v > INT64_MAX / units[i].ms)
			return -1;
		*out_ms = v * units[i].ms;
		return 0;
	}
	return -1;
}

int lc_parse_duration_off(const char *s, int64_t *out_ms)
{
	if (strcasecmp(s, "off") == 0) {
		*out_ms = -1;
		return 0;
	}
	return lc_parse_duration(s, out_ms);
}

int lc_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int parse_one_signal(const char *s, size_t len)
{
	char name[16];
	const char *end;
	int64_t v;
	size_t i;

	if (len == 0 || len >= sizeof(name))
		return -1;
	memcpy(name, s, len);
	name[len] = '\0';
	if (name[0] >= '0' && name[0] <= '9')
		return parse_digits(name, &end, &v) == 0 && *end == '\0' && v < 64 &&
				       lc_signal_name((int)v)
			       ? (int)v
			       : -1;
	s = strncasecmp(name, "SIG", 3) == 0 ? name + 3 : name;
	for (i = 0; i < sizeof(triggers) / sizeof(triggers[0]); i++)
		if (strcasecmp(s, triggers[i].name) == 0)
			return triggers[i].sig;
	return -1;
}

int lc_parse_signals(const char *s, uint64_t *out)
{
	uint64_t set = 0;
	const char *comma;
	int sig;

	for (;;) {
		comma = strchr(s, ',');
		sig = parse_one_signal(s, comma ? (size_t)(comma - s) : strlen(s));
		if (sig < 0)
			return -1;
		set |= 1ULL << sig;
		if (!comma)
			break;
		s = comma + 1;
	}
	*out = set;
	return 0;
}

int lc_parse_level(const char *s, int64_t *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	int64_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LC_WARN;
		return 0;
	}
	return -1;
}

int lc_parse_children(const char *s, bool *wait)
{
	if (strcmp(s, "wait") == 0)
		*wait = true;
	else if (strcmp(s, "none") == 0)
		*wait = false;
	else
		return -1;
	return 0;
}

int lc_parse_count(const char *s, int64_t *out)
{
	const char *end;
	int64_t v;

	if (parse_digits(s, &end, &v) < 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

const char *lc_format_ms(int64_t ms, char *buf)
{
	if (ms % 1000 == 0)
		lc_format(buf, 24, "%llds", (long long)(ms / 1000));
	else
		lc_format(buf, 24, "%lldms", (long long)ms);
	return buf;
}

/* Copies s for a message: printable ASCII only (others as '?'), at most 40 characters. */
static const char *quote(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; s[i] && i < n - 4; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s[i])
		memcpy(buf + i, "...", 3), i += 3;
	buf[i] = '\0';
	return buf;
}

/* Parses one value; returns 0, or -1 when the value is not acceptable. */
static int parse(const struct setting *st, const char *v, void *field)
{
	int64_t n = 0;
	bool b;
	uint64_t set;

	switch (st->type) {
	case T_BOOL:
	case T_CHILDREN:
		if ((st->type == T_BOOL ? lc_parse_bool(v, &b) : lc_parse_children(v, &b)) < 0)
			return -1;
		*(bool *)field = b;
		return 0;
	case T_SIGNALS:
		if (lc_parse_signals(v, &set) < 0)
			return -1;
		*(uint64_t *)field = set;
		return 0;
	case T_LEVEL:
		if (lc_parse_level(v, &n) < 0)
			return -1;
		*(int64_t *)field = n;
		return 0;
	case T_DURATION:
		if (lc_parse_duration(v, &n) < 0)
			return -1;
		break;
	case T_DURATION_OFF:
		if (lc_parse_duration_off(v, &n) < 0)
			return -1;
		if (n < 0) {
			*(int64_t *)field = n;
			return 0;
		}
		break;
	case T_COUNT:
		if (lc_parse_count(v, &n) < 0)
			return -1;
		break;
	}
	if (n < st->min || n > st->max)
		return -1;
	*(int64_t *)field = n;
	return 0;
}

void lc_config_load(struct lc_config *cfg, lc_getenv_fn get)
{
	const struct setting *st;
	const char *v;
	char shown[44];
	void *field;
	size_t i;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		st = &settings[i];
		field = (char *)cfg + st->offset;
		parse(st, st->def, field);
		v = get(st->name);
		if (v && *v && parse(st, v, field) < 0)
			lc_log(LC_WARN, "%s=\"%s\" invalid (expected %s), using %s", st->name,
			       quote(v, shown, sizeof(shown)), st->accepts, st->def);
		if (st->type == T_LEVEL)
			lc_log_level = (int)cfg->log_level;
	}
}
