#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A fork-per-connection server closes its own copy of a connection right after forking the child
# that answers it. When that close comes during a drain (a connection the server was still
# reading, and the queued ones it takes from the stash), it must not end the connection: the
# child is still writing its reply. The CGI example reads each request in the parent, forks a
# shell that answers after 500 ms, and closes its copy. One client holds the parent in read()
# while two more queue behind it; SIGTERM; then the first sends its request.
. "$(dirname "$0")/../lib/lib.sh"

# run NAME PRELOAD: sets LOST (of 3) and STATUS.
run() {
	local name=$1 cmd=("$EX/cgi")
	[ "$2" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	SPAWN_MODE=-r server "$name" "${cmd[@]}"
	# The slow client: connects, waits for the go file, then sends its request.
	"${CLIENT[@]}" --port "$PORT" --path /delay/500 --send-after "$T/$name.go" --timeout 20 \
		>"$T/$name.slow" 2>&1 &
	SLOW_PID=$!
	poll_until 5000 accepted "$PORT" 1 || fail "$name: the slow client was not accepted"
	# Two more, queued behind it (the parent is in read() on the first).
	"${CLIENT[@]}" --port "$PORT" --count 2 --path /delay/500 >"$T/$name.client" 2>&1 &
	CLIENT_PID=$!
	poll_until 5000 sh -c "[ \$(ss -Hltn 'sport = :$PORT' | awk '{print \$2}') -ge 2 ]" ||
		fail "$name: the two requests did not queue"
	kill -TERM "$PID"
	[ "$2" = 1 ] && { poll_until 5000 grep -q "draining on SIGTERM" "$T/$name.log" ||
		fail "$name: no drain: $(cat "$T/$name.log")"; }
	touch "$T/$name.go"
	wait "$SLOW_PID"
	finish_requests "$name"
	wait_status "$name" 15000
	slow_ok=$(summary_field "$T/$name.slow" ok)
	LOST=$((LOST + 1 - ${slow_ok:-0}))
}

run bare 0
[ "$LOST" -gt 0 ] || fail "without lastcall: nothing lost"
without=$LOST
run with 1
expect_eq "with lastcall: lost of 3 ($(cat "$T/with.slow"); $(tail -1 "$T/with.client"))" "$LOST" 0
expect_eq "with lastcall: left alive" "$TREE_ALIVE" 0
note "CGI example, its copy closed during the drain: without lastcall $without of 3 lost," \
	"with it 0 of 3, $STATUS"
pass "a forking server's close of its copy during a drain leaves the child's reply whole"
