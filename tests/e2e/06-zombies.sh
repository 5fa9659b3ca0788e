#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Failure mode 6 and the rest of the children policy. A server's children must be waited for
# without taking their exit status from the program (its SIGCHLD handler still sees every one);
# a program that never reaps keeps its zombies, as it would; a child that never ends is sent
# SIGTERM at the deadline and SIGKILL after LASTCALL_KILL_AFTER; and a daemonizing process,
# which exits right after forking, is not delayed at all.
. "$(dirname "$0")/../lib/lib.sh"

REAPER=$TOOLS/reaper
export SPAWN_MODE=-r

# reaper NAME PRELOAD ARGS...: the reaper server with three children; SIGTERM at once. SETTINGS
# (an array of VAR=value) goes into the server's environment.
SETTINGS=()
reaper() {
	local name=$1 preload=$2 cmd
	shift 2
	cmd=("$REAPER" "$@")
	[ "$preload" = 1 ] && cmd=(env "${SETTINGS[@]}" "${LASTCALL[@]}" "${cmd[@]}")
	server "$name" "${cmd[@]}"
	poll_until 5000 sh -c "[ \$(cat /proc/$PID/task/*/children | wc -w) -ge 3 ]" ||
		fail "$name: no children"
	T0=$(now_ms)
	kill -TERM "$PID"
	wait_status "$name" 15000
	REAPED=$(grep -c '^reaped .* status 1[012]$' "$T/$name.log")
}

# 1. The program reaps its children in a SIGCHLD handler. They live 2 s, time enough to see
#    them and signal on a loaded machine.
reaper steal-0 0 --life 2000
[ "$TREE_ALIVE" -eq 3 ] || fail "without lastcall: expected 3 children left running"
note "without lastcall: the server dies at once, 3 children left running, $REAPED reaped by it"
reaper steal-1 1 --life 2000
expect_eq "reaped by the program's own handler, with their statuses" "$REAPED" 3
expect_eq "left alive" "$TREE_ALIVE" 0
expect_eq "zombies" "$TREE_ZOMBIES" 0
expect_eq "status" "$STATUS" "signal 15"
read_summary "$T/steal-1.log" || fail "no drain summary: $(cat "$T/steal-1.log")"
expect_eq "summary: children ended, passed, termed, killed" \
	"${SUMMARY[children]} ${SUMMARY[passed]} ${SUMMARY[termed]} ${SUMMARY[killed]}" "3 0 0 0"
note "with lastcall: the server waits, its handler reaps all 3 (statuses 10, 11, 12)"
pass "children are waited for, and their exit statuses stay the program's"

# 2. A program that never reaps: lastcall does not reap for it either.
reaper never-1 1 --never-reap
expect_eq "never reaps: left alive" "$TREE_ALIVE" 0
expect_eq "never reaps: zombies kept for the program" "$TREE_ZOMBIES" 3
pass "a program that never reaps keeps its 3 zombies: lastcall takes no exit status"

# 3. Children that ignore SIGTERM: SIGTERM at the 1 s deadline, SIGKILL 2 s later. (A
#    LASTCALL_KILL_AFTER longer than the deadline's 1 s of lingering, as the default 5 s is: the
#    drain must wake for the SIGKILL with nothing else to wake it.)
SETTINGS=(LASTCALL_TIMEOUT=1s LASTCALL_KILL_AFTER=2s)
reaper stubborn-1 1 --stubborn
SETTINGS=()
expect_eq "stubborn: left alive" "$TREE_ALIVE" 0
expect_eq "stubborn: status" "$STATUS" "signal 15"
read_summary "$T/stubborn-1.log" || fail "no drain summary: $(cat "$T/stubborn-1.log")"
expect_eq "stubborn: summary: children ended, passed, termed, killed" \
	"${SUMMARY[children]} ${SUMMARY[passed]} ${SUMMARY[termed]} ${SUMMARY[killed]}" "3 0 3 3"
note "children ignoring SIGTERM: SIGTERM at the 1 s deadline, SIGKILL at 3 s; the program reaped" \
	"$(grep -c 'status 137$' "$T/stubborn-1.log") of them as killed by SIGKILL; exit $((ENDED - T0)) ms" \
	"after SIGTERM"
pass "a child that never ends is killed at the deadline, and the summary says so"

# 4. A daemon: the process started forks and exits at once; lastcall does not delay it (with
#    LASTCALL_TIMEOUT=30s it would wait 30 s if it waited for the daemon). The daemon serves,
#    and drains on SIGTERM.
for preload in 0 1; do
	cmd=("$EX/daemon" --port 0 --port-file "$T/daemon-$preload.port")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	spawn "daemon-$preload" "${cmd[@]}"
	wait_status "daemon-$preload" 5000
	expect_eq "daemon launcher (preload=$preload): status" "$STATUS" "exit 0"
	poll_until 5000 test -s "$T/daemon-$preload.port.pid" || fail "no daemon"
	DAEMON=$(cat "$T/daemon-$preload.port.pid")
	PIDS+=("$DAEMON")
	poll_until 5000 test -s "$T/daemon-$preload.port" || fail "daemon did not listen"
	PORT=$(cat "$T/daemon-$preload.port")
	start_requests "daemon-$preload" 2 --path /delay/800
	kill -TERM "$DAEMON"
	poll_until 10000 sh -c "! kill -0 $DAEMON 2>/dev/null || grep -q '^State:.*Z' /proc/$DAEMON/status" ||
		fail "daemon still running"
	finish_requests "daemon-$preload"
	if [ "$preload" = 0 ]; then
		[ "$LOST" -gt 0 ] || fail "daemon without lastcall: expected lost requests"
	else
		expect_eq "daemon with lastcall: lost" "$LOST" 0
	fi
	note "daemon, preload=$preload: launcher exited at once; $LOST of 2 requests lost at SIGTERM"
done
pass "a daemonizing double fork exits at once, and the daemon drains"
