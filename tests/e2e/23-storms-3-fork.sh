#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signal storms, scenario 3, signals during fork().
# What no storm may change, and the helpers the storm tests share: tests/lib/storms.sh.
# shellcheck disable=SC2153 # PID: set by lib.sh's spawn
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/storms.sh disable=SC1091
. "$ROOT/tests/lib/storms.sh"

# 3. Signals during fork(). forksig's atfork prepare handler sends SIGTERM from inside fork(),
#    ten times over; then a storm against a program whose thread forks about once a
#    millisecond (children that exit at once), so SIGTERMs land in every part of fork().
fork_in_flight() {
	local name=$1
	shift
	server "$name" "$@" "$TOOLS/forksig" --fork-on 3
	start_requests "$name" 2 --path /delay/400
	"${CLIENT[@]}" --port "$PORT" --path /delay/100 >"$T/$name.trigger" 2>&1
	TRIGGER=$?
	wait_status "$name" 10000
	finish_requests "$name"
}
fork_in_flight forksig-0
[ "$LOST" -gt 0 ] || [ "$TRIGGER" != 0 ] || fail "forksig without lastcall: nothing lost"
note "without lastcall: SIGTERM inside fork() ends the server: $LOST of 2 requests lost" \
	"($STATUS)"
FORK_RUNS=${STORM_FORK_RUNS:-10}
for ((run = 1; run <= FORK_RUNS; run++)); do
	fork_in_flight "forksig-1-$run" "${LASTCALL[@]}"
	expect_eq "forksig run $run: the request that forked" "$TRIGGER" 0
	expect_eq "forksig run $run: lost" "$LOST" 0
	expect_eq "forksig run $run: wait status" "$STATUS" "signal 15"
	expect_eq "forksig run $run: drains" "$(drains "forksig-1-$run")" 1
done
note "with lastcall: $FORK_RUNS runs of SIGTERM inside fork(): each 1 drain, 0 of 3 lost, signal 15"

for preload in 0 1; do
	name=forks-$preload
	cmd=("$FLIP" --forks --log "$T/$name.calls")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	SPAWN_MODE=-r server "$name" "${cmd[@]}"
	start_requests "$name" 3 --path /delay/1000
	term_first "$name" "$preload"
	storm "$PID" 1000 TERM
	during=$((SENT + 1))
	storm_to_end "$PID" 200000
	wait_status "$name" 15000
	finish_requests "$name"
	expect_eq "$name: wait status" "$STATUS" "exit 7"
	forks=$(sed -n 's/^flips [0-9]* forks \([0-9]*\)/\1/p' "$T/$name.calls")
	[ "${forks:-0}" -gt 0 ] || fail "$name: no forks"
	if [ "$preload" = 0 ]; then
		[ "$LOST" -gt 0 ] || fail "without lastcall: expected lost requests"
		note "without lastcall: $during + $SENT SIGTERMs, $forks forks, $LOST of 3 lost, exit 7"
		continue
	fi
	expect_eq "$name: lost" "$LOST" 0
	expect_eq "$name: drains (the children never drain)" "$(drains "$name")" 1
	# No zombie count here: the forking thread runs on while exit() does, so a child it
	# forks after lastcall's wait for children can still be unreaped when the process ends,
	# with or without lastcall (tests 05 and 06 count zombies of servers that stop forking).
	# A child forked an instant before exit_group() can still be on its way to its _exit(0)
	# when the helper counts what is left: left running is what is still there a second on.
	left=$TREE_ALIVE
	if [ "$left" != 0 ] && poll_until 1000 no_descendants "$SPAWN_PID"; then
		note "children forked as the process ended, gone within a second: $left;" \
			"$(grep -o 'left when the command ended: .*' "$T/$name.log" | paste -sd'|' -)"
		left=0
	fi
	expect_eq "$name: left running" "$left" 0
	sender_only "$name" "$PID"
	note "with lastcall: $during SIGTERMs during the drain and $SENT more until exit while the" \
		"program forked $forks times; 1 drain, 0 lost, exit 7, nothing left running"
done
pass "SIGTERM inside fork() and storms across a forking loop: one drain, no deadlock, nothing lost"

bugs_checked
