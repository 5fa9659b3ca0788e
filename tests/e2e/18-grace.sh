#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# LASTCALL_GRACE: after the signal the server goes on accepting and serving for a while, so a
# load balancer or Kubernetes can take it out of rotation before it stops taking connections.
. "$(dirname "$0")/../lib/lib.sh"

server grace env LASTCALL_GRACE=2500ms "${LASTCALL[@]}" "$EX/threaded"
start_requests before 1 --path /delay/500
t0=$(now_ms)
kill -TERM "$PID"
poll_until 2000 grep -q "info: SIGTERM: still accepting for 2500ms (LASTCALL_GRACE), then draining" \
	"$T/grace.log" || fail "no grace line: $(cat "$T/grace.log")"
# A new client during the grace period is accepted and served as usual (without the grace
# period it would be refused: see the probes below).
"${CLIENT[@]}" --port "$PORT" --path /delay/300 >"$T/during.client" 2>&1 ||
	fail "a request during the grace period failed: $(cat "$T/during.client")"
during=$(($(now_ms) - t0))
poll_until 5000 grep -q "info: draining on SIGTERM" "$T/grace.log" || fail "no drain"
"$PYTHON" "$ROOT/tests/lib/load.py" --port "$PORT" --probe-every 50 --probe-count 3 --timeout 3 \
	--out "$T/after.probes"
expect_eq "probes after the grace period refused" "$(grep -c ' refused$' "$T/after.probes")" 3
wait_status grace 10000
finish_requests before
expect_eq "request in flight at the signal" "$LOST" 0
expect_eq "grace: wait status" "$STATUS" "signal 15"
note "served a request $during ms into a 2500 ms grace period; refused after it"
pass "LASTCALL_GRACE keeps intake open for its duration, then drains"
