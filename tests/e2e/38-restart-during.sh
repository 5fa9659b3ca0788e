#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signals that arrive during a restart, with a server that takes a while to start (a wrapper
# script that sleeps $T/delay seconds, then executes the threaded example; the first start does
# not wait):
#   stop     SIGTERM after the restart signal, before the new generation is ready. Without
#            lastcall (a restart by hand: stop, start, and the stop of the new start) the
#            streams in flight are cut and the starting server's child is left running. With
#            lastcall --restart-on HUP both generations stop: the streams in flight on the old
#            one complete, nothing is left, and the status is the old generation's.
#   twice    two restart signals in quick succession (back to back, then one more while the
#            restart runs). Without lastcall (two restarts by hand) requests are refused in
#            between. With lastcall they make one restart (the log says the later ones were
#            coalesced; one new generation), a later restart still succeeds, and under load
#            nothing fails.
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/servers/restart.sh"

cat >"$T/slow.sh" <<EOF
#!/bin/sh
sleep "\$(cat "$T/delay")"
exec "$EX/threaded" --port "\$1"
EOF
chmod 755 "$T/slow.sh"
# In flight at the stop: streams of 10 lines 0.3 s apart, about 2.7 s.
STREAMS=(4 --path /stream/10/300 --ready-when first-byte)

# started NAME PID: the pid of the generation the log says is starting, once it runs its sleep.
started() {
	local gen
	poll_until 10000 grep -q 'generation 2 (pid [0-9]*) starting' "$T/$1.log" ||
		fail "$1: the restart did not begin: $(cat "$T/$1.log")"
	gen=$(sed -n 's/.*generation 2 (pid \([0-9]*\)) starting.*/\1/p' "$T/$1.log")
	poll_until 10000 has_descendants "$gen" || fail "$1: generation 2 is not starting"
	echo "$gen"
}

# Stop during a restart, without lastcall: the old server stopped, the new one started and
# stopped again while it starts.
PORT=$(free_port)
echo 0 >"$T/delay"
SPAWN_MODE=-r spawn stop-bare "$T/slow.sh" "$PORT"
wait_listening "$PORT" 10000 || fail "stop-bare: did not listen"
start_requests stop-bare "${STREAMS[@]}"
echo 3 >"$T/delay"
kill -TERM "$PID"
wait_status stop-bare 10000
SPAWN_MODE=-r spawn stop-bare-2 "$T/slow.sh" "$PORT"
poll_until 10000 has_descendants "$PID" || fail "stop-bare-2: not starting"
kill -TERM "$PID"
wait_status stop-bare-2 10000
finish_requests stop-bare
note "stop during a restart, without lastcall: $LOST of 4 streams lost, $TREE_ALIVE processes of the new start left running"
if [ "$LOST" -eq 0 ] || [ "$TREE_ALIVE" -eq 0 ]; then
	fail "without lastcall a stop during a restart lost nothing or left nothing: the test shows nothing"
fi

# With lastcall.
PORT=$(free_port)
echo 0 >"$T/delay"
SPAWN_MODE=-r spawn stop "${COMMAND[@]}" "${RESTART_OPTS[@]}" "$T/slow.sh" "$PORT"
MAIN=$PID
wait_listening "$PORT" 10000 || fail "stop: did not listen: $(cat "$T/stop.log")"
old=$(pgrep -P "$MAIN")
start_requests stop "${STREAMS[@]}"
echo 3 >"$T/delay"
kill -HUP "$MAIN"
new=$(started stop)
kill -TERM "$MAIN"
t0=$(now_ms)
wait_status stop 20000
finish_requests stop
note "stop during a restart, with lastcall: $LOST of 4 streams lost, $TREE_ALIVE processes left; ended ${STATUS} $((ENDED - t0)) ms after SIGTERM"
sed -n 's/^lastcall\[[0-9]*\]: /     /p' "$T/stop.log"
# The new generation's wrapper, told to stop while it waited, must not exec the server after it.
expect_eq "stop: times the server started (the old generation's only)" \
	"$(grep -c '^listening on' "$T/stop.log")" 1
! grep -q 'ready after' "$T/stop.log" || fail "stop: the new generation was ready before the stop"
expect_eq "stop: streams lost" "$LOST" 0
expect_eq "stop: processes left" "$TREE_ALIVE" 0
expect_eq "stop: status (the old generation's)" "$STATUS" "signal 15"
! any_alive "$old" "$new" || fail "stop: a generation is still running"
pass "SIGTERM during a restart stopped both generations (pids $old, $new): 0 of 4 streams lost, nothing left"

# Two restarts in quick succession, without lastcall: stop, start, stop, start.
PORT=$(free_port)
echo 0 >"$T/delay"
spawn twice-bare "$T/slow.sh" "$PORT"
wait_listening "$PORT" 10000 || fail "twice-bare: did not listen"
start_load twice-bare "$PORT" 4
sleep 1 # load before the restarts
echo 1 >"$T/delay"
prev=twice-bare
for i in 1 2; do
	kill -TERM "$PID"
	wait_status "$prev" 10000
	prev=twice-bare-$i
	SPAWN_MODE=-r spawn "$prev" "$T/slow.sh" "$PORT"
done
wait_listening "$PORT" 10000 || fail "twice-bare: did not listen again"
wait "$LOAD_PID"
kill -TERM "$PID"
wait_status twice-bare-2 10000
tally twice-bare
note "two restarts in quick succession, without lastcall: $BAD of $SENT failed ($BAD_KINDS)"
[ "$BAD" -gt 0 ] || fail "without lastcall two restarts lost nothing: the test shows nothing"

# With lastcall: HUP HUP back to back, then HUP while the restart runs; later, one more.
PORT=$(free_port)
echo 0 >"$T/delay"
spawn twice "${COMMAND[@]}" "${RESTART_OPTS[@]}" "$T/slow.sh" "$PORT"
MAIN=$PID
wait_listening "$PORT" 10000 || fail "twice: did not listen: $(cat "$T/twice.log")"
first=$(pgrep -P "$MAIN")
start_load twice "$PORT" 6
sleep 1 # load before the restarts
echo 1 >"$T/delay"
kill -HUP "$MAIN"
kill -HUP "$MAIN"
second=$(started twice)
kill -HUP "$MAIN"
poll_until 10000 grep -q 'coalesced' "$T/twice.log" || fail "twice: no HUP coalesced: $(cat "$T/twice.log")"
poll_until 20000 grep -q 'ready after' "$T/twice.log" || fail "twice: the restart did not end"
sleep 0.5 # pacing only: the restart is done
expect_eq "twice: restarts begun by three HUPs" "$(grep -c 'restart: generation [0-9]* (pid [0-9]*) starting' "$T/twice.log")" 1
echo 0 >"$T/delay"
kill -HUP "$MAIN"
poll_until 20000 eval "[ \$(grep -c 'ready after' '$T/twice.log') -ge 2 ]" ||
	fail "twice: the later restart did not succeed: $(tail -n 3 "$T/twice.log")"
wait "$LOAD_PID"
poll_until 15000 eval "[ \$(grep -c 'drained and' '$T/twice.log') -ge 2 ]" ||
	fail "twice: old generations still draining: $(tail -n 3 "$T/twice.log")"
kill -TERM "$MAIN"
wait_status twice 20000
tally twice
mapfile -t GENS < <(echo "$first"; generations twice)
note "two restarts in quick succession, with lastcall: $BAD of $SENT failed; $(grep -c coalesced "$T/twice.log") HUP coalesced; generations ${GENS[*]}"
grep 'coalesced' "$T/twice.log" | sed 's/^lastcall\[[0-9]*\]: /     /'
expect_eq "twice: requests refused, reset or cut ($BAD_KINDS)" "$BAD" 0
expect_eq "twice: generations" "$(printf '%s\n' "${GENS[@]}" | sort -u | grep -c .)" 3
expect_eq "twice: the generation the HUPs started" "${GENS[1]}" "$second"
pass "HUPs during a restart coalesced into it (one new generation); a later restart succeeded; 0 of $SENT failed"
