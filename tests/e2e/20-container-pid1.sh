#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A container's entry point is the init of a pid namespace, and that changes two things. The
# kernel drops a signal init leaves at SIG_DFL, so a server without a SIGTERM handler ignores
# `docker stop` and the pod's SIGTERM, and runs on until the runtime's SIGKILL. And when init
# ends, the kernel kills every other process in the namespace at once, mid-request. Here the
# server runs as pid 1 of a pid namespace of its own, as in a container (unshare(1), root).
. "$(dirname "$0")/../lib/lib.sh"

NS=(unshare --pid --fork --mount-proc)
"${NS[@]}" true 2>"$T/unshare.err" ||
	skip_test "pid 1 in a container: unshare --pid cannot run here: $(head -c 200 "$T/unshare.err")"

# inner: the server's pid as seen from here (unshare's only child), and a check it is pid 1.
inner() {
	poll_until 5000 has_descendants "$PID" || fail "no server under unshare"
	INNER=$(descendants "$PID" | head -n 1)
	expect_eq "pid in its namespace" "$(awk '/^NSpid:/ {print $3}' "/proc/$INNER/status")" 1
}

# No handler, without lastcall: the request finishes only because SIGTERM is dropped, and the
# server does not end: it waits for the SIGKILL (a pod's terminationGracePeriodSeconds).
server plain "${NS[@]}" "$EX/threaded"
inner
start_requests plain 1 --path /delay/1000
kill -TERM "$INNER"
finish_requests plain
expect_eq "pid 1 without lastcall: lost" "$LOST" 0
poll_until 1000 test -s "$T/plain.status" && fail "pid 1 ended on SIGTERM without a handler"
kill -KILL "$INNER"
wait_status plain 5000
note "without lastcall: pid 1 ignored SIGTERM, still running 1 s after it; ended only by SIGKILL"

# With lastcall: it drains, then ends by itself with the status of death by SIGTERM.
server pid1 "${NS[@]}" "${LASTCALL[@]}" "$EX/threaded"
inner
start_requests pid1 1 --path /delay/1000
t0=$(now_ms)
kill -TERM "$INNER"
wait_status pid1 10000
finish_requests pid1
expect_eq "pid 1 with lastcall: lost" "$LOST" 0
expect_eq "pid 1 with lastcall: status" "$STATUS" "exit 143"
grep -q "info: pid 1 with no handler for SIGTERM, which the kernel would drop: exiting with status 143" \
	"$T/pid1.log" || fail "no pid 1 line: $(cat "$T/pid1.log")"
note "with lastcall: 0 lost, exit 143 $((ENDED - t0)) ms after SIGTERM"
pass "pid 1 with no SIGTERM handler drains, then ends with status 143 instead of waiting for SIGKILL"

# A pre-fork server as pid 1: its master forwards SIGTERM and exits as soon as its workers
# die, and the kernel kills anything left. Without lastcall the workers die mid-request.
for preload in 0 1; do
	pre=()
	[ "$preload" = 1 ] && pre=("${LASTCALL[@]}")
	server "prefork$preload" "${NS[@]}" "${pre[@]}" "$EX/prefork"
	inner
	start_requests "prefork$preload" 4 --path /delay/1000
	kill -TERM "$INNER"
	wait_status "prefork$preload" 10000
	finish_requests "prefork$preload"
	note "pre-fork as pid 1, preload=$preload: $LOST of 4 lost, $STATUS"
	if [ "$preload" = 0 ]; then
		[ "$LOST" -gt 0 ] || fail "without lastcall nothing was lost: the test shows nothing"
	else
		expect_eq "pre-fork as pid 1 with lastcall: lost" "$LOST" 0
		expect_eq "pre-fork as pid 1 with lastcall: status" "$STATUS" "exit 0"
	fi
done
pass "a pre-fork server as pid 1 ends after its workers finish, losing nothing"
