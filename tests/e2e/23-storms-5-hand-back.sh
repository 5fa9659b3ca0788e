#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signal storms, scenario 5, a storm across the hand-back.
# What no storm may change, and the helpers the storm tests share: tests/lib/storms.sh.
# shellcheck disable=SC2153 # PID: set by lib.sh's spawn
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/storms.sh disable=SC1091
. "$ROOT/tests/lib/storms.sh"

# 5. A storm across the hand-back: SIGTERMs until the process is gone, so that some land while
#    lastcall gives the signal back. The program (with two idle threads, which take signals like
#    any other) must see only the sender's signals: never the one lastcall sends itself to hand
#    the signal back (si_pid the server's own, si_code SI_TKILL), which a storm signal landing
#    between the hand-back's start and that delivery can leave over; and exactly one drain.
for preload in 0 1; do
	total=0 handled=0 bad=0 double=0
	runs=$([ "$preload" = 1 ] && echo "${STORM_RUNS:-30}" || echo 10)
	for ((run = 1; run <= runs; run++)); do
		name=across-$preload-$run
		cmd=("$FLIP" --spare 2 --log "$T/$name.calls")
		[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
		server "$name" "${cmd[@]}"
		"${CLIENT[@]}" --port "$PORT" >"$T/$name.client" 2>&1 || fail "$name: no reply"
		storm_to_end "$PID" 200000
		total=$((total + SENT))
		wait_status "$name" 10000
		expect_eq "$name: wait status" "$STATUS" "exit 7"
		n=$(drains "$name")
		if [ "$preload" = 1 ] && [ "$n" != 1 ]; then
			msg=$(grep 'info: drain' "$T/$name.log" | paste -sd'|' -)
			BUGS+=("$name (pid $PID): $n drains: $msg")
			double=$((double + 1))
		fi
		sender_only "$name" "$PID" || bad=$((bad + 1))
		handled=$((handled + $(calls "$name" '^a 15 ')))
	done
	note "preload=$preload: $runs runs, $total SIGTERMs until exit; the program's handler ran" \
		"$handled times; runs where it also got a signal not from the sender: $bad; with a" \
		"second drain: $double"
done
[ "$bad$double" != 00 ] ||
	pass "SIGTERMs across the hand-back: one drain, the handler only sees the sender's signals"

bugs_checked
