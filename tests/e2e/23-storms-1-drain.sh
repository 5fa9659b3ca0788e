#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signal storms, scenario 1, a storm during a drain.
# What no storm may change, and the helpers the storm tests share: tests/lib/storms.sh.
# shellcheck disable=SC2153 # PID: set by lib.sh's spawn
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/storms.sh disable=SC1091
. "$ROOT/tests/lib/storms.sh"

# 1. A storm during a drain: 1000 SIGTERMs, with 500 SIGUSR1 and 500 SIGHUP (which the program
#    handles itself) between them, while three requests are in flight.
for preload in 0 1; do
	name=drain-$preload
	cmd=("$FLIP" --log "$T/$name.calls")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	server "$name" "${cmd[@]}"
	start_requests "$name" 3 --path /delay/1500
	term_first "$name" "$preload"
	storm "$PID" 500 TERM USR1 TERM HUP
	sent=$((SENT + 1))
	if [ "$preload" = 1 ]; then
		# All of it landed during the drain: the process is still there, nothing handed back.
		if [ "$SENT" != 2000 ] || exited "$PID" || [ "$(calls "$name" '^[abc] ')" != 0 ]; then
			fail "$name: the drain ended during the storm ($SENT sent)"
		fi
	fi
	wait_status "$name" 10000
	finish_requests "$name"
	expect_eq "$name: wait status" "$STATUS" "exit 7"
	terms=$(calls "$name" '^a 15 ') usr1=$(calls "$name" '^o 10 ') hup=$(calls "$name" '^o 1 ')
	if [ "$preload" = 0 ]; then
		[ "$LOST" -gt 0 ] || fail "without lastcall: expected lost requests"
		note "without lastcall: $sent signals, $LOST of 3 requests lost, exit 7; handler calls:" \
			"SIGTERM $terms, SIGUSR1 $usr1, SIGHUP $hup"
		continue
	fi
	expect_eq "$name: lost" "$LOST" 0
	expect_eq "$name: drains" "$(drains "$name")" 1
	expect_eq "$name: summaries" "$(summaries "$T/$name.log")" 1
	expect_eq "$name: SIGTERM handler calls" "$terms" 1
	sender_only "$name" "$PID" || fail "${BUGS[-1]}"
	if [ "$usr1" = 0 ] || [ "$hup" = 0 ]; then
		fail "$name: SIGUSR1 $usr1, SIGHUP $hup handler calls"
	fi
	# The program's SIGUSR1 and SIGHUP handlers ran during the drain, not after it.
	[ "$(grep -m1 -n '^a ' "$T/$name.calls" | cut -d: -f1)" -gt 1 ] ||
		fail "$name: SIGUSR1 and SIGHUP held back until the hand-back"
	note "with lastcall: $sent signals (1001 SIGTERM, 500 SIGUSR1, 500 SIGHUP) during the drain:" \
		"1 drain, 0 lost, exit 7; handler calls: SIGTERM 1 (from $ME, SI_USER), SIGUSR1 $usr1," \
		"SIGHUP $hup, all during the drain"
done
pass "1000 SIGTERMs during a drain: one drain, nothing lost, the handler runs once as sent"

bugs_checked
