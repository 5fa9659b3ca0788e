#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# While a drain waits, the program's event loop must not spin: its stopped listener is an
# inert stand-in, so poll and epoll (level- or edge-triggered) see nothing to accept. Measured as
# the server's CPU time between SIGTERM and its exit, during a 2 s drain.
. "$(dirname "$0")/../lib/lib.sh"

for model in epoll epoll-edge threaded; do
	args=("$EX/${model%-edge}")
	[ "$model" = epoll-edge ] && args+=(--edge)
	server "$model" "${LASTCALL[@]}" "${args[@]}"
	start_requests "$model" 2 --path /delay/2000
	before=$(cpu_ms "$PID")
	kill -TERM "$PID"
	wait_status "$model" 10000
	finish_requests "$model"
	expect_eq "$model: lost" "$LOST" 0
	used=$((CPU - before))
	# A spinning loop would use about 2000 ms here; the bound is generous for noisy machines.
	[ "$used" -lt "$SPIN_MS" ] || fail "$model used $used ms of CPU during a 2 s drain"
	note "$model: $used ms CPU during a 2 s drain"
done
pass "no event loop spins while draining"
