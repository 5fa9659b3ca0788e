#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scripts and supervisors re-send SIGTERM; that must not shorten a drain. A second Ctrl-C
# (SIGINT) at a terminal means "now": the rest of the drain is skipped and the signal delivered.
. "$(dirname "$0")/../lib/lib.sh"

drain_started() {
	grep -q "info: draining on" "$T/$1.log"
}

# Five more SIGTERMs during the drain.
server repeat "${LASTCALL[@]}" "$EX/threaded"
start_requests repeat 3 --path /delay/1500
kill -TERM "$PID"
poll_until 5000 drain_started repeat || fail "no drain"
for _ in 1 2 3 4 5; do
	kill -TERM "$PID"
done
wait_status repeat 10000
finish_requests repeat
expect_eq "repeated SIGTERM: lost" "$LOST" 0
expect_eq "repeated SIGTERM: wait status" "$STATUS" "signal 15"
expect_eq "repeated SIGTERM: drains" "$(drains repeat)" 1
pass "6 SIGTERMs, one drain, nothing lost"

# SIGINT twice: the second ends the drain now.
server twice "${LASTCALL[@]}" "$EX/threaded"
start_requests twice 2 --path /delay/8000
t0=$(now_ms)
kill -INT "$PID"
poll_until 5000 drain_started twice || fail "no drain"
kill -INT "$PID"
wait_status twice 5000
finish_requests twice
expect_eq "second SIGINT: wait status" "$STATUS" "signal 2"
grep -q "info: second SIGINT: ending the drain now" "$T/twice.log" || fail "$(cat "$T/twice.log")"
drain_summary twice
expect_eq "second SIGINT: cut" "$CUT" 2
note "second SIGINT: exit $((ENDED - t0)) ms after the first (requests: 8000 ms)"
pass "a second SIGINT skips the rest of the drain"

# SIGTERM, then two SIGINTs: the user insists; the original SIGTERM is what is delivered.
server mixed "${LASTCALL[@]}" "$EX/threaded"
start_requests mixed 1 --path /delay/8000
kill -TERM "$PID"
poll_until 5000 drain_started mixed || fail "no drain"
kill -INT "$PID"
poll_until 2000 delivered "$PID" 2 || fail "SIGINT not delivered"
kill -INT "$PID"
wait_status mixed 5000
finish_requests mixed
expect_eq "TERM then INT, INT: wait status" "$STATUS" "signal 15"
pass "SIGTERM then two SIGINTs: drain skipped, SIGTERM delivered"
