#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Failure mode 7: closing a listener resets every connection the kernel already accepted for
# it but the program had not picked up yet. A busy server that accepts one connection at a time
# has a queue at the moment of SIGTERM. Without lastcall those clients get a reset; with it they
# are taken into the stash and served, one after another, before the end.
. "$(dirname "$0")/../lib/lib.sh"

QUEUED=4

for preload in 0 1; do
	name=backlog-$preload
	cmd=("$EX/blocking")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	server "$name" "${cmd[@]}"
	"${CLIENT[@]}" --port "$PORT" --count $((QUEUED + 1)) --path /delay/400 \
		>"$T/$name.client" 2>&1 &
	CLIENT_PID=$!
	# One in service, the rest waiting in the accept queue.
	poll_until 5000 sh -c "ss -Hltn 'sport = :$PORT' | awk '{exit \$2 != $QUEUED}'" ||
		fail "$name: the queue did not fill"
	kill -TERM "$PID"
	wait_status "$name" 10000
	finish_requests "$name"
	resets=$(summary_field "$T/$name.client" reset)
	if [ "$preload" = 0 ]; then
		[ "$resets" -ge "$QUEUED" ] || fail "without lastcall: expected $QUEUED resets, got $resets"
	else
		[ "$LOST" -eq 0 ] || fail "with lastcall: $LOST lost: $(cat "$T/$name.client")"
		grep -q "$((QUEUED + 1)) connections finished" "$T/$name.log" ||
			fail "no summary: $(cat "$T/$name.log")"
	fi
	note "blocking server, $QUEUED queued + 1 in service, preload=$preload: $LOST lost ($resets reset)"
done
pass "connections queued at SIGTERM are served, not reset"
