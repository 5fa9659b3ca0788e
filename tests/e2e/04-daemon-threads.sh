#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Failure mode 4: "daemon" threads let the process end without joining them, which kills the
# work they were doing. Unmodified Python stdlib servers do exactly this: http.server's
# ThreadingHTTPServer and a socketserver.ThreadingTCPServer with daemon_threads. With lastcall
# the process waits for the connections, not the threads, then ends as Python would have.
. "$(dirname "$0")/../lib/lib.sh"

command -v "$PYTHON" >/dev/null || fail "$PYTHON not found (apt-get install python3)"
WWW=$T/www
mkdir -p "$WWW"
# Bigger than the socket buffers (4 MB send + receive here), so the handler thread is still
# writing when the signal comes.
head -c 8000000 /dev/urandom >"$WWW/big.bin"

# 1. python3 -m http.server, a slow download in flight.
for preload in 0 1; do
	name=http-server-$preload
	cmd=("$PYTHON" -u -m http.server 0 --bind 127.0.0.1 --directory "$WWW")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	spawn "$name" "${cmd[@]}"
	poll_until 5000 grep -q "port [0-9]" "$T/$name.log" || fail "$name did not start"
	PORT=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$T/$name.log" | head -1)
	"${CLIENT[@]}" --port "$PORT" --path /big.bin --expect-file "$WWW/big.bin" --rcvbuf 8192 \
		--chunk 8192 --read-rate 8000000 --ready "$T/$name.ready" --ready-when first-byte \
		>"$T/$name.client" 2>&1 &
	CLIENT_PID=$!
	poll_until 10000 test -e "$T/$name.ready" || fail "$name: download did not start"
	kill -TERM "$PID"
	wait_status "$name" 20000
	finish_requests "$name"
	expect_eq "$name: wait status" "$STATUS" "signal 15"
	if [ "$preload" = 0 ]; then
		[ "$LOST" -eq 1 ] || fail "http.server without lastcall: the download survived"
		note "http.server without lastcall: $(grep '^request' "$T/$name.client")"
	else
		[ "$LOST" -eq 0 ] || fail "http.server with lastcall: $(cat "$T/$name.client")"
		note "http.server with lastcall: download complete, then killed by SIGTERM"
	fi
done
pass "python3 -m http.server: a download in flight completes"

# 2. socketserver.ThreadingTCPServer with daemon threads: SIGTERM, then SIGINT (Python's
#    KeyboardInterrupt path).
for sig in TERM INT; do
	for preload in 0 1; do
		name=socketserver-$sig-$preload
		cmd=("$PYTHON" "$ROOT/tests/servers/pyserver.py" "$T/$name.port")
		[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
		spawn "$name" "${cmd[@]}"
		poll_until 5000 test -s "$T/$name.port" || fail "$name did not start"
		PORT=$(cat "$T/$name.port")
		start_requests "$name" 3 --path /delay/1200
		kill "-$sig" "$PID"
		wait_status "$name" 10000
		finish_requests "$name"
		[ "$preload" = 0 ] && bare_status=$STATUS
		if [ "$preload" = 0 ]; then
			[ "$LOST" -gt 0 ] || fail "$name: expected lost requests without lastcall"
		else
			[ "$LOST" -eq 0 ] || fail "$name: $LOST lost: $(cat "$T/$name.client")"
			expect_eq "$name: ends as without lastcall" "$STATUS" "$bare_status"
		fi
		note "ThreadingTCPServer, SIG$sig, preload=$preload: $LOST of 3 lost, $STATUS"
	done
done
pass "socketserver.ThreadingTCPServer (daemon threads): requests complete on TERM and INT"
