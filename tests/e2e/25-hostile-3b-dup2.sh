#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A hostile environment, scenario 3b, the program's dup2() onto one of lastcall's fds.
# What these tests check and why, and the helpers they share: tests/lib/hostile.sh.
# shellcheck disable=SC2153 # PID: set by lib.sh's spawn
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/hostile.sh disable=SC1091
. "$ROOT/tests/lib/hostile.sh"

# pidfd_of PID: the number of a pidfd of PID's; fails if none.
pidfd_of() {
	local f
	for f in /proc/"$1"/fd/*; do
		[ "$(readlink "$f")" = "anon_inode:[pidfd]" ] && echo "${f##*/}" && return
	done
	return 1
}

# free_fd PID: the lowest fd number from 3 up that PID does not have open.
free_fd() {
	local n=3
	while [ -e "/proc/$1/fd/$n" ]; do
		n=$((n + 1))
	done
	echo "$n"
}

# 3b. The program takes the number of one of lastcall's fds with dup2(), as a daemon does when it
#    puts its log on a number it counts as its own: lastcall must move its fd out of the way and
#    go on as before. tests/servers/dup2fd.py forks a child that ends after 2.5 s, and on SIGUSR1
#    dup2()s /dev/null onto the number in a file: without lastcall a free one; under lastcall,
#    during the drain, the pidfd by which lastcall waits for the child. Either way the child's
#    end lets the process end, its fd N still /dev/null.
DUP=("$PYTHON" "$ROOT/tests/servers/dup2fd.py")
bugs=${#BUGS[@]}
for preload in 0 1; do
	name=dup2-$preload
	cmd=("${DUP[@]}" "$T/$name.port" "$T/$name.fd" 2500)
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	spawn "$name" "${cmd[@]}"
	poll_until 5000 test -s "$T/$name.port" || fail "$name did not listen: $(cat "$T/$name.log")"
	before=$(cpu_ms "$PID")
	if [ "$preload" = 1 ]; then
		kill -TERM "$PID"
		poll_until 5000 grep -q 'info: draining on' "$T/$name.log" || fail "$name: no drain"
		n=""
		poll_until 5000 eval "n=\$(pidfd_of $PID)" || fail "$name: no pidfd"
	else
		n=$(free_fd "$PID")
	fi
	echo "$n" >"$T/$name.fd"
	kill -USR1 "$PID"
	poll_until 5000 grep -q "^dup2 onto $n$" "$T/$name.log" || fail "$name: no dup2"
	[ "$preload" = 1 ] || kill -TERM "$PID"
	if ! poll_until 6000 test -s "$T/$name.status"; then
		used=$(($(cpu_ms "$PID") - before))
		lc=$(grep -l '^lastcall$' /proc/"$PID"/task/*/comm | head -n 1)
		read -r call _ <"${lc%comm}syscall"
		msg="dup2() onto lastcall's pidfd (fd $n) during the drain: still running 6 s later"
		msg+=" (the child ended 2.5 s after the start), no drain summary, $used ms of CPU"
		msg+=" meanwhile (lastcall's thread: $call)"
		BUGS+=("$name (pid $PID): $msg")
		note "with lastcall: ${BUGS[-1]#*: }"
		kill -KILL "$PID"
		wait_status "$name" 5000
		continue
	fi
	wait_status "$name" 5000
	used=$((CPU - before))
	expect_eq "$name: wait status" "$STATUS" "exit 0"
	expect_eq "$name: fd $n at the end" "$(grep "^fd $n: " "$T/$name.log")" "fd $n: /dev/null"
	[ "$used" -lt 300 ] || fail "$name used $used ms of CPU"
	note "preload=$preload: dup2 onto fd $n$([ "$preload" = 1 ] && echo ", lastcall's pidfd")," \
		"the process ends when the child does: exit 0, fd $n still /dev/null, $used ms CPU"
done
[ ${#BUGS[@]} = "$bugs" ] &&
	pass "the program's dup2() onto one of lastcall's fds: lastcall moves it and goes on"

bugs_checked
