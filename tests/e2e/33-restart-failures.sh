#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Restarts that fail: the new generation exits with status 1 at once, never listens, or listens
# on another port. Without lastcall, a restart that fails is an outage: the old server was
# stopped first. With lastcall --restart-on HUP each is abandoned (the new generation ends or is
# stopped after LASTCALL_RESTART_TIMEOUT), one line says why, the old generation serves on with
# 0 requests failed, and a later restart succeeds.
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/servers/restart.sh"

PORT=$(free_port)
OTHER=$(free_port)
# The server, through a wrapper script that executes it (as many ExecStart= lines do); what
# the next start does is read from $T/mode.
cat >"$T/server.sh" <<EOF
#!/bin/sh
case \$(cat "$T/mode") in
exit) exit 1 ;;
nolisten) exec sleep 60 ;;
other) exec "$EX/threaded" --port $OTHER ;;
esac
exec "$EX/threaded" --port $PORT
EOF
chmod 755 "$T/server.sh"

# Without lastcall: stop, then a start that fails.
echo ok >"$T/mode"
spawn bare "$T/server.sh"
wait_listening "$PORT" 10000 || fail "bare: did not listen"
start_load bare "$PORT" 3
sleep 1 # load before the restart
echo exit >"$T/mode"
kill -TERM "$PID"
wait_status bare 10000
spawn bare-2 "$T/server.sh"
wait_status bare-2 10000
wait "$LOAD_PID"
tally bare
[ "$BAD" -gt 0 ] || fail "without lastcall a failed restart lost nothing: the test shows nothing"
note "without lastcall: a restart whose new server exits at once: $BAD of $SENT requests failed ($BAD_KINDS)"

# With lastcall: three failures, then a restart that succeeds.
echo ok >"$T/mode"
export LASTCALL_RESTART_TIMEOUT=2s
spawn with "${COMMAND[@]}" "${RESTART_OPTS[@]}" "$T/server.sh"
MAIN=$PID
wait_listening "$PORT" 10000 || fail "with: did not listen: $(cat "$T/with.log")"
first=$(pgrep -P "$MAIN")
start_load with "$PORT" 12
sleep 0.5 # load before the first restart
n=0
for mode in exit nolisten other; do
	echo "$mode" >"$T/mode"
	kill -HUP "$MAIN"
	n=$((n + 1))
	poll_until 10000 eval "[ \$(grep -c 'restart abandoned' '$T/with.log') -ge $n ]" ||
		fail "$mode: no abandoned restart: $(tail -n 3 "$T/with.log")"
	line=$(grep 'restart abandoned' "$T/with.log" | tail -n 1)
	note "$mode: ${line#*: }"
	case $mode in
	exit) [[ $line == *"exited with status 1"* ]] || fail "exit: $line" ;;
	*) [[ $line == *"not ready after 2s"* ]] || fail "$mode: $line" ;;
	esac
	# The failed generation is stopped: nothing of it is left, on the other port either.
	poll_until 10000 eval "[ \$(pgrep -P '$MAIN' | wc -l) -eq 1 ]" ||
		fail "$mode: the failed generation is still running"
	expect_eq "$mode: the generation serving" "$(pgrep -P "$MAIN")" "$first"
	poll_until 5000 eval "! ss -Hltn 'sport = :$OTHER' | grep -q ." ||
		fail "$mode: port $OTHER still listening"
done
echo ok >"$T/mode"
kill -HUP "$MAIN"
poll_until 10000 grep -q 'ready after' "$T/with.log" || fail "the last restart did not succeed"
poll_until 10000 grep -q 'drained and' "$T/with.log" || fail "the first generation did not end"
second=$(pgrep -P "$MAIN")
if [ -z "$second" ] || [ "$second" = "$first" ]; then fail "no new generation: $second"; fi
wait "$LOAD_PID"
kill -TERM "$MAIN"
wait_status with 20000
expect_eq "wait status" "$STATUS" "signal 15"
tally with
note "with lastcall: $SENT requests during 3 failed restarts and 1 that succeeded: $BAD failed; $CLOSED kept-alive connections closed cleanly (retried)"
expect_eq "requests refused, reset or cut ($BAD_KINDS)" "$BAD" 0
pass "failed restarts (exit 1, never listens, another port) abandoned with a reason; the old generation served on; the next restart succeeded; 0 failed"
