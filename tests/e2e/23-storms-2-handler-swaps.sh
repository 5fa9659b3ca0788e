#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signal storms, scenario 2, a storm while the program swaps its handlers.
# What no storm may change, and the helpers the storm tests share: tests/lib/storms.sh.
# shellcheck disable=SC2153 # PID: set by lib.sh's spawn
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/storms.sh disable=SC1091
. "$ROOT/tests/lib/storms.sh"

# 2. A storm while the program swaps its own SIGTERM handler, thousands of times a second
#    (sigaction() and signal() in turn), each call checked for the handler it replaced. The
#    handler handed back must be one the program installed, never SIG_DFL, never lastcall's.
for preload in 0 1; do
	name=flip-$preload
	cmd=("$FLIP" --flip --log "$T/$name.calls")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	server "$name" "${cmd[@]}"
	start_requests "$name" 3 --path /delay/1000
	term_first "$name" "$preload"
	storm "$PID" 1000 TERM
	during=$((SENT + 1))
	handed=$(calls "$name" '^[abc] ')
	if [ "$preload" = 1 ] && { [ "$SENT" != 1000 ] || [ "$handed" != 0 ]; }; then
		fail "$name: the drain ended during the storm ($SENT sent)"
	fi
	storm_to_end "$PID" 200000
	wait_status "$name" 10000
	finish_requests "$name"
	expect_eq "$name: wait status (never SIG_DFL)" "$STATUS" "exit 7"
	! grep -q 'flip BAD' "$T/$name.calls" || fail "$name: $(grep 'flip BAD' "$T/$name.calls")"
	flips=$(sed -n 's/^flips \([0-9]*\).*/\1/p' "$T/$name.calls")
	[ "${flips:-0}" -gt 0 ] || fail "$name: no flips"
	handlers=$(grep -o '^[abc] 15' "$T/$name.calls" | sort | uniq -c |
		awk '{printf "%s %s, ", $2, $1}')
	if [ "$preload" = 0 ]; then
		[ "$LOST" -gt 0 ] || fail "without lastcall: expected lost requests"
		note "without lastcall: $during + $SENT SIGTERMs, $flips swaps, $LOST of 3 lost, exit 7;" \
			"handler calls: ${handlers%, }"
		continue
	fi
	expect_eq "$name: lost" "$LOST" 0
	expect_eq "$name: drains" "$(drains "$name")" 1
	sender_only "$name" "$PID"
	note "with lastcall: $during SIGTERMs during the drain, $SENT more until exit, $flips swaps" \
		"each reporting the handler it replaced; 1 drain, 0 lost, exit 7; handler calls:" \
		"${handlers%, }"
done
pass "handlers swapped under a storm: one drain, nothing lost, only the program's handlers run"

bugs_checked
