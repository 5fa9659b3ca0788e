#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lastcall must change nothing where no shutdown of a server is happening: a process that never
# listens or accepts behaves exactly as without it (no thread, same signals, same status), and
# LASTCALL_DISABLE=1 makes every hook a pure pass-through. Bad settings warn and use defaults.
. "$(dirname "$0")/../lib/lib.sh"

# 1. A shell script with its own trap, a self-signal and an exit status: same output and status.
script='trap "echo trapped" TERM; kill -TERM $$; echo after; trap - INT; exit 5'
for preload in 0 1; do
	cmd=(sh -c "$script")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	spawn "sh-$preload" "${cmd[@]}"
	wait_status "sh-$preload" 5000
	echo "$STATUS" >>"$T/sh-$preload.log"
done
cmp -s "$T/sh-0.log" "$T/sh-1.log" || fail "sh differs under lastcall:
$(diff "$T/sh-0.log" "$T/sh-1.log")"
pass "sh -c with a trap: identical output and status ($(tail -1 "$T/sh-1.log"))"

# 2. A non-server killed by SIGTERM dies at once, by the signal, with a single thread.
for preload in 0 1; do
	cmd=(sleep 30)
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	spawn "sleep-$preload" "${cmd[@]}"
	poll_until 5000 grep -q '^State:.*S' "/proc/$PID/status" || fail "sleep did not start"
	expect_eq "threads of a non-server (preload=$preload)" "$(ls "/proc/$PID/task" | wc -l)" 1
	kill -TERM "$PID"
	wait_status "sleep-$preload" 2000
	expect_eq "sleep killed by SIGTERM (preload=$preload)" "$STATUS" "signal 15"
done
pass "a non-server has no extra thread and dies by SIGTERM at once"

# 3. LASTCALL_DISABLE=1: the requests are lost exactly as without lastcall.
server disabled env LASTCALL_DISABLE=1 "${LASTCALL[@]}" "$EX/threaded"
expect_eq "threads with LASTCALL_DISABLE=1" "$(ls "/proc/$PID/task" | wc -l)" 1
start_requests disabled 2 --path /delay/1500
kill -TERM "$PID"
wait_status disabled 5000
finish_requests disabled
expect_eq "disabled: lost" "$LOST" 2
expect_eq "disabled: wait status" "$STATUS" "signal 15"
! grep -q lastcall "$T/disabled.log" || fail "disabled lastcall logged: $(cat "$T/disabled.log")"
pass "LASTCALL_DISABLE=1 is a pure pass-through (2 of 2 lost, as without)"

# 4. Bad settings: one warning each, naming the variable, the value and what is accepted; the
#    defaults are used and the server still drains.
server badcfg env LASTCALL_TIMEOUT=soon LASTCALL_SIGNALS=TERM,KILL LASTCALL_LOG=loud \
	"${LASTCALL[@]}" "$EX/threaded"
start_requests badcfg 1 --path /delay/800
kill -TERM "$PID"
wait_status badcfg 10000
finish_requests badcfg
expect_eq "bad settings: lost" "$LOST" 0
for w in 'LASTCALL_LOG="loud" invalid (expected one of error, warn, info, debug), using info' \
	'LASTCALL_TIMEOUT="soon" invalid (expected a duration like 30s or 500ms, from 0 to 24h), using 30s' \
	'LASTCALL_SIGNALS="TERM,KILL" invalid (expected a comma-separated list of HUP, INT, QUIT, USR1, USR2, ALRM, TERM, PWR), using TERM,INT'; do
	grep -qF "warning: $w" "$T/badcfg.log" || fail "missing warning: $w
$(cat "$T/badcfg.log")"
done
pass "bad settings warn once each and fall back to the defaults"
