#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Failure mode 1: a server with no SIGTERM handler dies at once and cuts every request in flight.
# For each example server: slow requests in flight, then SIGTERM. Without lastcall they are lost;
# with it they all complete byte for byte, and the server still dies by SIGTERM afterwards.
. "$(dirname "$0")/../lib/lib.sh"

DELAY=1500

# run NAME PRELOAD(0|1) COUNT SERVER-ARGS...: prints "LOST ELAPSED_MS STATUS" on the last line.
run() {
	local name=$1 preload=$2 count=$3 t0
	shift 3
	if [ "$preload" = 1 ]; then
		server "$name" "${LASTCALL[@]}" "$@"
	else
		server "$name" "$@"
	fi
	"${CLIENT[@]}" --port "$PORT" --count "$count" --path "/delay/$DELAY" \
		--ready "$T/$name.ready" >"$T/$name.client" 2>&1 &
	local client=$!
	poll_until 5000 test -e "$T/$name.ready" || fail "$name: requests not sent"
	wait_accepted "$PORT" "$count" 5000 || fail "$name: requests not accepted"
	t0=$(now_ms)
	kill -TERM "$PID"
	wait_status "$name" 10000
	wait "$client"
	local ok
	ok=$(summary_field "$T/$name.client" ok)
	echo "$((count - ok)) $((ENDED - t0)) $STATUS"
}

for model in threaded pool blocking epoll epoll-edge; do
	args=("$EX/${model%-edge}")
	[ "$model" = epoll-edge ] && args+=(--edge)
	count=3
	[ "$model" = blocking ] && count=1 # one at a time; the queued case is the backlog test's
	read -r lost ms status < <(run "$model-bare" 0 "$count" "${args[@]}" | tail -1)
	[ "$lost" -gt 0 ] || fail "$model without lastcall: expected lost requests, got none"
	expect_eq "$model without lastcall: wait status" "$status" "signal 15"
	note "$model without lastcall: $lost of $count requests lost, exit after $ms ms"
	read -r lost ms status < <(run "$model" 1 "$count" "${args[@]}" | tail -1)
	[ "$lost" -eq 0 ] || fail "$model with lastcall: $lost requests lost: $(cat "$T/$model.client")"
	expect_eq "$model with lastcall: wait status" "$status" "signal 15"
	grep -q "lastcall\[[0-9]*\]: info: drained in .*: $count connections finished, 0 closed" \
		"$T/$model.log" || fail "$model: no drain summary in the log: $(cat "$T/$model.log")"
	note "$model with lastcall: 0 of $count lost, exit after $ms ms (requests: $DELAY ms)"
	pass "$model: in-flight requests survive SIGTERM"
done
