#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Failure mode 1: a server with no SIGTERM handler dies at once and cuts every request in flight.
# For each example server: slow requests in flight, then SIGTERM. Without lastcall they are lost;
# with it they all complete byte for byte, and the server still dies by SIGTERM afterwards.
. "$(dirname "$0")/../lib/lib.sh"

DELAY=1500

# run NAME COUNT COMMAND...: requests in flight, SIGTERM; sets LOST, MS (SIGTERM to exit), STATUS.
run() {
	local name=$1 count=$2 t0
	shift 2
	server "$name" "$@"
	start_requests "$name" "$count" --path "/delay/$DELAY"
	t0=$(now_ms)
	kill -TERM "$PID"
	wait_status "$name" 10000
	finish_requests "$name"
	MS=$((ENDED - t0))
}

for model in threaded pool blocking epoll epoll-edge; do
	args=("$EX/${model%-edge}")
	[ "$model" = epoll-edge ] && args+=(--edge)
	count=3
	[ "$model" = blocking ] && count=1 # one at a time; queued ones are the backlog test's
	run "$model-bare" "$count" "${args[@]}"
	[ "$LOST" -gt 0 ] || fail "$model without lastcall: expected lost requests, got none"
	expect_eq "$model without lastcall: wait status" "$STATUS" "signal 15"
	note "$model without lastcall: $LOST of $count requests lost, exit $MS ms after SIGTERM"
	run "$model" "$count" "${LASTCALL[@]}" "${args[@]}"
	[ "$LOST" -eq 0 ] || fail "$model with lastcall: $LOST lost: $(cat "$T/$model.client")"
	expect_eq "$model with lastcall: wait status" "$STATUS" "signal 15"
	drain_summary "$model"
	expect_eq "$model: finished, cut" "$FINISHED $CUT" "$count 0"
	note "$model with lastcall: 0 of $count lost, exit $MS ms after SIGTERM (requests: $DELAY ms)"
	pass "$model: in-flight requests survive SIGTERM, then SIGTERM's default action"
done
