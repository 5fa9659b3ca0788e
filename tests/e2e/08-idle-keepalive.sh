#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Failure mode 8: a drain that waits for every open connection waits for idle keep-alive
# clients, which have nothing in flight, until the deadline. lastcall closes idle connections
# at once (the program reads EOF and closes them as a client's), and finishes busy ones; the
# clients see a clean close, never a reset.
. "$(dirname "$0")/../lib/lib.sh"

IDLE=4

# run NAME ENV...: IDLE clients each make one keep-alive request and then hold the connection;
# one more request is in flight (800 ms) at SIGTERM.
run() {
	local name=$1
	shift
	server "$name" env "$@" "${LASTCALL[@]}" "$EX/threaded"
	"${CLIENT[@]}" --port "$PORT" --count "$IDLE" --path / --hold 20 \
		--ready "$T/$name.idle" --ready-when replied >"$T/$name.idle-client" 2>&1 &
	IDLE_PID=$!
	poll_until 5000 test -e "$T/$name.idle" || fail "$name: idle clients not ready"
	start_requests "$name" 1 --path /delay/800
	kill -TERM "$PID"
	wait_status "$name" 15000
	finish_requests "$name"
	wait "$IDLE_PID"
	drain_summary "$name"
}

# Waiting for idle connections (LASTCALL_IDLE=off): the drain lasts to its 2 s deadline.
run waiting LASTCALL_IDLE=off LASTCALL_TIMEOUT=2s
expect_eq "idle off: busy request" "$LOST" 0
expect_eq "idle off: finished, idle, cut" "$FINISHED $IDLE_CLOSED $CUT" "1 0 $IDLE"
note "LASTCALL_IDLE=off: the drain waited $DRAIN_MS ms, to the deadline, for $IDLE idle clients"

# Default: idle connections are closed at once; the busy one finishes.
run closing LASTCALL_TIMEOUT=20s
expect_eq "busy request" "$LOST" 0
expect_eq "idle clients closed cleanly" "$(summary_field "$T/closing.idle-client" held_eof)" "$IDLE"
expect_eq "idle clients reset" "$(summary_field "$T/closing.idle-client" held_reset)" 0
expect_eq "finished, cut" "$FINISHED $CUT" "$((IDLE + 1)) 0"
# The busy connection may be seen idle for an instant between its reply and its close.
[ "$IDLE_CLOSED" -ge "$IDLE" ] || fail "only $IDLE_CLOSED idle connections closed by lastcall"
note "default: $IDLE idle connections closed cleanly at once; drain $DRAIN_MS ms (deadline 20 s,"
note "the busy request took 800 ms)"
pass "idle keep-alive connections are closed at drain start, busy ones finished"
