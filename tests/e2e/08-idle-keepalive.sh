#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Failure mode 8: a drain that waits for every open connection waits for idle keep-alive
# clients, which have nothing in flight, until the deadline. lastcall closes a connection once
# nothing has crossed it for LASTCALL_IDLE (2 s by default) after the server answered: the
# program reads EOF and closes it as a client's, and the client sees a clean close, never a
# reset. Busy connections finish; a reply that pauses for less than the threshold is not cut.
. "$(dirname "$0")/../lib/lib.sh"

N=8         # idle clients, and as many requests in flight
DELAY=800   # the requests in flight
THRESHOLD=5000

# idle_clients NAME: N clients each make one keep-alive request and then hold the connection.
idle_clients() {
	"${CLIENT[@]}" --port "$PORT" --count "$N" --path / --hold 20 \
		--ready "$T/$1.idle" --ready-when replied >"$T/$1.idle-client" 2>&1 &
	IDLE_PID=$!
	poll_until 5000 test -e "$T/$1.idle" || fail "$1: idle clients not ready"
}

# quiet_for PORT MS: every established connection on PORT has carried no data for MS ms (the
# kernel's lastsnd and lastrcv, as lastcall reads them).
quiet_for() {
	ss -Htin state established "sport = :$1" | awk -v ms="$2" '
		/lastsnd:/ { n++; for (i = 1; i <= NF; i++) {
			split($i, kv, ":"); if ((kv[1] == "lastsnd" || kv[1] == "lastrcv") && kv[2] < ms) bad++ } }
		END { exit !(n > 0 && !bad) }'
}

# finish NAME: waits for the server and its clients; reads the summary.
finish() {
	wait_status "$1" 15000
	wait "$IDLE_PID"
	[ -z "${CLIENT_PID:-}" ] || finish_requests "$1"
	drain_summary "$1"
}

# Waiting for idle connections (LASTCALL_IDLE=off): the drain lasts to its 2 s deadline.
server waiting env LASTCALL_IDLE=off LASTCALL_TIMEOUT=2s "${LASTCALL[@]}" "$EX/threaded"
idle_clients waiting
start_requests waiting 1 --path /delay/$DELAY
kill -TERM "$PID"
finish waiting
expect_eq "idle off: busy request" "$LOST" 0
expect_eq "idle off: finished, idle, cut" "$FINISHED $IDLE_CLOSED $CUT" "1 0 $N"
note "LASTCALL_IDLE=off: the drain waited $DRAIN_MS ms, to the deadline, for $N idle clients"

# Default: N idle clients and N keep-alive requests in flight. Each connection closes once it
# has been quiet for the threshold after its reply, cleanly; the drain ends within the
# threshold (+100 ms) of the last reply.
server closing env LASTCALL_TIMEOUT=20s "${LASTCALL[@]}" "$EX/threaded"
idle_clients closing
start_requests closing "$N" --path /delay/$DELAY --hold 20
kill -TERM "$PID"
finish closing
expect_eq "busy requests lost" "$LOST" 0
for f in closing.idle-client closing.client; do
	expect_eq "$f: closed cleanly" "$(summary_field "$T/$f" held_eof)" "$N"
	expect_eq "$f: reset" "$(summary_field "$T/$f" held_reset)" 0
done
expect_eq "finished, closed as idle, cut" "$FINISHED $IDLE_CLOSED $CUT" "0 $((2 * N)) 0"
[ "$DRAIN_MS" -le $((DELAY + THRESHOLD + 100)) ] ||
	fail "drain took $DRAIN_MS ms: more than the last reply ($DELAY ms) + $THRESHOLD + 100 ms"
note "default: $N idle and $N answered keep-alive connections closed cleanly as idle; drain"
note "$DRAIN_MS ms (bound: the last reply, at most $DELAY ms, + $THRESHOLD + 100 ms)"

# Default, connections already quiet for longer than the threshold when the signal comes:
# closed at drain start, so an idle server stops at once.
server quiet env LASTCALL_TIMEOUT=20s "${LASTCALL[@]}" "$EX/threaded"
idle_clients quiet
CLIENT_PID=
poll_until $((THRESHOLD + 5000)) quiet_for "$PORT" $((THRESHOLD + 50)) ||
	fail "connections not quiet for $THRESHOLD ms"
kill -TERM "$PID"
finish quiet
expect_eq "quiet: closed cleanly" "$(summary_field "$T/quiet.idle-client" held_eof)" "$N"
expect_eq "quiet: finished, closed as idle, cut" "$FINISHED $IDLE_CLOSED $CUT" "0 $N 0"
[ "$DRAIN_MS" -le 1000 ] || fail "quiet: drain took $DRAIN_MS ms for connections already idle"
note "default, $N connections quiet for more than $THRESHOLD ms at SIGTERM: drain $DRAIN_MS ms"
pass "idle keep-alive connections close once quiet for the threshold, cleanly; busy ones finish"

# The threshold both ways, on a Node.js server (it ends a reply when it reads end-of-file): a
# reply pausing 1 s is cut under LASTCALL_IDLE=300ms, and the summary says it was closed as idle;
# with the default it completes.
glibc_only "the threshold both ways, on Node.js" node || exit 0
NODE=$(command -v node || echo /usr/bin/node)
[ -x "$NODE" ] || fail "node not found (apt-get install nodejs)"
# stream NAME ENV...: 2 replies of 3 chunks 1 s apart in flight at SIGTERM.
stream() {
	local name=$1
	shift
	spawn "$name" env "$@" "${COMMAND[@]}" "$NODE" "$ROOT/tests/servers/node_stream.js" \
		"$T/$name.port"
	poll_until 10000 test -s "$T/$name.port" || fail "$name: node did not start"
	PORT=$(cat "$T/$name.port")
	start_requests "$name" 2 --path /stream/3/1000 --ready-when first-byte
	kill -TERM "$PID"
	wait_status "$name" 15000
	finish_requests "$name"
	drain_summary "$name"
}
stream small LASTCALL_IDLE=300ms
[ "$LOST" -eq 2 ] || fail "LASTCALL_IDLE=300ms: $LOST of 2 replies pausing 1 s cut, want 2"
expect_eq "LASTCALL_IDLE=300ms: closed as idle" "$IDLE_CLOSED" 2
stream default
expect_eq "default: replies pausing 1 s lost" "$LOST" 0
expect_eq "default: closed as idle" "$IDLE_CLOSED" 0
note "Node.js, replies pausing 1 s: LASTCALL_IDLE=300ms cut 2 of 2 (closed as idle); default: 0 of 2"
pass "the threshold works both ways: pauses longer than it are cut, shorter ones are not"
