#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A CGI script that ignores SIGTERM and keeps its output open after its reply ("trap '' TERM",
# the reply, then "exec sleep 60"), under Debian's lighttpd, the reply streamed (3 lines 0.3 s
# apart) or sent at once, and the server stopped three ways (main, all, container; see
# 05-forking-servers.sh). Without lastcall lighttpd ends at once: a streamed reply is cut, and
# the script runs on after it (main, all). With lastcall the reply goes out whole, the script
# gets SIGTERM at the 1 s deadline and SIGKILL LASTCALL_KILL_AFTER (2 s) later, and lighttpd
# ends with nothing of its tree running. (A KILL_AFTER longer than the deadline's 1 s of
# lingering, as the default 5 s is: the library before this test never sent that SIGKILL, and
# lighttpd ran on until its supervisor's.)
. "$(dirname "$0")/../lib/lib.sh"

[ -x "$LIGHTTPD" ] || fail "lighttpd not found (apt-get install lighttpd)"
[ "$LIBC" != musl ] ||
	skip_test "Debian's lighttpd is linked against glibc: a musl build cannot be loaded into it"
WWW=$T/www
mkdir -p "$WWW"
cat >"$WWW/stream.sh" <<'EOF'
#!/bin/sh
trap '' TERM
printf 'Content-Type: text/plain\r\n\r\n'
for i in 1 2 3; do echo "line $i"; sleep 0.3; done
exec sleep 60
EOF
cat >"$WWW/once.sh" <<'EOF'
#!/bin/sh
trap '' TERM
printf 'Content-Type: text/plain\r\n\r\nline 1\nline 2\nline 3\n'
exec sleep 60
EOF
chmod 755 "$WWW/stream.sh" "$WWW/once.sh"

# get PATH OUT READY: one HTTP/1.0 GET on $PORT; the reply's body lines go to OUT as they come,
# READY is written at its first byte. Runs in the background; sets GET_PID.
get() {
	"$PYTHON" - "$PORT" "$1" "$2" "$3" <<'EOF' &
import socket, sys
port, path, out, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(b"GET " + path.encode() + b" HTTP/1.0\r\n\r\n")
data, first = b"", True
try:
    while chunk := s.recv(4096):
        data += chunk
        if first:
            open(ready, "w").close()
            first = False
        with open(out, "w") as f:
            f.write(data.partition(b"\r\n\r\n")[2].decode())
except OSError:
    pass
EOF
	GET_PID=$!
	PIDS+=("$GET_PID")
}

# run SHAPE MODE PRELOAD: lighttpd, one request for SHAPE.sh, the stop. Sets LINES (body lines
# the client got), STATUS, TREE_ALIVE, and, with lastcall, the drain's summary.
run() {
	local shape=$1 mode=$2 preload=$3 name=$1-$2-$3 cmd targets kids
	lighttpd_conf "$name" "$WWW" 'server.modules += ("mod_cgi")' \
		'cgi.assign = (".sh" => "/bin/sh")' 'server.stream-response-body = 2'
	cmd=("$LIGHTTPD" -D -f "$T/$name.conf")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" LASTCALL_TIMEOUT=1s LASTCALL_KILL_AFTER=2s "${cmd[@]}")
	SPAWN_MODE=$([ "$mode" = container ] && echo -k || echo -r) spawn "$name" "${cmd[@]}"
	lighttpd_started "$name"
	get "/$shape.sh" "$T/$name.body" "$T/$name.ready"
	poll_until 10000 test -e "$T/$name.ready" || fail "$name: no reply started"
	poll_until 5000 has_descendants "$PID" || fail "$name: no CGI script"
	mapfile -t kids < <(descendants "$PID")
	targets=("$PID")
	[ "$mode" = all ] && targets+=("${kids[@]}")
	T0=$(now_ms)
	kill -TERM "${targets[@]}" 2>/dev/null
	wait_status "$name" 15000
	# What is left of the script (without lastcall) sleeps for a minute: this test's to end.
	kill -KILL "${kids[@]}" 2>/dev/null
	poll_until 20000 eval "! kill -0 $GET_PID 2>/dev/null" || fail "$name: the client still waits"
	poll_until 20000 eval "! kill -0 $SPAWN_PID 2>/dev/null" || fail "$name: scripts still running"
	LINES=$(grep -c '^line ' "$T/$name.body" 2>/dev/null)
}

printf '   %-7s %-9s %-36s %s\n' reply stop without with
for shape in stream once; do
	for mode in main all container; do
		run "$shape" "$mode" 0
		without="$LINES of 3 lines, $TREE_ALIVE left running"
		[ "$LINES" -lt 3 ] || [ "$TREE_ALIVE" -gt 0 ] ||
			fail "$shape, $mode, without lastcall: nothing to show"
		run "$shape" "$mode" 1
		expect_eq "$shape, $mode: lines received" "$LINES" 3
		expect_eq "$shape, $mode: left running" "$TREE_ALIVE" 0
		read_summary "$T/$shape-$mode-1.log" "$PID" ||
			fail "$shape, $mode: no drain summary: $(cat "$T/$shape-$mode-1.log")"
		expect_eq "$shape, $mode: children sent SIGTERM, killed" \
			"${SUMMARY[termed]} ${SUMMARY[killed]}" "1 1"
		printf '   %-7s %-9s %-36s %s\n' "$shape" "$mode" "$without" \
			"3 of 3 lines, 0 left, ended $((ENDED - T0)) ms after SIGTERM ($STATUS)"
	done
done
pass "a CGI script that ignores SIGTERM: its reply delivered, SIGKILL after" \
	"LASTCALL_KILL_AFTER, lighttpd ends with nothing left"
