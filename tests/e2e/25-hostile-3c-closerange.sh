#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A hostile environment, scenario 3c, the program's close_range() over lastcall's fds.
# What these tests check and why, and the helpers they share: tests/lib/hostile.sh.
# shellcheck disable=SC2153 # PID: set by lib.sh's spawn
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/hostile.sh disable=SC1091
. "$ROOT/tests/lib/hostile.sh"

# 3c. The program closes every fd above its listener (os.closerange: glibc's close_range()),
#    while it serves: lastcall's own fds (an fd number the run without lastcall does not have)
#    must survive, with the default LASTCALL_MAX_FDS and with its smallest value, 64; then
#    SIGTERM drains as usual.
bugs=${#BUGS[@]}
for max in none 1048576 64; do
	name=closerange-$max
	cmd=("$PYTHON" "$ROOT/tests/servers/closerange.py" "$T/$name.port")
	[ "$max" = none ] || cmd=(env LASTCALL_MAX_FDS="$max" "${LASTCALL[@]}" "${cmd[@]}")
	spawn "$name" "${cmd[@]}"
	poll_until 5000 test -s "$T/$name.port" || fail "$name did not listen: $(cat "$T/$name.log")"
	fds "$name.before" "$PID"
	kill -USR1 "$PID"
	poll_until 5000 grep -q '^closed$' "$T/$name.log" || fail "$name: nothing closed"
	fds "$name.after" "$PID"
	if [ "$max" = none ]; then
		kill -TERM "$PID"
		wait_status "$name" 5000
		continue
	fi
	ours=$(awk 'NR == FNR {seen[$1] = 1; next} !seen[$1] {print $1}' \
		"$T/closerange-none.before.fds" "$T/$name.before.fds" | paste -sd' ' -)
	kept=$(awk 'NR == FNR {seen[$1] = 1; next} seen[$1] {print $1}' \
		"$T/$name.after.fds" <(echo "$ours" | tr ' ' '\n') | paste -sd' ' -)
	kill -TERM "$PID"
	wait_status "$name" 5000
	expect_eq "$name: wait status" "$STATUS" "signal 15"
	if [ "$kept" != "$ours" ]; then
		msg="the program's close_range() closed lastcall's own fds (of $ours, '$kept' left"
		msg+=" open: its wake pipe and log copy) after \"$(grep -m1 -o 'warning: .*' "$T/$name.log")\""
		BUGS+=("$name (pid $PID): $msg")
		note "LASTCALL_MAX_FDS=$max: ${BUGS[-1]#*: }"
		continue
	fi
	read_summary "$T/$name.log" || fail "$name: no drain: $(cat "$T/$name.log")"
	note "LASTCALL_MAX_FDS=$max: lastcall's fds ($ours) still open after the program's" \
		"close_range(); SIGTERM drained, signal 15"
done
[ ${#BUGS[@]} = "$bugs" ] &&
	pass "the program's close_range() leaves lastcall's own fds open"

bugs_checked
