#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# systemd: a server stopped under systemd says nothing of its drain, so the unit shows it as
# running until it dies, and TimeoutStopSec= runs out while requests are still finishing. Under
# lastcall the service's main process sends STOPPING=1, STATUS= lines and EXTEND_TIMEOUT_USEC=
# on its notification socket, and READY=1 when it first listens if asked. A real AF_UNIX
# datagram socket stands in for systemd's here, reading the sender's pid as systemd does.
. "$(dirname "$0")/../lib/lib.sh"

# messages NAME: how many datagrams arrived.
messages() {
	if [ -e "$T/$1.notify" ]; then wc -l <"$T/$1.notify"; else echo 0; fi
}

# Without lastcall: the server is stopped, and systemd hears nothing.
receiver plain "$T/plain.sock"
NOTIFY_SOCKET=$T/plain.sock server plain "$EX/threaded"
start_requests plain 1 --path /delay/1500
kill -TERM "$PID"
wait_status plain 5000
finish_requests plain
expect_eq "without lastcall: lost" "$LOST" 1
expect_eq "without lastcall: messages" "$(messages plain)" 0
note "without lastcall: 1 of 1 request lost, 0 notifications"

# With the command and --notify-ready: READY=1 at listen, then the drain's story.
receiver unit "$T/unit.sock"
NOTIFY_SOCKET=$T/unit.sock server unit "${COMMAND[@]}" --notify-ready --timeout 5s "$EX/threaded"
poll_until 5000 grep -q "READY=1" "$T/unit.notify" || fail "no READY=1: $(cat "$T/unit.notify")"
expect_eq "READY=1 before any request" "$(head -n 1 "$T/unit.notify")" \
	"pid=$PID READY=1|STATUS=listening (lastcall)"
start_requests unit 1 --path /delay/2200
kill -TERM "$PID"
wait_status unit 10000
finish_requests unit
expect_eq "with lastcall: lost" "$LOST" 0
expect_eq "with lastcall: wait status" "$STATUS" "signal 15"
poll_until 2000 grep -q "STATUS=drained in" "$T/unit.notify" ||
	fail "no final status: $(cat "$T/unit.notify")"
grep -v "^pid=$PID " "$T/unit.notify" && fail "a message from another pid than the server's"
start=$(grep -m1 STOPPING=1 "$T/unit.notify")
case $start in
*"|STATUS=draining on SIGTERM: 1 listener stopped, 1 connection in flight, deadline 5s|EXTEND_TIMEOUT_USEC="*) ;;
*) fail "drain start message: $start" ;;
esac
extend=${start##*EXTEND_TIMEOUT_USEC=}
[ "$extend" -ge 5000000 ] || fail "EXTEND_TIMEOUT_USEC=$extend is less than the 5 s deadline"
progress=$(grep -c "STATUS=draining: 1 connection in flight, 0 children, [0-9]*s left|EXTEND_TIMEOUT_USEC=" \
	"$T/unit.notify")
[ "$progress" -ge 1 ] || fail "no progress status: $(cat "$T/unit.notify")"
final=$(tail -n 1 "$T/unit.notify")
case $final in
*"STATUS=drained in "*" ms: 1 connection finished, 0 closed as idle, 0 closed at the deadline|EXTEND_TIMEOUT_USEC=5000000") ;;
*) fail "final message: $final" ;;
esac
note "with lastcall: 0 lost; $(messages unit) notifications from pid $PID: READY=1, STOPPING=1 (EXTEND_TIMEOUT_USEC=$extend), $progress progress, the summary"
pass "systemd hears READY=1, STOPPING=1, the drain's progress and its summary, from the main pid only"

# Straight LD_PRELOAD, an abstract socket, a pre-fork server: only the main process speaks (its
# workers inherit NOTIFY_SOCKET and lastcall, and drain too), and no READY=1 unless asked. Its
# master forwards SIGTERM itself: lastcall says it holds it as a master, and its drain ends when
# its workers' do.
receiver abstract "@lastcall-e2e-$$"
NOTIFY_SOCKET=@lastcall-e2e-$$ server abstract "${LASTCALL[@]}" "$EX/prefork"
start_requests abstract 2 --path /delay/1500
kids=$(descendants "$PID" | wc -l)
[ "$kids" -ge 2 ] || fail "pre-fork server: $kids workers"
kill -TERM "$PID"
wait_status abstract 10000
finish_requests abstract
expect_eq "pre-fork: lost" "$LOST" 0
poll_until 2000 grep -q "STATUS=drained in" "$T/abstract.notify" ||
	fail "abstract socket: no final status: $(cat "$T/abstract.notify")"
grep -v "^pid=$PID " "$T/abstract.notify" && fail "a child of the server notified"
grep -q "READY=1" "$T/abstract.notify" && fail "READY=1 without LASTCALL_NOTIFY_READY"
grep -q "^pid=$PID STOPPING=1|STATUS=draining on SIGTERM: .*; a master: its workers drain first" "$T/abstract.notify" ||
	fail "abstract socket: no drain start: $(cat "$T/abstract.notify")"
note "abstract socket, pre-fork server with $kids workers: $(messages abstract) notifications, all from pid $PID"
pass "an abstract NOTIFY_SOCKET works, and a pre-fork server's workers stay silent"

# A NOTIFY_SOCKET lastcall cannot use (relative, vsock:) is ignored: the server runs as usual.
NOTIFY_SOCKET=vsock:2:1234 server odd "${LASTCALL[@]}" "$EX/epoll"
start_requests odd 1 --path /delay/300
kill -TERM "$PID"
wait_status odd 5000
finish_requests odd
expect_eq "unusable NOTIFY_SOCKET: lost" "$LOST" 0
pass "an unusable NOTIFY_SOCKET is ignored"
