#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Restarting real, unmodified servers under load, as 32-restart.sh does the examples:
#   lighttpd     Debian's, a configuration written here; the load's streamed replies are a CGI
#                script (mod_cgi, server.stream-response-body = 2) printing 5 lines 0.4 s
#                apart, so each old generation drains CGI children too
#   node         tests/servers/node_stream.js, plain http.createServer: /stream/5/400
#   http.server  python3 -m http.server PORT --bind 127.0.0.1: the 'streamed' replies are a
#                static file (http.server streams nothing without CGI), and it answers in
#                HTTP/1.0, closing every connection after its reply
# A restart needs the same port again, so each takes a fixed one (free_port). Without lastcall
# a restart is a stop and a start: replies in flight are cut and new connections refused in
# between. With lastcall --restart-on HUP, RESTARTS restarts 0.5 s apart (5 here rather than
# 32's 10, to keep three servers under a minute), then SIGTERM: nothing refused, reset or cut;
# the main pid never changes; each generation has its own pid; nothing of an old generation is
# left once it has drained.
. "$(dirname "$0")/../lib/lib.sh"
RESTARTS=${RESTARTS:-5}
. "$ROOT/tests/servers/restart.sh"

NODE=${NODE:-$(command -v node || echo /usr/bin/node)}
[ -x "$NODE" ] || fail "node not found (apt-get install nodejs)"
[ -x "$LIGHTTPD" ] || fail "lighttpd not found (apt-get install lighttpd)"

# The document root: / is index.html; /stream/5/400 (the load's stream path) is a CGI script
# for lighttpd and a plain file for http.server.
WWW=$T/www
mkdir -p "$WWW/stream/5"
echo hello >"$WWW/index.html"
cat >"$WWW/stream/5/400" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\nContent-Length: 50\r\n\r\n'
for i in 0 1 2 3 4; do
	printf 'chunk %d/5\n' $i
	[ $i -lt 4 ] && sleep 0.4
done
exit 0
EOF
chmod 755 "$WWW/stream/5/400"

# server_cmd NAME KIND PORT: sets CMD, the command line of KIND on PORT.
server_cmd() {
	case $2 in
	lighttpd)
		lighttpd_conf --port "$3" "$1" "$WWW" 'index-file.names = ("index.html")' \
			'server.modules += ("mod_cgi")' 'server.stream-response-body = 2' \
			'$HTTP["url"] =~ "^/stream/" { cgi.assign = ("" => "") }'
		CMD=("$LIGHTTPD" -D -f "$T/$1.conf")
		;;
	node) CMD=("$NODE" "$ROOT/tests/servers/node_stream.js" "$T/$1.port" "$3") ;;
	http.server) CMD=("$PYTHON" -m http.server "$3" --bind 127.0.0.1 --directory "$WWW") ;;
	esac
}

printf '   %-11s %6s %18s %18s %9s %9s\n' server sent "failed without" "failed with" ready gone
# KINDS: the servers to run (all by default).
for kind in ${KINDS:-lighttpd node http.server}; do
	name=${kind/./-}
	port=$(free_port)
	server_cmd "$name-bare" "$kind" "$port"
	bare_restarts "$name-bare" "$port" "${CMD[@]}"
	[ "$BAD" -gt 0 ] || fail "$kind: a restart without lastcall lost nothing: the test shows nothing"
	bare="$BAD of $SENT"
	note "$kind without lastcall: $BAD_KINDS"
	port=$(free_port)
	server_cmd "$name" "$kind" "$port"
	lastcall_restarts "$name" "$port" "${CMD[@]}"
	printf '   %-11s %6s %18s %18s %7sms %7sms\n' "$kind" "$SENT" "$bare" "$BAD of $SENT" \
		"$READY_MS" "$GONE_MS"
	note "$kind with lastcall: ${OKS} ok, ${CLOSED} kept-alive closed cleanly (retried); $BAD_KINDS"
	check_restarts "$kind"
	pass "$kind: $RESTARTS restarts under load, 0 failed, main pid $MAIN kept, ${#GENS[@]} generations"
done
