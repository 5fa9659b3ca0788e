# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# restart.sh: helpers for the restart tests (tests/e2e/32-35), sourced after lib.sh. A server
# under load is restarted 10 times, 0.5 s apart, then stopped: by hand without lastcall (SIGTERM,
# then a new process), with lastcall --restart-on HUP. The load (restart_load.py): new
# connections, kept-alive ones and 2 s streamed replies, side by side.

RESTARTS=${RESTARTS:-10}
LOADER=("$PYTHON" "$ROOT/tests/servers/restart_load.py")
# Kept-alive connections pause 1.5 s between requests, and an old generation closes them once
# quiet for 1 s after a reply (--idle); its busy ones it waits for: the streams, 2 s with 400 ms
# pauses, which --idle must exceed.
RESTART_OPTS=(--restart-on HUP --idle 1s --timeout 10s)

# start_load NAME PORT SECONDS: the load, in the background (LOAD_PID), lines to $T/NAME.load.
start_load() {
	"${LOADER[@]}" --port "$2" --duration "$3" --new 2 --keepalive 2 --stream 2 --gap 5 \
		--pause 1500 --stream-path /stream/5/400 --out "$T/$1.load" &
	LOAD_PID=$!
	poll_until 10000 sh -c "[ -s '$T/$1.load' ]" || fail "$1: no load"
}

# tally NAME: counts of the load's outcomes: OKS, CLOSED (kept-alive connections closed cleanly
# before a reply, which a client retries), BAD (refused, reset, cut, timed out, error), SENT.
tally() {
	SENT=$(wc -l <"$T/$1.load")
	OKS=$(awk '$4 == "ok"' "$T/$1.load" | wc -l)
	CLOSED=$(awk '$4 == "closed"' "$T/$1.load" | wc -l)
	BAD=$((SENT - OKS - CLOSED))
	BAD_KINDS=$(awk '$4 != "ok" && $4 != "closed" {c[$3 " " $4]++} END {for (k in c) printf "%s=%d ", k, c[k]}' "$T/$1.load")
}

# bare_restarts NAME PORT COMMAND...: the server without lastcall, restarted by hand as a
# service manager would without it: SIGTERM, wait for the end, start again.
bare_restarts() {
	local name=$1 port=$2 i
	shift 2
	spawn "$name-0" "$@"
	wait_listening "$port" 10000 || fail "$name: did not listen"
	start_load "$name" "$port" 3.5
	for ((i = 1; i <= 3; i++)); do
		sleep 0.5 # pacing the restarts, not waiting for anything
		kill -TERM "$PID" 2>/dev/null # it may have failed to start: the port was held
		wait_status "$name-$((i - 1))" 10000
		spawn "$name-$i" "$@"
		wait_listening "$port" 10000 || fail "$name: did not listen again"
	done
	wait "$LOAD_PID"
	kill -TERM "$PID" 2>/dev/null
	wait_status "$name-3" 10000
	tally "$name"
}

# generations NAME: the pids of the generations lastcall started, in order.
generations() {
	sed -n 's/.*generation [0-9]* (pid \([0-9]*\)) starting.*/\1/p' "$T/$1.log"
}

# lastcall_restarts NAME PORT COMMAND...: the server under lastcall --restart-on HUP, restarted
# RESTARTS times 0.5 s apart under load (each once the last one is done), then stopped. Sets
# MAIN (the main pid, checked unchanged), GENS (generation pids), READY_MS and GONE_MS (the
# medians of restart signal to new generation serving, and to old one gone), LEFT (processes of
# old generations found after their drains).
# shellcheck disable=SC2034 # READY_MS, GONE_MS: for the tests' tables
lastcall_restarts() {
	local name=$1 port=$2 i t0 first
	shift 2
	spawn "$name" "${COMMAND[@]}" "${RESTART_OPTS[@]}" "$@"
	MAIN=$PID
	wait_listening "$port" 10000 || fail "$name: did not listen: $(cat "$T/$name.log")"
	first=$(pgrep -P "$MAIN" | head -n 1)
	start_load "$name" "$port" $((RESTARTS / 2 + 3))
	sleep 1 # load before the first restart
	for ((i = 1; i <= RESTARTS; i++)); do
		t0=$(now_ms)
		kill -HUP "$MAIN"
		poll_until 20000 eval "[ \$(grep -c 'ready after' '$T/$name.log') -ge $i ]" ||
			fail "$name: restart $i not done: $(tail -n 5 "$T/$name.log")"
		[ "$(cut -d' ' -f1 "/proc/$MAIN/stat" 2>/dev/null)" = "$MAIN" ] ||
			fail "$name: the main pid $MAIN is gone"
		while [ $(($(now_ms) - t0)) -lt 500 ]; do sleep 0.05; done # pacing only
	done
	wait "$LOAD_PID"
	# The old generations drain (their last streams end within 2.5 s); nothing of them is
	# left once they have: the parent's only child is the current generation, and the tree
	# below it holds nothing else.
	poll_until 15000 eval "[ \$(grep -c 'drained and' '$T/$name.log') -ge $RESTARTS ]" ||
		fail "$name: old generations still draining: $(tail -n 5 "$T/$name.log")"
	LEFT=$(($(pgrep -P "$MAIN" | wc -l) - 1))
	kill -TERM "$MAIN"
	wait_status "$name" 20000
	mapfile -t GENS < <(echo "$first"; generations "$name")
	READY_MS=$(sed -n 's/.*ready after \([0-9]*\) ms.*/\1/p' "$T/$name.log" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
	GONE_MS=$(sed -n 's/.*drained and .*, \([0-9]*\) ms after the restart signal.*/\1/p' "$T/$name.log" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
	tally "$name"
}

# check_restarts NAME: what lastcall_restarts measured, asserted.
check_restarts() {
	expect_eq "$1: requests refused, reset or cut ($BAD_KINDS)" "$BAD" 0
	expect_eq "$1: distinct generations" "$(printf '%s\n' "${GENS[@]}" | sort -u | grep -c .)" \
		$((RESTARTS + 1))
	expect_eq "$1: processes of old generations left after their drains" "$LEFT" 0
	[ "$OKS" -gt 0 ] || fail "$1: no request succeeded"
}
