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
