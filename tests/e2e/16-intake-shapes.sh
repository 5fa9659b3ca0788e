#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Intake must stop in every process that holds a listening socket, without a reset for what is
# queued and without a hang for what comes after: a pre-fork server whose workers share one
# listener (the signal sent to every process, as systemd does, or to the master, which forwards
# it), workers with their own SO_REUSEPORT listeners, and a fork-per-connection server whose
# children keep the listener open. After the signal, a probe every 50 ms must be refused.
. "$(dirname "$0")/../lib/lib.sh"

# probe NAME: 10 connection attempts, 50 ms apart; sets REFUSED and WORST (slowest, ms).
probe() {
	"$PYTHON" "$ROOT/tests/lib/load.py" --port "$PORT" --probe-every 50 --probe-count 10 \
		--timeout 3 --out "$T/$1.probes"
	REFUSED=$(grep -c ' refused$' "$T/$1.probes")
	WORST=$(awk '{d = $2 - $1; if (d > m) m = d} END {print m + 0}' "$T/$1.probes")
}

children() {
	ps -o pid= --ppid "$1" | tr -d ' '
}

# stopped NAME N: whether N processes of the test NAME have stopped intake (lastcall logs the
# drain's start once it has), so that the probes come after the stop.
stopped() {
	[ "$(drains "$1")" -ge "$2" ]
}

# prefork NAME PRELOAD WHO ARGS...: 5 requests (3 in service, 2 queued) then SIGTERM to WHO
# (all: every process; master: the master only).
prefork() {
	local name=$1 preload=$2 who=$3 targets
	shift 3
	local cmd=("$EX/prefork" --threads 3 "$@")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	server "$name" "${cmd[@]}"
	"${CLIENT[@]}" --port "$PORT" --count 5 --path /delay/1200 >"$T/$name.client" 2>&1 &
	CLIENT_PID=$!
	poll_until 5000 sh -c "[ \$(ss -Htn state established '( dport = :$PORT )' | wc -l) -ge 5 ]" ||
		fail "$name: requests not connected"
	targets=("$PID")
	[ "$who" = all ] && mapfile -t -O 1 targets < <(children "$PID")
	kill -TERM "${targets[@]}"
	# Three workers, each of which listens (with --reuseport) or accepts on the shared socket.
	[ "$preload" = 0 ] || poll_until 10000 stopped "$name" 3 || fail "$name: intake not stopped"
	probe "$name"
	wait_status "$name" 15000
	finish_requests "$name"
}

for args in "" "--reuseport"; do
	for who in all master; do
		label="prefork${args:+ $args}, SIGTERM to $who"
		prefork bare 0 "$who" $args
		[ "$LOST" -gt 0 ] || fail "$label, without lastcall: expected lost requests"
		note "$label, without lastcall: $LOST of 5 lost"
		prefork lc 1 "$who" $args
		[ "$LOST" -eq 0 ] || fail "$label: $LOST lost: $(cat "$T/lc.client")"
		expect_eq "$label: master's status" "$STATUS" "exit 0"
		expect_eq "$label: probes refused" "$REFUSED" 10
		note "$label, with lastcall: 0 of 5 lost; 10/10 probes refused, slowest $WORST ms"
	done
done
pass "pre-fork workers (shared listener and SO_REUSEPORT): nothing lost, later attempts refused"

# A fork-per-connection server: its children keep the listener while they serve. Without
# lastcall the parent dies and the children's copies keep the socket listening: new clients
# complete their handshake into a queue no one accepts. With lastcall the parent, the only
# process accepting, shuts the socket: they are refused.
for preload in 0 1; do
	cmd=("$EX/forking")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	server "forking-$preload" "${cmd[@]}"
	start_requests "forking-$preload" 2 --path /delay/1500
	kill -TERM "$PID"
	[ "$preload" = 0 ] || poll_until 10000 stopped "forking-$preload" 1 ||
		fail "forking-$preload: intake not stopped"
	probe "forking-$preload"
	finish_requests "forking-$preload"
	accepted=$(grep -c ' accepted$' "$T/forking-$preload.probes")
	if [ "$preload" = 0 ]; then
		[ "$accepted" -gt 0 ] || fail "forking without lastcall: expected probes to hang in a dead queue"
	else
		expect_eq "forking with lastcall: probes refused" "$REFUSED" 10
	fi
	note "forking, preload=$preload: $accepted of 10 probes handshaked into a queue no one serves, $REFUSED refused"
done
pass "a listener kept open by children is shut by the last process accepting on it"
