#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Pre-fork servers whose master has its own SIGTERM handler (Apache, php-fpm, gunicorn, uWSGI):
# examples/prefork --supervise. On SIGTERM the master sends SIGTERM to its workers, SIGKILL to
# those still running 1 s later, and exits 0 once it has reaped them; while it is not stopping
# it replaces every worker that exits. Workers have no handler.
# Without lastcall the workers die at once and the requests they serve are lost. With lastcall:
# nothing lost, no worker started during the stop (a master held back while its workers drain
# and exit replaces them, and the stop then waits for the new ones to its deadline), the
# master's own status, its end within 1 s of the last reply, nothing left running. Stopped
# three ways (main, all, container), on a shared listener and with SO_REUSEPORT listeners.
# A negative control: a worker killed while no stop is under way is replaced as before. And a
# worker killed as the stop begins: the master, whose handler lastcall holds, replaces it, and
# the new worker, which began accepting after the stop's signal was passed on, is told too: at
# most that one started, and the stop ends long before the deadline (the new worker was once
# left accepting, and the master's deadline then killed its workers behind its back: 1 to 6
# started, 12 s).
. "$(dirname "$0")/../lib/lib.sh"

# Replies of 6 chunks 500 ms apart: 2.5 s each, longer than the master's 1 s escalation.
STREAM=/stream/6/500
WORKERS=4 # one more than the requests: an idle worker ends at once when told to stop
# Long enough for the slowest drain here (two replies queued on one SO_REUSEPORT listener: 5 s)
# under a sanitizer; a stop that waits for the deadline shows as far beyond the replies' end.
export LASTCALL_TIMEOUT=9s LASTCALL_KILL_AFTER=2s
# spawns NAME: how many workers the master has started ("spawned worker PID" lines).
spawns() {
	grep -c '^spawned worker ' "$T/$1.log"
}

# spawned NAME N: whether the master has started N workers.
spawned() {
	[ "$(spawns "$1")" -ge "$2" ]
}

# start VARIANT NAME PRELOAD: the server, every worker up. Sets PID and PORT.
start() {
	local cmd=("$EX/prefork" --supervise --threads "$WORKERS")
	[ "$1" = reuseport ] && cmd+=(--reuseport)
	[ "$3" = 1 ] && cmd=("${COMMAND[@]}" "${cmd[@]}")
	server "$2" "${cmd[@]}"
	poll_until 5000 spawned "$2" "$WORKERS" || fail "$2: workers not started"
}

# streams NAME COUNT [CLIENT-ARGS...]: COUNT streamed replies under way. A shared listener gives
# each to an idle worker: every reply has started. SO_REUSEPORT spreads connections by a hash,
# and two may queue on one worker's listener: every request sent, one reply started.
streams() {
	local name=$1 count=$2
	shift 2
	rm -f "$T/$name.ready"
	"${CLIENT[@]}" --port "$PORT" --count "$count" --path "$STREAM" --timing --timeout 30 \
		--ready "$T/$name.ready" --ready-when first-byte "$@" >"$T/$name.client" 2>&1 &
	CLIENT_PID=$!
	poll_until 10000 test -e "$T/$name.ready" || fail "$name: replies did not start: $(cat "$T/$name.client")"
}

# run VARIANT MODE PRELOAD: the stop with replies under way. Sets LOST, STATUS, TREE_ALIVE,
# RESPAWNED (workers started after the SIGTERM), EXIT_MS (SIGTERM to the master's end),
# LAST_MS (SIGTERM to the end of the last whole reply), KILLS (the master's SIGKILL lines).
run() {
	local variant=$1 mode=$2 preload=$3 name=$1-$2-$3 targets before last
	SPAWN_MODE=$([ "$mode" = container ] && echo -k || echo -r) start "$variant" "$name" "$preload"
	if [ "$variant" = reuseport ]; then
		streams "$name" 2 --ready-min 1
	else
		streams "$name" 3
	fi
	targets=("$PID")
	[ "$mode" = all ] && mapfile -t -O 1 targets < <(descendants "$PID")
	before=$(spawns "$name")
	T0=$(now_ms)
	kill -TERM "${targets[@]}" 2>/dev/null # in "all", a worker may have ended meanwhile
	ended "$name" 30000
	finish_requests "$name"
	RESPAWNED=$(($(spawns "$name") - before))
	KILLS=$(grep -c '^SIGKILL to' "$T/$name.log")
	EXIT_MS=$((ENDED - T0))
	last=$(summary_field "$T/$name.client" last_at)
	LAST_MS=$((${last:-0} > T0 ? last - T0 : 0))
}

declare -A without
for variant in shared reuseport; do
	for mode in main all container; do
		run "$variant" "$mode" 0
		[ "$LOST" -gt 0 ] || fail "$variant, $mode, without lastcall: nothing lost: $(cat "$T/$variant-$mode-0.client")"
		bare=$STATUS
		without[$variant-$mode]="$LOST lost, $STATUS, $EXIT_MS ms"
		run "$variant" "$mode" 1
		what="$variant, $mode, with lastcall"
		check "$what: $LOST lost" [ "$LOST" -eq 0 ]
		check "$what: $RESPAWNED workers started during the stop" [ "$RESPAWNED" -eq 0 ]
		check "$what: status $STATUS, without lastcall $bare" [ "$STATUS" = "$bare" ]
		check "$what: ended $EXIT_MS ms after SIGTERM, the last reply $LAST_MS ms" \
			[ "$EXIT_MS" -le $((LAST_MS + 1000)) ]
		check "$what: $TREE_ALIVE processes left running" [ "$TREE_ALIVE" -eq 0 ]
		check "$what: $TREE_ZOMBIES zombies" [ "$TREE_ZOMBIES" -eq 0 ]
		printf '   %-9s %-9s without: %-24s with: %s lost, %s started in the stop, %s, ended %s ms (last reply %s ms), %s left, master SIGKILL lines %s\n' \
			"$variant" "$mode" "${without[$variant-$mode]}" "$LOST" "$RESPAWNED" "$STATUS" \
			"$EXIT_MS" "$LAST_MS" "$TREE_ALIVE" "$KILLS"
	done
done

# The negative control: no stop under way, a worker killed by SIGKILL is replaced at once. Then
# a stop with every worker idle: none is replaced either.
SPAWN_MODE=-r start shared control 1
victim=$(sed -n 's/^spawned worker //p' "$T/control.log" | head -1)
kill -KILL "$victim"
poll_until 5000 spawned control $((WORKERS + 1)) ||
	fail "with lastcall, no stop: worker $victim killed, not replaced: $(cat "$T/control.log")"
replaced=$(sed -n 's/^spawned worker //p' "$T/control.log" | tail -1)
before=$(spawns control)
T0=$(now_ms)
kill -TERM "$PID"
ended control 30000
respawned=$(($(spawns control) - before))
check "control: $respawned workers started during an idle stop" [ "$respawned" -eq 0 ]
check "control: idle stop ended $STATUS, $TREE_ALIVE left" [ "$STATUS $TREE_ALIVE" = "exit 0 0" ]
note "control: worker $victim killed without a stop, replaced by $replaced; idle stop: $respawned started, $STATUS"

SPAWN_MODE=-r start shared lost 1
victim=$(sed -n 's/^spawned worker //p' "$T/lost.log" | head -1)
before=$(spawns lost)
T0=$(now_ms)
kill -KILL "$victim"
kill -TERM "$PID"
ended lost 30000
respawned=$(($(spawns lost) - before))
check "worker killed as the stop began: $respawned workers started" [ "$respawned" -le 1 ]
check "worker killed as the stop began: ended $((ENDED - T0)) ms after SIGTERM, deadline 9 s" \
	[ $((ENDED - T0)) -lt 9000 ]
check "worker killed as the stop began: $STATUS, $TREE_ALIVE left" [ "$STATUS $TREE_ALIVE" = "exit 0 0" ]
note "worker $victim killed as the stop began: $respawned started, $STATUS, ended $((ENDED - T0)) ms after SIGTERM"

checked
pass "supervising master: requests in flight finish, no worker started during the stop, status kept"
pass "supervising master: a worker lost outside a stop is still replaced; one lost as it begins does not hold the stop"
