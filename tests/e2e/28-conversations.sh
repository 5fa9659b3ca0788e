#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Conversations: a line protocol where the client speaks, the server echoes, and both pause
# between exchanges. Between two exchanges such a connection has nothing unread or unsent and
# the server spoke last, which is also what an idle keep-alive connection looks like; only the
# length of the quiet tells them apart (LASTCALL_IDLE). 8 clients, each 20 exchanges 150 ms
# apart, then the client closes; SIGTERM once every conversation is 7 exchanges (about a
# second) in. Servers, all in tests/servers/pyconv.py, none handling SIGTERM:
#   threading  socketserver.ThreadingTCPServer with daemon threads
#   forking    socketserver.ForkingTCPServer, a child per connection
#   exec-cat   fork per connection, the child execs `cat` with the socket as stdin and stdout
# The forking ones are stopped three ways, as in 05-forking-servers.sh (main, all, container).
# Without lastcall conversations are cut, or the children are left running after the main
# process ends. With it, every exchange of every conversation completes, no connection is
# closed as idle, nothing is left running, and the main process ends as it would have.
. "$(dirname "$0")/../lib/lib.sh"

COUNT=8
EXCHANGES=20
GAP_MS=150
READY_AFTER=7
CONVERSE=("$PYTHON" "$ROOT/tests/lib/converse.py")
declare -A MAIN CLIENT_OF T_KILL BARE_STATUS

# launch NAME SERVER MODE PRELOAD: starts the server (records its pid in MAIN[NAME]).
launch() {
	local name=$1 server=$2 mode=$3 preload=$4 cmd
	cmd=("$PYTHON" "$ROOT/tests/servers/pyconv.py" "--$server" "$T/$name.port")
	[ "$preload" = 1 ] && cmd=("${COMMAND[@]}" "${cmd[@]}")
	SPAWN_MODE=$([ "$mode" = container ] && echo -k || echo -r) spawn "$name" "${cmd[@]}"
	MAIN[$name]=$PID
}

# converse NAME: once NAME listens, starts its conversations.
converse() {
	local name=$1
	poll_until 10000 test -s "$T/$name.port" || fail "$name did not listen: $(cat "$T/$name.log")"
	rm -f "$T/$name.ready"
	"${CONVERSE[@]}" --port "$(cat "$T/$name.port")" --count "$COUNT" --exchanges "$EXCHANGES" \
		--gap-ms "$GAP_MS" --ready "$T/$name.ready" --ready-after "$READY_AFTER" \
		>"$T/$name.client" 2>&1 &
	CLIENT_OF[$name]=$!
}

# kill_ready MODE NAME: if NAME's conversations are under way, SIGTERM as MODE says; returns 1
# if they are not yet.
kill_ready() {
	local mode=$1 name=$2 pid=${MAIN[$2]} targets
	[ -e "$T/$name.ready" ] || return 1
	targets=()
	[ "$mode" = all ] && mapfile -t targets < <(descendants "$pid")
	T_KILL[$name]=$(now_ms)
	kill -TERM "$pid" || fail "$name ended before its SIGTERM"
	# A child may have ended since it was listed.
	[ ${#targets[@]} -eq 0 ] || kill -TERM "${targets[@]}" 2>/dev/null
	return 0
}

# stop_all MODE:NAME...: SIGTERM to each as soon as its conversations are under way (not one
# after the other: a server waiting for its turn would be stopped late in its conversations).
# A poll, with a deadline.
stop_all() {
	local left=("$@") still item end=$(($(now_ms) + 20000))
	while [ ${#left[@]} -gt 0 ]; do
		still=()
		for item in "${left[@]}"; do
			kill_ready "${item%%:*}" "${item#*:}" || still+=("$item")
		done
		left=("${still[@]}")
		[ ${#left[@]} -eq 0 ] && break
		[ "$(now_ms)" -lt "$end" ] || fail "conversations not under way: ${left[*]}"
		sleep 0.02
	done
}

# collect NAME MODE PRELOAD: waits for the server and its conversations, checks them, prints a
# row of the table.
collect() {
	local name=$1 server=$2 mode=$3 preload=$4 ok exch end idle
	wait_status "$name" 30000
	wait "${CLIENT_OF[$name]}"
	ok=$(summary_field "$T/$name.client" ok)
	exch=$(summary_field "$T/$name.client" exchanges)
	end=$(summary_field "$T/$name.client" end_ms)
	[ -n "$ok" ] || fail "$name: no summary from the client: $(cat "$T/$name.client")"
	if [ "$preload" = 0 ]; then
		BARE_STATUS[$server]=$STATUS
		[ $((COUNT - ok)) -gt 0 ] || [ "$TREE_ALIVE" -gt 0 ] ||
			fail "$name: without lastcall, nothing cut and nothing left running"
		printf '   %-10s %-9s without: %d of %d cut, %3d/%d exchanges, %d left running (%s)\n' \
			"$server" "$mode" $((COUNT - ok)) "$COUNT" "$exch" $((COUNT * EXCHANGES)) \
			"$TREE_ALIVE" "$STATUS"
		return
	fi
	expect_eq "$name: conversations complete" "$ok" "$COUNT"
	expect_eq "$name: exchanges" "$exch" $((COUNT * EXCHANGES))
	expect_eq "$name: left running" "$TREE_ALIVE" 0
	# exec-cat reaps in a SIGCHLD handler, Python's (without SA_RESTART), which the interpreter
	# runs only once accept() returns: a parked accept() must end with EINTR for it, as the
	# kernel's does (before, 4 to 8 children were left unreaped when the process ended).
	expect_eq "$name: zombies" "$TREE_ZOMBIES" 0
	expect_eq "$name: status as without lastcall" "$STATUS" "${BARE_STATUS[$server]}"
	idle=$(idle_closed "$name")
	expect_eq "$name: connections closed as idle" "$idle" 0
	drain_summary "$name" "${MAIN[$name]}"
	[ "$ENDED" -ge "$end" ] || fail "$name: the server ended before the last conversation"
	printf '   %-10s %-9s with:    0 of %d cut, %3d/%d exchanges, 0 left running (%s); drain %d ms, last conversation ended %d ms after SIGTERM\n' \
		"$server" "$mode" "$COUNT" "$exch" $((COUNT * EXCHANGES)) "$STATUS" "$DRAIN_MS" \
		$((end - T_KILL[$name]))
}

# group SERVER MODES...: each mode without and with lastcall, side by side.
group() {
	local server=$1 mode preload stops
	shift
	for mode in "$@"; do
		for preload in 0 1; do
			launch "$server-$mode-$preload" "$server" "$mode" "$preload"
		done
	done
	for mode in "$@"; do
		for preload in 0 1; do converse "$server-$mode-$preload"; done
	done
	stops=()
	for mode in "$@"; do
		for preload in 0 1; do stops+=("$mode:$server-$mode-$preload"); done
	done
	stop_all "${stops[@]}"
	for mode in "$@"; do
		for preload in 0 1; do collect "$server-$mode-$preload" "$server" "$mode" "$preload"; done
	done
}

# SERVERS=...: only those (for a look at one).
runs() {
	[[ " ${SERVERS:-threading forking exec-cat} " = *" $1 "* ]]
}

note "$COUNT conversations of $EXCHANGES exchanges ${GAP_MS} ms apart; SIGTERM after $READY_AFTER"
if runs threading; then
	group threading main
	pass "ThreadingTCPServer (daemon threads): every conversation completes"
fi
if runs forking; then
	group forking main all container
	pass "ForkingTCPServer: every conversation completes, the main process ends last"
fi
if runs exec-cat; then
	group exec-cat main all container
	pass "fork and exec cat: every conversation completes, the main process ends last"
fi
