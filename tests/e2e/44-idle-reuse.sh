#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What lastcall does to an idle connection is done to that connection, not to the fd that takes
# its number next. The drain looks at a connection (TCP_INFO) and, if it is idle, shuts it for
# reading, both by fd number; if the program closed it in between and made a new fd, the new
# one got the number and was shut instead. tests/servers/pyserver.py --iterative serves one
# connection at a time; libfault.so (FAULT=tcpinfo) makes each of lastcall's looks take 400 ms,
# to hold that window open every time:
#   A: a keep-alive connection, answered, quiet for longer than LASTCALL_IDLE=100ms: the one
#      being served at SIGTERM;
#   B: queued behind it, its request sent: /upstream/PORT/700, which Python answers by taking a
#      reply from an upstream server (a second pyserver, without lastcall) over a new connection;
#   SIGTERM, and lastcall's look at A begins; 200 ms later A's client closes, Python closes A,
#      accepts B and connects to the upstream: the new socket gets A's fd number.
# Without lastcall Python ends at SIGTERM and B is lost. With the library before this test,
# lastcall shut the upstream socket for reading as its look at A ended: Python read end-of-file
# there, and B got "upstream cut". Now the program's close of A waits for the look to end.
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"

[ -e "$TOOLS/libfault.so" ] || fail "$TOOLS/libfault.so not built"
FAULTED=(env "LD_PRELOAD=${SAN_RUNTIME:+$SAN_RUNTIME:}$LIB:$TOOLS/libfault.so" FAULT=tcpinfo)

spawn upstream "$PYTHON" "$ROOT/tests/servers/pyserver.py" "$T/upstream.port"
poll_until 10000 test -s "$T/upstream.port" || fail "upstream did not listen"
UPSTREAM=$(cat "$T/upstream.port")

printf 'delayed 700\n' >"$T/b.expected"

# run NAME PRELOAD: the scenario above; sets B (B's result as client.py prints it).
run() {
	local name=$1 cmd=("$PYTHON" "$ROOT/tests/servers/pyserver.py" --iterative "$T/$1.port") a
	[ "$2" = 1 ] && cmd=("${FAULTED[@]}" LASTCALL_IDLE=100ms LASTCALL_LOG=debug "${cmd[@]}")
	spawn "$name" "${cmd[@]}"
	poll_until 10000 test -s "$T/$name.port" || fail "$name did not listen: $(cat "$T/$name.log")"
	PORT=$(cat "$T/$name.port")
	# A: answered, then quiet for 300 ms once B waits behind it; closed 200 ms after SIGTERM.
	"$PYTHON" - "$PORT" "$T/$name" >"$T/$name.a" 2>&1 <<'PY' &
import os, socket, sys, time
port, base = int(sys.argv[1]), sys.argv[2]
def wait_for(path):
    deadline = time.monotonic() + 20
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.005)
a = socket.create_connection(("127.0.0.1", port))
a.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
got = b""
while not got.endswith(b"hello\n"):
    got += a.recv(4096)
open(base + ".a.replied", "w").close()
wait_for(base + ".b.ready")
time.sleep(0.3)  # A quiet for longer than LASTCALL_IDLE
open(base + ".a.ready", "w").close()
wait_for(base + ".go")
time.sleep(0.2)  # within lastcall's look at A
a.close()
PY
	a=$!
	PIDS+=("$a")
	poll_until 10000 test -e "$T/$name.a.replied" || fail "$name: A got no reply: $(cat "$T/$name.a")"
	# B: queued behind A, its request sent.
	"${CLIENT[@]}" --port "$PORT" --path "/upstream/$UPSTREAM/700" --expect-file "$T/b.expected" \
		--timeout 10 --ready "$T/$name.b.ready" --ready-when sent >"$T/$name.b" 2>&1 &
	B_CLIENT=$!
	PIDS+=("$B_CLIENT")
	poll_until 10000 test -e "$T/$name.a.ready" || fail "$name: the clients did not get ready"
	kill -TERM "$PID"
	touch "$T/$name.go"
	wait_status "$name" 20000
	wait "$a" "$B_CLIENT" || true
	B=$(sed -n 's/^request 0: //p' "$T/$name.b")
}

run without 0
[ "${B%% *}" != ok ] || fail "without lastcall: B was served; nothing to show"
note "without lastcall: B: ${B:-nothing} ($STATUS)"
run with 1
grep -q '^libfault\[.*TCP_INFO' "$T/with.log" || fail "with lastcall: no slow look: $(cat "$T/with.log")"
grep -q 'closed as idle' "$T/with.log" || fail "with lastcall: A was not closed as idle: $(cat "$T/with.log")"
expect_eq "with lastcall: B's reply" "${B%% *}" ok
note "with lastcall, each look 400 ms: B: $B ($STATUS)"
pass "an fd that takes an idle connection's number is not shut in its place"
