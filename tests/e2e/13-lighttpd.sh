#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lighttpd from Debian, unmodified: on SIGTERM it shuts down at once, cutting downloads in
# flight (SIGINT is its graceful stop), and exits 1 because it abandoned connections; stopped
# with nothing in flight it exits 0. With lastcall, SIGTERM finishes the downloads first, then
# lighttpd's own SIGTERM handler runs, finds nothing in flight, and exits as it does when idle.
. "$(dirname "$0")/../lib/lib.sh"

[ -x "$LIGHTTPD" ] || fail "lighttpd not found (apt-get install lighttpd)"
mkdir -p "$T/www"
head -c 8000000 /dev/urandom >"$T/www/big.bin"

# start_lighttpd NAME PRELOAD: sets PID and PORT.
start_lighttpd() {
	local name=$1 cmd
	lighttpd_conf "$name" "$T/www" 'mimetype.assign = (".bin" => "application/octet-stream")'
	cmd=("$LIGHTTPD" -D -f "$T/$name.conf")
	[ "$2" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	spawn "$name" "${cmd[@]}"
	lighttpd_started "$name"
}

# lighttpd's own status for a stop with nothing in flight.
start_lighttpd idle 0
kill -TERM "$PID"
wait_status idle 5000
idle=$STATUS

for preload in 0 1; do
	name=lighttpd-$preload
	start_lighttpd "$name" "$preload"
	"${CLIENT[@]}" --port "$PORT" --count 2 --path /big.bin --expect-file "$T/www/big.bin" \
		--rcvbuf 8192 --chunk 8192 --read-rate 8000000 --ready "$T/$name.ready" \
		--ready-when first-byte >"$T/$name.client" 2>&1 &
	CLIENT_PID=$!
	poll_until 10000 test -e "$T/$name.ready" || fail "$name: downloads did not start"
	t0=$(now_ms)
	kill -TERM "$PID"
	wait_status "$name" 20000
	finish_requests "$name"
	if [ "$preload" = 0 ]; then
		[ "$LOST" -gt 0 ] || fail "lighttpd without lastcall: the downloads survived"
	else
		[ "$LOST" -eq 0 ] || fail "lighttpd with lastcall: $(cat "$T/$name.client")"
		expect_eq "lighttpd with lastcall: ends as an idle lighttpd does" "$STATUS" "$idle"
		grep -q "server stopped by UID = $(id -u) PID = $BASHPID" "$T/$name.error" ||
			fail "lighttpd's handler did not see the sender: $(cat "$T/$name.error")"
	fi
	note "lighttpd, preload=$preload: $LOST of 2 downloads lost, $STATUS $((ENDED - t0)) ms after SIGTERM"
done
pass "lighttpd: downloads in flight complete on SIGTERM; its handler sees the sender; idle status ($idle)"
