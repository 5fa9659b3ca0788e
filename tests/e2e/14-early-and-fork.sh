#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two awkward moments for an interposer. A library's constructor that calls signal() before
# lastcall's own constructor has run: the hook must initialise lastcall then and there, and the
# handler must still be the one handed back after the drain. And a trigger signal sent in the
# middle of fork() (from an atfork prepare handler): no deadlock, one drain, nothing lost.
. "$(dirname "$0")/../lib/lib.sh"

EARLY=$TOOLS/libearly.so

# LD_PRELOAD=A:B runs B's constructor first: both orders.
for order in "$LIB:$EARLY" "$EARLY:$LIB"; do
	name=early-$([ "${order%%:*}" = "$LIB" ] && echo first || echo second)
	server "$name" env EARLY_MARKER="$T/$name.marker" LD_PRELOAD="$EARLY_PRELOAD$order" \
		"$EX/threaded"
	start_requests "$name" 2 --path /delay/1000
	kill -TERM "$PID"
	wait_status "$name" 10000
	finish_requests "$name"
	expect_eq "$name: lost" "$LOST" 0
	expect_eq "$name: wait status" "$STATUS" "signal 15"
	expect_eq "$name: early library's handler" "$(cat "$T/$name.marker" 2>/dev/null)" \
		"early handler"
	note "LD_PRELOAD=${order//$ROOT\//}: drained, then the early library's handler ran"
done
pass "a handler installed by another library's constructor, before lastcall's, is handed back"

# SIGTERM from inside fork(): the third connection makes the server fork, and its atfork
# prepare handler signals the process. The first two requests are in flight already.
server forksig "${LASTCALL[@]}" "$TOOLS/forksig" --fork-on 3
start_requests inflight 2 --path /delay/1200
"${CLIENT[@]}" --port "$PORT" --path /delay/300 >"$T/trigger.client" 2>&1 ||
	fail "the request that forked was lost: $(cat "$T/trigger.client")"
wait_status forksig 10000
finish_requests inflight
expect_eq "fork signal: lost" "$LOST" 0
expect_eq "fork signal: wait status" "$STATUS" "signal 15"
expect_eq "fork signal: drains" "$(grep -c 'info: draining on SIGTERM' "$T/forksig.log")" 1
pass "SIGTERM sent during fork(): one drain, no deadlock, nothing lost"
