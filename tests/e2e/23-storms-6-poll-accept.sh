#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signal storms, scenario 6, the end of a drain for a poll-then-accept program.
# What no storm may change, and the helpers the storm tests share: tests/lib/storms.sh.
# shellcheck disable=SC2153 # PID: set by lib.sh's spawn
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/storms.sh disable=SC1091
. "$ROOT/tests/lib/storms.sh"

# 6. The end of a drain, for a program that waits for its listener with poll() and then calls a
#    blocking accept() (on Linux, one that poll() reported readable has a connection to return),
#    and whose handler only sets a flag. Here the handler runs on a thread of the program's own
#    (the others block the signal) and the main thread polls for a second at most, so without
#    lastcall it sees the flag within a second and exits. With lastcall, the wake-up token the
#    hand-back adds to the stand-in must not leave it blocked in an accept() that nothing ends.
#    (The storms above meet the same with the handler on any thread, when the thread it lands on
#    is not the one about to accept: handlerflip's listener is non-blocking to avoid it there.)
for preload in 0 1; do
	name=poll-accept-$preload
	cmd=("$FLIP" --blocking --signal-thread --poll 1000 --log "$T/$name.calls")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	server "$name" "${cmd[@]}"
	# One connection served: lastcall stops intake on listeners the program accepts on.
	"${CLIENT[@]}" --port "$PORT" >"$T/$name.client" 2>&1 || fail "$name: no reply"
	t0=$(now_ms)
	kill -TERM "$PID"
	if poll_until 5000 test -s "$T/$name.status"; then
		wait_status "$name" 1
		expect_eq "$name: wait status" "$STATUS" "exit 7"
		note "preload=$preload: SIGTERM, the handler ran on its thread," \
			"exit 7 $((ENDED - t0)) ms later"
		continue
	fi
	read -r call _ <"/proc/$PID/syscall"
	kill -TERM "$PID"
	poll_until 1000 test -s "$T/$name.status" && again="" || again=", nor a second SIGTERM"
	msg="still running 5 s after SIGTERM$again: the drain is over and the handler ran"
	msg+=" ($(calls "$name" '^a 15 ') calls), but the main thread never returned from accept()"
	BUGS+=("$name (pid $PID): $msg (system call $call: ppoll, in lastcall's parked accept)")
	note "preload=$preload: ${BUGS[-1]#*: }"
	kill -KILL "$PID"
	wait_status "$name" 5000
done

bugs_checked
