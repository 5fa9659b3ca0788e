#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A close while the client's bytes are still unread sends a reset, and the reset throws away
# whatever of the reply was still queued to send. Here a client uploads slowly while the server
# answers early with a large reply and closes: the server's own close resets the connection
# even without any signal. During a drain, lastcall's close lingers (FIN, then it reads and
# discards what the client still sends), so the reply arrives whole.
. "$(dirname "$0")/../lib/lib.sh"

# 8 MB replies exceed the socket buffers, so the server is still writing at SIGTERM.
# upload NAME [READ_RATE]
upload() {
	"${CLIENT[@]}" --port "$PORT" --count 2 --path /bytes/8000000 --upload 10000000 \
		--upload-rate 100000 --rcvbuf 16384 --chunk 16384 --read-rate "${2:-8000000}" \
		--ready "$T/$1.ready" --ready-when first-byte >"$T/$1.client" 2>&1 &
	CLIENT_PID=$!
	poll_until 10000 test -e "$T/$1.ready" || fail "$1: replies did not start"
}

# No signal at all: the program's own close resets (the loss lastcall fixes during drains).
server nosignal "$EX/threaded"
upload nosignal
finish_requests nosignal
resets=$(summary_field "$T/nosignal.client" reset)
[ "$resets" -gt 0 ] || fail "expected the server's own close to reset the uploads"
note "no signal, no lastcall: $resets of 2 replies reset by the server's close"
kill -TERM "$PID"

for preload in 0 1; do
	name=upload-$preload
	cmd=("$EX/threaded")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	server "$name" "${cmd[@]}"
	upload "$name"
	kill -TERM "$PID"
	wait_status "$name" 15000
	finish_requests "$name"
	if [ "$preload" = 0 ]; then
		[ "$LOST" -gt 0 ] || fail "SIGTERM without lastcall: expected lost replies"
	else
		[ "$LOST" -eq 0 ] || fail "with lastcall: $(cat "$T/$name.client")"
	fi
	note "SIGTERM, preload=$preload: $LOST of 2 replies lost ($(summary_field "$T/$name.client" reset) reset)"
done
pass "a reply to a client still uploading arrives whole during a drain"

# The program's close comes once the rest of its reply fits the send buffer (megabytes here):
# a client reading at 2 MB/s takes longer than a second's linger to get it. The linger lasts
# while the reply is still being taken.
server slow "${LASTCALL[@]}" "$EX/threaded"
upload slow 2000000
kill -TERM "$PID"
wait_status slow 20000
finish_requests slow
[ "$LOST" -eq 0 ] || fail "slow reader: $(cat "$T/slow.client")"
note "slow reader (2 MB/s): $LOST of 2 replies lost, $(summary_field "$T/slow.client" max_ms) ms for the slowest reply"
pass "a reply still being taken by a slow reader outlasts a second's linger"

# At the deadline lastcall ends a connection itself: the client sees the end of the stream,
# not a reset.
server ending env LASTCALL_TIMEOUT=500ms "${LASTCALL[@]}" "$EX/threaded"
start_requests ending 2 --path /delay/5000
kill -TERM "$PID"
wait_status ending 10000
finish_requests ending
expect_eq "ended at the deadline: resets" "$(summary_field "$T/ending.client" reset)" 0
expect_eq "ended at the deadline: truncated" "$(summary_field "$T/ending.client" truncated)" 2
pass "connections ended at the deadline see a clean end of stream"
