/* SPDX-License-Identifier: MIT */
/* config.h: the LASTCALL_* settings, parsed once into a read-only struct. Parsers are pure
 * functions so the unit tests (and the fuzzers) can drive them directly. */
#ifndef LASTCALL_CONFIG_H
#define LASTCALL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

struct lc_config {
	bool disable;	    /* LASTCALL_DISABLE: every hook is a pass-through */
	int64_t timeout_ms; /* LASTCALL_TIMEOUT: drain deadline */
	int64_t grace_ms;   /* LASTCALL_GRACE: keep accepting this long after the signal */
	int64_t idle_ms;    /* LASTCALL_IDLE: quiet this long counts as idle; -1: off */
	int64_t kill_after_ms; /* LASTCALL_KILL_AFTER: SIGTERM to SIGKILL for children */
	bool wait_children;    /* LASTCALL_CHILDREN: wait (true) or none */
	bool notify_ready;     /* LASTCALL_NOTIFY_READY: READY=1 to systemd at the first listen() */
	uint64_t signals;   /* LASTCALL_SIGNALS: bit n set means signal n starts a drain */
	int64_t log_level;  /* LASTCALL_LOG: enum lc_level */
	int64_t max_fds;    /* LASTCALL_MAX_FDS: cap on the fd table */
};

/* The settings in force; written by lc_config_load() during lc_init() only. */
extern struct lc_config lc_config;

/* Where settings come from: getenv in the library, a fake in the tests. */
typedef const char *(*lc_getenv_fn)(const char *name);

/* Fills cfg from get(); a bad value logs one warning naming the variable, the value and what
 * is accepted, and the default is used. Never fails. Once, from lc_init() (and at the start of
 * lastcall-parent). */
void lc_config_load(struct lc_config *cfg, lc_getenv_fn get);

/* Each parser returns 0 and sets *out, or returns -1 and leaves *out alone. Pure; any thread,
 * not AS-safe (strtoll and strcasecmp read the locale). */
int lc_parse_duration(const char *s, int64_t *out_ms);	/* "30s", "500ms", "2m", "1h", "15" (s) */
int lc_parse_duration_off(const char *s, int64_t *out_ms); /* a duration, or "off" (-1) */
int lc_parse_bool(const char *s, bool *out);		/* 1/0, yes/no, true/false, on/off */
int lc_parse_signals(const char *s, uint64_t *out);	/* "TERM,INT", "SIGTERM", "15" */
int lc_parse_level(const char *s, int64_t *out);	/* error|warn|info|debug */
int lc_parse_count(const char *s, int64_t *out);	/* decimal integer >= 0 */
int lc_parse_children(const char *s, bool *wait);	/* "wait" or "none" */

/* The signals LASTCALL_SIGNALS may name, by their names without SIG; any other never starts a
 * drain. X(name) for each: the one list the names and the mask below are made from. */
#define LC_TRIGGER_CANDIDATES(X) X(HUP) X(INT) X(QUIT) X(USR1) X(USR2) X(ALRM) X(TERM) X(PWR)
#define LC_TRIGGER_BIT(name) | (1ULL << SIG##name)
#define LC_TRIGGER_MASK (0 LC_TRIGGER_CANDIDATES(LC_TRIGGER_BIT))

/* "TERM" for 15, or NULL if the signal cannot be a trigger. Any context, AS-safe. */
const char *lc_signal_name(int sig);

/* Formats a duration for messages ("30s", "1500ms"); buf needs 24 bytes. Pure; any context,
 * AS-safe. */
const char *lc_format_ms(int64_t ms, char *buf);

#pragma GCC visibility pop

#endif
