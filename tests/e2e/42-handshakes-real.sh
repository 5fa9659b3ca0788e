#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Connections still in their handshake when the stop comes, on a real server: Debian's lighttpd
# with server.defer-accept, so that the kernel keeps a connection out of the accept queue until
# its request comes (TCP_DEFER_ACCEPT). Five clients connect, SIGTERM goes to lighttpd, and the
# clients send their requests 300 ms later. Without lastcall lighttpd closes its listener at
# once and every one of them is reset. With it, intake stops only once the handshakes under
# way have ended (the listener's reference count in /proc/net/tcp, bench figure 3), and each
# request is served. The client sends its requests one after another, each once the reply
# before it has come: each connection must reach lighttpd as soon as lastcall keeps it, not
# once the settling ends (which failed about one run in two: whether the other four were kept
# then raced the kernel's first SYN-ACK retransmission, 1 s after the connect, that queues a
# deferred connection without its request).
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"

[ -x "$LIGHTTPD" ] || fail "lighttpd not found (apt-get install lighttpd)"
glibc_only "lighttpd" lighttpd || exit 77
N=5
mkdir -p "$T/www"
echo "hello" >"$T/www/index.html"

# run NAME PRELOAD: lighttpd, N connections in their handshake, SIGTERM, then their requests.
# Sets OK (whole replies) and STATUS.
run() {
	local name=$1 cmd
	lighttpd_conf "$name" "$T/www" 'server.defer-accept = 10' 'index-file.names = ("index.html")'
	cmd=("$LIGHTTPD" -D -f "$T/$name.conf")
	[ "$2" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	spawn "$name" "${cmd[@]}"
	lighttpd_started "$name"
	rm -f "$T/$name.ready" "$T/$name.go"
	# The requests come 300 ms after the stop, each once the reply before it has ended.
	"${CLIENT[@]}" --port "$PORT" --count "$N" --ready "$T/$name.ready" --ready-when connected \
		--send-after "$T/$name.go" --send-delay 0.3 --one-by-one --timeout 10 \
		>"$T/$name.client" 2>&1 &
	CLIENT_PID=$!
	PIDS+=("$CLIENT_PID")
	poll_until 5000 test -e "$T/$name.ready" || fail "$name: the clients did not connect"
	# Their handshakes are not over for lighttpd: nothing in its accept queue.
	expect_eq "$name: connections in lighttpd's accept queue before the stop" \
		"$(ss -Hltn "sport = :$PORT" | awk '{print $2}')" 0
	kill -TERM "$PID"
	touch "$T/$name.go"
	wait_status "$name" 15000
	wait "$CLIENT_PID" || true
	OK=$(summary_field "$T/$name.client" ok)
}

run without 0
[ "${OK:-0}" -lt "$N" ] || fail "without lastcall: expected requests lost, got $OK of $N whole"
note "lighttpd, $N connections in their handshake at SIGTERM, without lastcall: $OK of $N served ($STATUS)"
run with 1
expect_eq "with lastcall: replies whole" "$OK" "$N"
note "lighttpd, $N connections in their handshake at SIGTERM, with lastcall: $OK of $N served ($STATUS)"
pass "connections still in their handshake at the stop are served by a real server"
