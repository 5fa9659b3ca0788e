#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Replies that pause: real servers streaming a reply in pieces, with nothing unread or unsent
# between two pieces and the server the last to have spoken, which is also what an idle
# keep-alive connection looks like; only the length of the quiet tells them apart
# (LASTCALL_IDLE). 8 requests of each shape in flight at SIGTERM:
#   node          tests/servers/node_stream.js, plain http.createServer with no signal
#                 handling: 6 chunks 0.5 s apart (Content-Length), 4 chunks 1 s apart
#                 (chunked encoding), a download paced to 100 kB/s by res.write and setTimeout
#   lighttpd-rate a static download limited by connection.kbytes-per-second (100): lighttpd
#                 sends a second's worth at once, then nothing for 1 s; in about half the
#                 downloads the first pause is two of its ticks, 2.0 to 2.2 s
#   py-cgi        python3 -m http.server --cgi, a script printing 6 lines 0.5 s apart (it writes
#                 to the client socket itself)
#   lighttpd-cgi  the same script under mod_cgi, server.stream-response-body = 2 (passed on as
#                 it comes); lighttpd-cgi0: the default, 0, which holds the reply until the
#                 script ends (nothing is sent before, so no pause shows on the connection)
# Single-process servers are stopped by SIGTERM to the main process; those with CGI children
# three ways, as in 05-forking-servers.sh (main, all, container). Without lastcall replies are
# lost, or CGI scripts are left running. With it (default settings): nothing lost, nothing
# left, no connection closed as idle, the status it would have had (lighttpd: its status when
# stopped with nothing in flight), and the server ends after the last reply.
. "$(dirname "$0")/../lib/lib.sh"

NODE=${NODE:-$(command -v node || echo /usr/bin/node)}
[ -x "$NODE" ] || fail "node not found (apt-get install nodejs)"
[ -x "$LIGHTTPD" ] || fail "lighttpd not found (apt-get install lighttpd)"

COUNT=8
RATE_BYTES=250000 # at 100 kB/s: about 2.5 s
WWW=$T/www
mkdir -p "$WWW/cgi-bin"
chmod 755 "$T" "$WWW" "$WWW/cgi-bin" # http.server runs CGI scripts as nobody

# Expected bodies: the /stream/N/G lines, and the /bytes pattern.
for n in 4 6; do
	for ((i = 0; i < n; i++)); do printf 'chunk %d/%d\n' "$i" "$n"; done >"$T/lines$n"
done
"$PYTHON" -c 'import sys; n = int(sys.argv[1]); p = bytes(range(97, 123))
sys.stdout.buffer.write((p * (n // 26 + 1))[:n])' "$RATE_BYTES" >"$T/pattern"
cp "$T/pattern" "$WWW/rate.bin"
# The streaming CGI script: the lines of /stream/6/500, with pauses.
cat >"$WWW/cgi-bin/stream.sh" <<EOF
#!/bin/sh
printf 'Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n' $(wc -c <"$T/lines6")
i=0
while [ \$i -lt 6 ]; do
	printf 'chunk %d/6\n' \$i
	i=\$((i + 1))
	[ \$i -lt 6 ] && sleep 0.5
done
exit 0
EOF
chmod 755 "$WWW/cgi-bin/stream.sh"
cp "$WWW/cgi-bin/stream.sh" "$WWW/stream.sh"

# Each kind's shapes: LABEL PATH EXPECTED-BODY READY-WHEN, separated by spaces, one per line.
declare -A SHAPES=(
	[node]="stream /stream/6/500 lines6 first-byte
chunked /chunked/4/1000 lines4 first-byte
rate /rate/$RATE_BYTES/100 pattern first-byte"
	[lighttpd-rate]="rate /rate.bin pattern first-byte"
	[py-cgi]="stream /cgi-bin/stream.sh lines6 first-byte"
	[lighttpd-cgi]="stream /stream.sh lines6 first-byte"
	[lighttpd-cgi0]="stream /stream.sh lines6 sent"
)
declare -A MAIN PORT_OF T_KILL T_START REQUESTS BARE_STATUS

# conf NAME KIND: writes lighttpd's $T/NAME.conf for KIND and sets PORT.
conf() {
	local extra=()
	case $2 in
	lighttpd-rate) extra=('connection.kbytes-per-second = 100') ;;
	lighttpd-cgi) extra=('server.stream-response-body = 2') ;;
	esac
	lighttpd_conf "$1" "$WWW" 'mimetype.assign = (".bin" => "application/octet-stream")' \
		'server.modules += ("mod_cgi")' 'cgi.assign = (".sh" => "/bin/sh")' "${extra[@]}"
}

# launch NAME KIND MODE PRELOAD: starts the server; MAIN[NAME] is its pid.
launch() {
	local name=$1 kind=$2 mode=$3 preload=$4 cmd
	PORT=
	case $kind in
	node) cmd=("$NODE" "$ROOT/tests/servers/node_stream.js" "$T/$name.port") ;;
	py-cgi) cmd=("$PYTHON" -u -m http.server --cgi 0 --bind 127.0.0.1 --directory "$WWW") ;;
	lighttpd*)
		conf "$name" "$kind"
		cmd=("$LIGHTTPD" -D -f "$T/$name.conf")
		;;
	esac
	[ "$preload" = 1 ] && cmd=("${COMMAND[@]}" "${cmd[@]}")
	SPAWN_MODE=$([ "$mode" = container ] && echo -k || echo -r) spawn "$name" "${cmd[@]}"
	MAIN[$name]=$PID
	PORT_OF[$name]=$PORT
}

# listening NAME KIND: waits until the server takes requests; sets PORT_OF[NAME].
listening() {
	local name=$1
	case $2 in
	node)
		poll_until 10000 test -s "$T/$name.port" || fail "$name did not listen: $(cat "$T/$name.log")"
		PORT_OF[$name]=$(cat "$T/$name.port")
		;;
	py-cgi)
		poll_until 10000 grep -q "port [0-9]" "$T/$name.log" || fail "$name did not start"
		PORT_OF[$name]=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$T/$name.log" | head -1)
		;;
	lighttpd*)
		wait_listening "${PORT_OF[$name]}" 10000 || fail "$name did not listen: $(cat "$T/$name.log")"
		# lighttpd listens before it sets its signal handlers, and logs this line after.
		poll_until 10000 grep -q 'server started' "$T/$name.error" ||
			fail "$name did not start: $(cat "$T/$name.log")"
		;;
	esac
}

# request NAME KIND: starts COUNT requests of each of KIND's shapes.
request() {
	local name=$1 kind=$2 label path body when
	REQUESTS[$name]=
	T_START[$name]=$(now_ms)
	while read -r label path body when; do
		rm -f "$T/$name.$label.ready"
		"${CLIENT[@]}" --port "${PORT_OF[$name]}" --count "$COUNT" --path "$path" \
			--expect-file "$T/$body" --ready "$T/$name.$label.ready" --ready-when "$when" \
			--timing >"$T/$name.$label.client" 2>&1 &
		REQUESTS[$name]+="$label:$! "
	done <<<"${SHAPES[$kind]}"
}

# in_flight NAME KIND: every request of NAME is in flight (and its CGI scripts running).
in_flight() {
	local name=$1 item
	for item in ${REQUESTS[$name]}; do
		[ -e "$T/$name.${item%%:*}.ready" ] || return 1
	done
	[[ $2 != *cgi* ]] || scripts_running "${MAIN[$name]}" "$COUNT"
}

# stop_all KIND MODE:NAME...: SIGTERM to each server (as MODE says) as soon as its requests
# are in flight, side by side rather than one after the other. A poll, with a deadline.
stop_all() {
	local kind=$1 left still item mode name targets end=$(($(now_ms) + 20000))
	shift
	left=("$@")
	while [ ${#left[@]} -gt 0 ]; do
		still=()
		for item in "${left[@]}"; do
			mode=${item%%:*} name=${item#*:}
			if ! in_flight "$name" "$kind"; then
				still+=("$item")
				continue
			fi
			targets=()
			[ "$mode" = all ] && mapfile -t targets < <(descendants "${MAIN[$name]}")
			T_KILL[$name]=$(now_ms)
			kill -TERM "${MAIN[$name]}" || fail "$name ended before its SIGTERM"
			# A descendant may have ended since it was listed (a CGI script's sleep).
			[ ${#targets[@]} -eq 0 ] || kill -TERM "${targets[@]}" 2>/dev/null
		done
		left=("${still[@]}")
		[ ${#left[@]} -eq 0 ] && break
		[ "$(now_ms)" -lt "$end" ] || fail "requests not in flight: ${left[*]}"
		sleep 0.02
	done
}

# collect NAME KIND MODE PRELOAD: waits for the server and its clients, checks, and adds a row
# to the table per shape (with lastcall).
collect() {
	local name=$1 kind=$2 mode=$3 preload=$4 item label ok lost end paused idle tails=()
	wait_status "$name" 30000
	[ "$preload" = 0 ] && BARE_STATUS[$kind]=$STATUS
	for item in ${REQUESTS[$name]}; do
		label=${item%%:*}
		wait "${item#*:}"
		ok=$(summary_field "$T/$name.$label.client" ok)
		[ -n "$ok" ] || fail "$name: no summary from the $label client: $(cat "$T/$name.$label.client")"
		lost=$((COUNT - ok))
		if [ "$preload" = 0 ]; then
			[ "$lost" -gt 0 ] || [ "$TREE_ALIVE" -gt 0 ] ||
				fail "$name, $label: without lastcall, nothing lost and nothing left running"
			WITHOUT[$kind.$mode.$label]="$lost of $COUNT lost, $TREE_ALIVE left running ($STATUS)"
			continue
		fi
		[ "$lost" -eq 0 ] || fail "$name, $label: $lost lost: $(cat "$T/$name.$label.client") $(cat "$T/$name.log")"
		# When the longest reply ended, at the latest (the client's clock starts a little
		# after T_START).
		end=$((T_START[$name] + $(summary_field "$T/$name.$label.client" max_ms)))
		[ "$ENDED" -ge "$end" ] || fail "$name, $label: the server ended before its last reply"
		tails+=("$label:$((end - T_KILL[$name])):$(summary_field "$T/$name.$label.client" paused_ms)")
	done
	[ "$preload" = 0 ] && return
	expect_eq "$name: left running" "$TREE_ALIVE" 0
	expect_eq "$name: zombies" "$TREE_ZOMBIES" 0
	expect_eq "$name: status" "$STATUS" "${IDLE_STATUS[$kind]:-${BARE_STATUS[$kind]}}"
	idle=$(idle_closed "$name")
	expect_eq "$name: connections closed as idle" "$idle" 0
	drain_summary "$name" "${MAIN[$name]}"
	for item in "${tails[@]}"; do
		IFS=: read -r label end paused <<<"$item"
		note "$(printf '%-13s %-9s %-7s %-36s -> 0 lost (%s); paused %4d ms; drain %4d ms, replies ended %4d ms after SIGTERM' \
			"$kind" "$mode" "$label" "${WITHOUT[$kind.$mode.$label]}" "$STATUS" "$paused" \
			"$DRAIN_MS" "$end")"
	done
}

# group KIND MODES...: KIND's server in each mode, without and with lastcall, side by side.
group() {
	local kind=$1 mode preload name stops=()
	shift
	for mode in "$@"; do
		for preload in 0 1; do launch "$kind-$mode-$preload" "$kind" "$mode" "$preload"; done
	done
	for mode in "$@"; do
		for preload in 0 1; do
			name=$kind-$mode-$preload
			listening "$name" "$kind"
			request "$name" "$kind"
			stops+=("$mode:$name")
		done
	done
	stop_all "$kind" "${stops[@]}"
	for mode in "$@"; do
		for preload in 0 1; do collect "$kind-$mode-$preload" "$kind" "$mode" "$preload"; done
	done
}

# lighttpd exits 1 when SIGTERM makes it abandon connections, 0 when it has none: with lastcall
# it has none by the time its handler runs. Its status stopped idle, for comparison.
conf idle lighttpd-cgi
spawn idle "$LIGHTTPD" -D -f "$T/idle.conf"
PORT_OF[idle]=$PORT
listening idle lighttpd
kill -TERM "$PID"
wait_status idle 10000
declare -A IDLE_STATUS=([lighttpd-rate]=$STATUS [lighttpd-cgi]=$STATUS [lighttpd-cgi0]=$STATUS)
declare -A WITHOUT

# KINDS=...: only those (for a look at one).
runs() {
	[[ " ${KINDS:-node py-cgi lighttpd-cgi lighttpd-cgi0 lighttpd-rate} " = *" $1 "* ]]
}
note "$COUNT requests of each shape in flight: lost without -> with lastcall (status); the"
note "pause every reply had at least once; the drain, and when the last reply ended"
runs node && group node main
for kind in py-cgi lighttpd-cgi lighttpd-cgi0; do
	runs "$kind" && group "$kind" main all container
done
runs lighttpd-rate && group lighttpd-rate main
pass "streamed and paced replies of Node.js, lighttpd and http.server complete; none closed as idle"
