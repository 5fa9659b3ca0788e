#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo `make demo` runs: an unmodified server with a slow request in flight gets SIGTERM,
# first on its own (the request is cut), then under lastcall (the request completes, then the
# server dies by SIGTERM as before). The second run uses the lastcall command, as a systemd
# unit's ExecStart= line would. Needs only bash and the build.
set -u
cd "$(dirname "$0")/.." || exit 1
SERVER=build/examples/threaded
DELAY=${DELAY:-3000}
T=$(mktemp -d "${TMPDIR:-/tmp}/lastcall-demo.XXXXXX")
trap 'kill -KILL $SERVER_PID 2>/dev/null; rm -rf "$T"' EXIT
T0=${EPOCHREALTIME/./}

say() {
	local us=$((${EPOCHREALTIME/./} - T0))
	printf '[%d.%03d] %s\n' $((us / 1000000)) $((us / 1000 % 1000)) "$*"
}

# wait_for FILE: until FILE exists and is not empty, for at most 5 s.
wait_for() {
	local i
	for ((i = 0; i < 500; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.01
	done
	echo "demo: $1 did not appear within 5 s" >&2
	exit 1
}

# request PORT: one GET /delay/$DELAY over bash's /dev/tcp; prints what came back.
request() {
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return
	printf 'GET /delay/%s HTTP/1.0\r\n\r\n' "$DELAY" >&3
	echo sent >"$T/sent"
	cat <&3 2>&1
	exec 3<&-
}

# run [COMMAND...]: the server, run by COMMAND if given, a slow request, SIGTERM.
run() {
	local status
	rm -f "$T"/port "$T"/sent "$T"/reply
	"$@" "$SERVER" --port 0 --port-file "$T/port" >/dev/null &
	SERVER_PID=$!
	wait_for "$T/port"
	say "server pid $SERVER_PID listening on 127.0.0.1:$(cat "$T/port")${1:+ (started as: $* $SERVER)}"
	request "$(cat "$T/port")" >"$T/reply" &
	local client=$!
	wait_for "$T/sent"
	say "client: GET /delay/$DELAY sent (the server answers after $DELAY ms)"
	sleep 0.5
	say "kill -TERM $SERVER_PID"
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID"
	status=$?
	say "server ended: $([ $status -gt 128 ] && echo "killed by signal $((status - 128))" || echo "exit $status")"
	wait "$client"
	if grep -q "^delayed $DELAY" "$T/reply"; then
		say "client: complete reply: $(head -1 "$T/reply" | tr -d '\r') ... $(tail -1 "$T/reply")"
	else
		say "client: request LOST: the connection closed without a reply$(
			[ -s "$T/reply" ] && echo " ($(tr -d '\r' <"$T/reply" | tail -1))")"
	fi
}

echo "== without lastcall"
run
echo
echo "== with lastcall"
run bin/lastcall
