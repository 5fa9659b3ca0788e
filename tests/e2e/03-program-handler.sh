#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Failure mode 3: a program's own SIGTERM handler runs at once, in signal context, on whatever
# thread was interrupted, and ends the process under its in-flight requests. lastcall's handler
# only wakes its cleanup thread; the program's handler runs after the drain, in signal context,
# with the original siginfo, and the program ends exactly as it would have.
. "$(dirname "$0")/../lib/lib.sh"

SIGSERVER=$TOOLS/sigserver

# term NAME COMMAND...: three 1200 ms requests in flight, then SIGTERM from this shell.
term() {
	local name=$1
	shift
	server "$name" "$@"
	start_requests "$name" 3 --path /delay/1200
	kill -TERM "$PID"
	wait_status "$name" 10000
	finish_requests "$name"
}

# lost_as_expected WHAT PRELOAD: without lastcall LOST > 0 (else the scenario shows nothing),
# with it LOST = 0.
lost_as_expected() {
	if [ "$2" = 0 ]; then
		[ "$LOST" -gt 0 ] || fail "$1 without lastcall: expected lost requests"
	else
		[ "$LOST" -eq 0 ] || fail "$1 with lastcall: $LOST lost"
	fi
}

# 1. A handler that writes a marker, then re-raises with SIG_DFL.
for preload in 0 1; do
	cmd=("$SIGSERVER" --on-term "marker:$T/marker-$preload")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	term "marker-$preload" "${cmd[@]}"
	expect_eq "marker (preload=$preload): wait status" "$STATUS" "signal 15"
	expect_eq "marker (preload=$preload): handler saw the sender" \
		"$(cat "$T/marker-$preload")" "term from $BASHPID"
	lost_as_expected handler "$preload"
	note "own handler, preload=$preload: $LOST of 3 lost, handler ran, siginfo kept"
done
pass "the program's handler runs after the drain, with the original si_pid"

# 2. A handler that sets a flag; the accept loop sees EINTR and calls exit(3).
for preload in 0 1; do
	cmd=("$SIGSERVER" --on-term exit:3)
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	term "flag-$preload" "${cmd[@]}"
	expect_eq "flag handler (preload=$preload): exit status" "$STATUS" "exit 3"
	lost_as_expected "flag handler" "$preload"
	note "flag handler + exit(3), preload=$preload: $LOST of 3 lost, status 3"
done
pass "a handler's EINTR still reaches the blocked accept(); exit(3) keeps its status"

# 2b. The same, as an event loop that waits in poll() and takes 80 ms between its look at the
# flag and its next poll() (--window). poll() is never restarted: lastcall's first delivery
# interrupts it with the flag unset. A 50 ms reply is in flight, so the drain ends inside that
# window; a signal handed back there would set the flag after the look, and poll() would
# block for good. lastcall waits until the thread sleeps in its call again.
for preload in 0 1; do
	cmd=("$SIGSERVER" --on-term exit:3 --window 80)
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	server "window-$preload" "${cmd[@]}"
	start_requests "window-$preload" 1 --path /delay/50
	T0=$(now_ms)
	kill -TERM "$PID"
	poll_until 5000 test -s "$T/window-$preload.status" ||
		fail "window (preload=$preload): still running 5 s after SIGTERM: $(tree_state "$PID")"
	wait_status "window-$preload" 1000
	finish_requests "window-$preload"
	expect_eq "window (preload=$preload): exit status" "$STATUS" "exit 3"
	lost_as_expected window "$preload"
	note "80 ms between the look at the flag and poll(), preload=$preload: $LOST of 1 lost, ended $((ENDED - T0)) ms after SIGTERM"
done
pass "a signal handed back reaches the program in its blocking call, not between its look and the call"

# 3. SIGTERM ignored: nothing changes, no drain.
for preload in 0 1; do
	cmd=("$SIGSERVER" --on-term ignore)
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	server "ignore-$preload" "${cmd[@]}"
	kill -TERM "$PID"
	"${CLIENT[@]}" --port "$PORT" --path /delay/100 >"$T/ignore-$preload.client" 2>&1 ||
		fail "ignoring server (preload=$preload) stopped serving"
	[ ! -e "$T/ignore-$preload.status" ] || fail "ignoring server ended: $(cat "$T/ignore-$preload.status")"
	! grep -q draining "$T/ignore-$preload.log" || fail "a drain started on an ignored SIGTERM"
	kill -KILL "$PID"
	wait_status "ignore-$preload" 5000
done
pass "SIG_IGN is respected: no drain, the server keeps serving"

# 4. signal() and sigaction() report the program's previous handler, before and after lastcall
#    installs its own (when the program listens).
for preload in 0 1; do
	cmd=("$SIGSERVER" --check-returns --exit-after 0:0)
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	spawn "returns-$preload" "${cmd[@]}" --port 0
	wait_status "returns-$preload" 5000
	expect_eq "handler returns (preload=$preload)" "$STATUS" "exit 0"
	grep -q "returns ok" "$T/returns-$preload.log" || fail "$(cat "$T/returns-$preload.log")"
done
pass "signal() and sigaction() return the program's previous handler"
