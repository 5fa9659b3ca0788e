#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Failure mode 9: a supervisor sends SIGKILL after its own deadline (systemd TimeoutStopSec=,
# Kubernetes terminationGracePeriodSeconds), so a drain must end by LASTCALL_TIMEOUT and say
# what it gave up on. Requests that fit finish; the rest are closed at the deadline and counted.
. "$(dirname "$0")/../lib/lib.sh"

# Two requests longer than the 1 s deadline, one shorter.
server deadline env LASTCALL_TIMEOUT=1s "${LASTCALL[@]}" "$EX/threaded"
start_requests long 2 --path /delay/6000
"${CLIENT[@]}" --port "$PORT" --count 1 --path /delay/400 --ready "$T/short.ready" \
	>"$T/short.client" 2>&1 &
SHORT=$!
poll_until 5000 test -e "$T/short.ready" || fail "short request not sent"
wait_accepted "$PORT" 3 5000 || fail "requests not accepted"
t0=$(now_ms)
kill -TERM "$PID"
wait_status deadline 10000
wait "$SHORT" || fail "the short request did not complete: $(cat "$T/short.client")"
finish_requests long
expect_eq "deadline: wait status" "$STATUS" "signal 15"
expect_eq "deadline: long requests cut" "$OK" 0
grep -q "info: draining on SIGTERM: 1 listener stopped, 3 connections in flight, deadline 1s" \
	"$T/deadline.log" || fail "no drain start line: $(cat "$T/deadline.log")"
drain_summary deadline
expect_eq "deadline: finished, cut" "$FINISHED $CUT" "1 2"
note "deadline 1s: 1 request finished, 2 closed at the deadline, exit $((ENDED - t0)) ms after SIGTERM"
pass "LASTCALL_TIMEOUT bounds the drain and the summary says what was closed"

# LASTCALL_TIMEOUT=0: stop intake, close what is open, hand back at once.
server zero env LASTCALL_TIMEOUT=0 "${LASTCALL[@]}" "$EX/epoll"
start_requests zero 2 --path /delay/6000
kill -TERM "$PID"
wait_status zero 5000
finish_requests zero
expect_eq "timeout 0: wait status" "$STATUS" "signal 15"
drain_summary zero
expect_eq "timeout 0: cut" "$CUT" 2
pass "LASTCALL_TIMEOUT=0 ends at once and says so"

# Progress: at most one line a second while draining.
server progress "${LASTCALL[@]}" "$EX/pool"
start_requests progress 2 --path /delay/2500
kill -TERM "$PID"
wait_status progress 10000
finish_requests progress
expect_eq "progress run: lost" "$LOST" 0
lines=$(grep -c "info: draining: 2 connections in flight" "$T/progress.log")
[ "$lines" -ge 1 ] && [ "$lines" -le 3 ] || fail "$lines progress lines for a 2.5 s drain"
pass "a 2.5 s drain logs $lines progress lines"
