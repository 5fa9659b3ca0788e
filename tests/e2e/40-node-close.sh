#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Node.js closes its sockets behind close(): libuv calls syscall(SYS_close, fd). Eight replies
# streamed over 0.6 s (/stream/3/300, each on its own connection) are in flight at SIGTERM.
# Without lastcall Node ends at once and cuts them. With it they go out whole, and the drain
# learns of each close as it happens (summary: finished=8 unseen=0): before syscall() was
# hooked, its once-a-second look found all eight closed (unseen=8), and the drain ended about
# half a second after the last reply. The time from the last reply to Node's end is printed.
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"

NODE=${NODE:-$(command -v node || echo /usr/bin/node)}
[ -x "$NODE" ] || fail "node not found (apt-get install nodejs)"
[ "$LIBC" != musl ] || skip_test "Node.js is linked against glibc: a musl build cannot be loaded"
COUNT=8

# run NAME PRELOAD: Node, COUNT streamed replies in flight, SIGTERM to Node. Sets OK, LOST,
# STATUS, LAST_AT (when the last whole reply ended) and ENDED (when Node ended), in ms.
run() {
	local name=$1 cmd=("$NODE" "$ROOT/tests/servers/node_stream.js" "$T/$1.port")
	[ "$2" = 1 ] && cmd=("${COMMAND[@]}" --timeout 10s "${cmd[@]}")
	spawn "$name" "${cmd[@]}"
	poll_until 10000 test -s "$T/$name.port" || fail "$name did not listen: $(cat "$T/$name.log")"
	PORT=$(cat "$T/$name.port")
	start_requests "$name" "$COUNT" --path /stream/3/300 --ready-when first-byte --timing
	kill -TERM "$PID"
	wait_status "$name" 15000
	finish_requests "$name"
	LAST_AT=$(summary_field "$T/$name.client" last_at)
}

run without 0
CUT_WITHOUT=$LOST
[ "$CUT_WITHOUT" -gt 0 ] || fail "without lastcall: all $COUNT replies whole; nothing to show"
run with 1
expect_eq "with lastcall: whole replies" "$OK" "$COUNT"
read_summary "$T/with.log" "$PID" || fail "no drain summary: $(cat "$T/with.log")"
expect_eq "connections that finished, and found closed without close()" \
	"${SUMMARY[finished]} ${SUMMARY[unseen]}" "$COUNT 0"
pass "Node.js: $CUT_WITHOUT of $COUNT streamed replies cut without lastcall; with it all whole, each" \
	"close seen through syscall() ($STATUS, $((ENDED - LAST_AT)) ms after the last reply)"
