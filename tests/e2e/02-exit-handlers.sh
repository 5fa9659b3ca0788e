#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Failure mode 2: a program that ends itself (exit(), or return from main) while other threads
# still serve connections cuts them; its exit handlers cannot help. With lastcall the exit waits
# for the connections this process accepted, then proceeds with the program's own status. A
# process with nothing in flight is not delayed.
. "$(dirname "$0")/../lib/lib.sh"

SIGSERVER=$TOOLS/sigserver

for how in exit return; do
	for preload in 0 1; do
		name=$how-$preload
		cmd=("$SIGSERVER" "--$how-after" "3:7")
		[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
		server "$name" "${cmd[@]}"
		# The third accept makes main end the process; the requests take 1200 ms.
		"${CLIENT[@]}" --port "$PORT" --count 3 --path /delay/1200 >"$T/$name.client" 2>&1 &
		CLIENT_PID=$!
		wait_status "$name" 10000
		finish_requests "$name"
		expect_eq "$how (preload=$preload): exit status" "$STATUS" "exit 7"
		if [ "$preload" = 0 ]; then
			[ "$LOST" -gt 0 ] || fail "$how without lastcall: expected lost requests"
			note "$how() without lastcall: $LOST of 3 requests lost"
		else
			[ "$LOST" -eq 0 ] || fail "$how with lastcall: $LOST lost: $(cat "$T/$name.client")"
			grep -q "info: draining on exit(): 1 listener stopped, 3 connections" \
				"$T/$name.log" || fail "$how: no exit drain logged: $(cat "$T/$name.log")"
			note "$how() with lastcall: 0 of 3 lost, status 7 kept"
		fi
	done
	pass "$how from a server with requests in flight: drained, status kept"
done

# Nothing in flight (it listened, never accepted): exit is immediate and silent, status kept.
spawn idle "${LASTCALL[@]}" "$SIGSERVER" --exit-after 0:4 --port 0
wait_status idle 5000
expect_eq "idle exit status" "$STATUS" "exit 4"
! grep -q lastcall "$T/idle.log" || fail "an idle exit logged: $(cat "$T/idle.log")"
pass "exit with nothing in flight: not delayed, nothing logged"
