#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A hostile environment, scenario 1, a setuid program run by another user.
# What these tests check and why, and the helpers they share: tests/lib/hostile.sh.
# shellcheck disable=SC2153 # PID: set by lib.sh's spawn
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/hostile.sh disable=SC1091
. "$ROOT/tests/lib/hostile.sh"

# notified NAME: every datagram that reached NAME's socket so far, each line's sender pid left
# out. A marker sent now is queued behind anything sent before, so once it is read, so is all
# that came earlier.
notified() {
	"$PYTHON" -c 'import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"MARKER=1", sys.argv[1])' "$T/$1.sock"
	poll_until 5000 grep -q 'MARKER=1' "$T/$1.notify" || fail "$1: the marker did not arrive"
	grep -v 'MARKER=1' "$T/$1.notify" | sed 's/^pid=[0-9]* //'
}

# 1. Secure execution. One setuid-root copy of atsecure, which loads lastcall with dlopen (the
#    loader takes no LD_PRELOAD path in a setuid program), run with one environment by root
#    (AT_SECURE 0: lastcall reads it) and by nobody (AT_SECURE 1: secure_getenv reads nothing).
#    LASTCALL_LOG=garbage warns, LASTCALL_TIMEOUT=7s shows in the drain's deadline, and
#    NOTIFY_SOCKET with LASTCALL_NOTIFY_READY=1 hears READY=1 and the drain, only if read.
[ "$(id -u)" = 0 ] || skip_test "1: not root (a setuid-root copy and a second user are needed)"
[ -z "${SANITIZE:-}" ] ||
	skip_test "1: under a sanitizer (its runtime cannot be preloaded into a setuid program)"
chmod 711 "$T" # nobody may run the copy in $T/suid, and read nothing else here
mkdir -m 755 "$T/suid"
cp "$TOOLS/atsecure" "$T/suid/atsecure"
chown root:root "$T/suid/atsecure"
chmod 4755 "$T/suid/atsecure"
for who in root nobody; do
	name=secure-$who
	cmd=("$T/suid/atsecure" "$LIB" LASTCALL_LOG)
	[ "$who" = nobody ] && cmd=("${NOBODY[@]}" "${cmd[@]}")
	receiver "$name" "$T/$name.sock"
	LASTCALL_LOG=garbage LASTCALL_TIMEOUT=7s LASTCALL_NOTIFY_READY=1 \
		NOTIFY_SOCKET=$T/$name.sock spawn "$name" "${cmd[@]}"
	poll_until 5000 grep -q '^listening on' "$T/$name.log" ||
		fail "$name did not listen: $(cat "$T/$name.log")"
	read -r _ ruid euid _ < <(grep '^Uid:' "/proc/$PID/status")
	kill -TERM "$PID"
	wait_status "$name" 5000
	expect_eq "$name: wait status" "$STATUS" "signal 15"
	read_summary "$T/$name.log" || fail "$name: no drain: $(cat "$T/$name.log")"
	secure=$(sed -n 's/^secure \([0-9]\) LASTCALL_LOG=garbage$/\1/p' "$T/$name.log")
	warning=$(grep -c 'warning: LASTCALL_LOG="garbage" invalid' "$T/$name.log")
	deadline=$(sed -n 's/.*info: draining on SIGTERM: .*, deadline \(.*\)/\1/p' "$T/$name.log")
	msgs=$(notified "$name")
	count=$(echo "$msgs" | grep -c .)
	msgs=$(echo "$msgs" | paste -sd' ' -)
	if [ "$who" = root ]; then
		expect_eq "$name: uids (real, effective)" "$ruid $euid" "0 0"
		expect_eq "$name: AT_SECURE" "$secure" 0
		expect_eq "$name: warnings" "$warning" 1
		expect_eq "$name: deadline" "$deadline" 7s
		case $msgs in
		"READY=1|STATUS=listening (lastcall) STOPPING=1|"*"STATUS=drained in"*) ;;
		*) fail "$name: notifications: $msgs" ;;
		esac
		note "root: AT_SECURE 0; lastcall warns of LASTCALL_LOG=\"garbage\", drains with" \
			"deadline 7s, notifies $count times: READY=1, STOPPING=1, ...; signal 15"
		continue
	fi
	expect_eq "$name: uids (real, effective)" "$ruid $euid" "65534 0"
	expect_eq "$name: AT_SECURE" "$secure" 1
	expect_eq "$name: warnings" "$warning" 0
	grep 'lastcall\[' "$T/$name.log" | grep -q 'LASTCALL_' &&
		fail "$name: lastcall names a variable: $(cat "$T/$name.log")"
	expect_eq "$name: deadline (the default)" "$deadline" 30s
	expect_eq "$name: notifications" "$msgs" ""
	note "nobody (real uid 65534, effective 0): AT_SECURE 1, LASTCALL_LOG=garbage in its" \
		"environment; lastcall says nothing of it, drains with the default deadline 30s," \
		"sends nothing to NOTIFY_SOCKET; signal 15"
done
pass "a setuid program run by another user reads no LASTCALL_* nor NOTIFY_SOCKET, and drains"

bugs_checked
