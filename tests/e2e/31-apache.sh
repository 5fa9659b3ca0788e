#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Apache httpd 2.4 from Debian, unmodified, with the prefork MPM (mod_cgi) and the event MPM
# (mod_cgid), 8 requests in flight: 4 CGI scripts streaming their reply (a line every 500 ms,
# 2.5 s) and 4 downloads paced by mod_ratelimit (200 KiB at 100 KiB/s, 2 s); and 4 more, for the
# same CGI script, that come 300 ms into the stop on keep-alive connections answered before it
# (under the event MPM, mod_cgid's daemon starts the script: it must go on taking requests
# from Apache's workers while they drain). SIGTERM is
# Apache's immediate stop: its master sets a flag in its handler, then stops its children
# (prefork: SIGTERM to its whole process group, CGI scripts included; event: "restart" through
# the pipe of death, on which a child closes every connection at once), sends SIGTERM again
# 0, 3, 5 and 7 s later, SIGKILL at 9 s, and gives up at 10 s; while it is not stopping, it
# starts children to keep its spare workers. Its access log goes through a piped logger (sh
# running cat), which the master stops with SIGTERM once its workers are gone. Without lastcall
# every request is cut. With lastcall: nothing lost, every request in the access log, no child
# started during the stop, Apache's own exit status, the end within 2 s of the last reply
# (when the whole tree got SIGTERM, the loggers held it until the deadline before they let
# Apache's own SIGTERM end them), nothing left running. Stopped three ways: main, all,
# container.
. "$(dirname "$0")/../lib/lib.sh"

APACHE=${APACHE:-/usr/sbin/apache2}
[ -x "$APACHE" ] || fail "$APACHE not found (apt-get install apache2)"
export LASTCALL_TIMEOUT=10s LASTCALL_KILL_AFTER=2s
WWW=$T/www
mkdir -p "$WWW/cgi-bin" "$WWW/slow"
cp "$ROOT/tests/servers/stream.cgi" "$WWW/cgi-bin/stream.cgi"
printf 'chunk %d/6\n' 0 1 2 3 4 5 >"$T/stream.expected"
echo small >"$WWW/small.txt"
head -c 204800 /dev/urandom >"$WWW/slow/big.bin"
# Apache serves as www-data, which must reach the files and run the script.
chmod 755 "$T" "$WWW" "$WWW/cgi-bin" "$WWW/slow" "$WWW/cgi-bin/stream.cgi"
chmod 644 "$WWW/slow/big.bin" "$WWW/small.txt"
# A sanitizer's report from a child serving as www-data must be able to land in $T too.
[ -z "${SANITIZE:-}" ] || chmod 1777 "$T"
# start NAME MPM PRELOAD: Apache in the foreground, ready. Sets PID and PORT. It runs in a session
# of its own, as under systemd or as a container's process 1: the prefork master stops its
# children with a SIGTERM to its whole process group, which would otherwise be the test's.
start() {
	local name=$1 dir=$T/$1 cmd
	mkdir -p "$dir"
	chmod 755 "$dir"
	PORT=$(free_port)
	sed -e "s|@DIR@|$dir|g" -e "s|@WWW@|$WWW|g" -e "s|@PORT@|$PORT|g" -e "s|@MPM@|$2|g" \
		"$ROOT/tests/servers/apache2.conf.in" >"$dir/httpd.conf"
	cmd=("$APACHE" -DFOREGROUND -f "$dir/httpd.conf")
	[ "$3" = 1 ] && cmd=("${COMMAND[@]}" "${cmd[@]}")
	spawn "$name" setsid "${cmd[@]}"
	wait_listening "$PORT" 10000 || fail "$name did not listen: $(cat "$T/$name.log" "$dir/error.log")"
	# Logged once the master's handlers are set and its children started.
	poll_until 10000 grep -q 'resuming normal operations' "$dir/error.log" ||
		fail "$name did not start: $(cat "$T/$name.log" "$dir/error.log")"
	[ "$(cat "/proc/$PID/comm")" = apache2 ] || fail "$name: pid $PID is not Apache's master"
}

# requests NAME: 4 streamed CGI replies and 4 paced downloads, every reply started; 4 keep-alive
# connections answered once, their CGI request sent 300 ms after $T/NAME.go appears.
requests() {
	local name=$1
	rm -f "$T/$name".*.ready "$T/$name.go"
	"${CLIENT[@]}" --port "$PORT" --count 4 --path /cgi-bin/stream.cgi --timing --timeout 30 \
		--expect-file "$T/stream.expected" --ready "$T/$name.cgi.ready" \
		--ready-when first-byte >"$T/$name.cgi.client" 2>&1 &
	CGI_CLIENT=$!
	"${CLIENT[@]}" --port "$PORT" --count 4 --path /slow/big.bin --timing --timeout 30 \
		--expect-file "$WWW/slow/big.bin" --ready "$T/$name.slow.ready" \
		--ready-when first-byte >"$T/$name.slow.client" 2>&1 &
	SLOW_CLIENT=$!
	"${CLIENT[@]}" --port "$PORT" --count 4 --first /small.txt --path /cgi-bin/stream.cgi \
		--timing --timeout 30 --expect-file "$T/stream.expected" --send-after "$T/$name.go" \
		--send-delay 0.3 --ready "$T/$name.late.ready" --ready-when connected \
		>"$T/$name.late.client" 2>&1 &
	LATE_CLIENT=$!
	poll_until 15000 test -e "$T/$name.cgi.ready" -a -e "$T/$name.slow.ready" \
		-a -e "$T/$name.late.ready" ||
		fail "$name: replies did not start: $(cat "$T/$name".*.client)"
}

children_of() {
	cat "/proc/$1"/task/*/children 2>/dev/null
}

# watch_children NAME: until the master ends (30 s after the SIGTERM at most), notes every child
# of it that was not there before the stop. Sets NEW (their pids and names).
watch_children() {
	local name=$1 seen kid
	seen=" $BEFORE "
	NEW=()
	while [ ! -s "$T/$name.status" ] && [ "$(now_ms)" -lt $((T0 + 30000)) ]; do
		for kid in $(children_of "$PID"); do
			case $seen in
			*" $kid "*) ;;
			*) seen+="$kid " NEW+=("$kid($(cat "/proc/$kid/comm" 2>/dev/null))") ;;
			esac
		done
		sleep 0.02
	done
}

# run MPM MODE PRELOAD: the stop with 8 replies under way. Sets LOST, STATUS, TREE_ALIVE,
# TREE_ZOMBIES, NEW, EXIT_MS (SIGTERM to the master's end), LAST_MS (SIGTERM to the end of the
# last whole reply).
run() {
	local mpm=$1 mode=$2 preload=$3 name=$1-$2-$3 targets last lost_cgi
	SPAWN_MODE=$([ "$mode" = container ] && echo -k || echo -r) start "$name" "$mpm" "$preload"
	requests "$name"
	BEFORE=$(children_of "$PID" | tr '\n' ' ')
	targets=("$PID")
	[ "$mode" = all ] && mapfile -t -O 1 targets < <(descendants "$PID")
	T0=$(now_ms)
	kill -TERM "${targets[@]}" 2>/dev/null # in "all", a CGI script's sleep may be gone
	touch "$T/$name.go"
	watch_children "$name"
	ended "$name" 1000
	wait "$CGI_CLIENT" "$SLOW_CLIENT" "$LATE_CLIENT"
	OK=$(($(summary_field "$T/$name.cgi.client" ok) + $(summary_field "$T/$name.slow.client" ok) +
		$(summary_field "$T/$name.late.client" ok)))
	lost_cgi=$((4 - $(summary_field "$T/$name.cgi.client" ok)))
	lost_late=$((4 - $(summary_field "$T/$name.late.client" ok)))
	LOST="$((12 - OK)) ($lost_cgi CGI, $lost_late late)"
	EXIT_MS=$((ENDED - T0))
	last=$(printf '%s\n' "$(summary_field "$T/$name.cgi.client" last_at)" \
		"$(summary_field "$T/$name.slow.client" last_at)" \
		"$(summary_field "$T/$name.late.client" last_at)" | sort -n | tail -1)
	LAST_MS=$((${last:-0} > T0 ? last - T0 : 0))
	LOGGED=$(grep -c ' 200 ' "$T/$name/access.log" 2>/dev/null)
	# Apache does not wait for its access log's logger (a SIGTERM at its exit, no wait): that
	# sh or its cat may be a zombie as the master ends, with or without lastcall. The others
	# count (spawn names each process left).
	ZOMBIES=$(grep 'spawn: left when the command ended: .* Z$' "$T/$name.log" |
		grep -cv ' (sh) Z$\| (cat) Z$')
}

declare -A bare
printf '   %-8s %-9s %-30s %s\n' MPM mode "without lastcall" "with lastcall"
for mpm in ${MPMS:-prefork event}; do
	for mode in ${MODES:-main all container}; do
		run "$mpm" "$mode" 0
		[ "$OK" -lt 12 ] || fail "$mpm, $mode, without lastcall: nothing lost"
		bare[$mpm-$mode]=$STATUS
		without="${LOST% (*} lost, $STATUS, $EXIT_MS ms"
		run "$mpm" "$mode" 1
		what="$mpm, $mode, with lastcall"
		check "$what: $LOST lost: $(grep -h "^summary" "$T/$mpm-$mode-1".*.client | cut -d" " -f2-8 | tr "\n" ";")" [ "$OK" -eq 12 ]
		check "$what: ${LOGGED:-0} of 16 requests in the access log" [ "${LOGGED:-0}" -eq 16 ]
		check "$what: ${#NEW[@]} children started during the stop (${NEW[*]})" [ "${#NEW[@]}" -eq 0 ]
		check "$what: status $STATUS, without lastcall ${bare[$mpm-$mode]}" [ "$STATUS" = "${bare[$mpm-$mode]}" ]
		# Apache's master looks at its children once a second while it stops them.
		check "$what: ended $EXIT_MS ms after SIGTERM, the last reply $LAST_MS ms" \
			[ "$EXIT_MS" -le $((LAST_MS + 2000)) ]
		check "$what: $TREE_ALIVE processes left running" [ "$TREE_ALIVE" -eq 0 ]
		check "$what: $ZOMBIES zombies besides the access log's logger ($TREE_ZOMBIES in all)" \
			[ "$ZOMBIES" -eq 0 ]
		printf '   %-8s %-9s %-30s %s lost, %s logged, %s started in the stop, %s, ended %s ms (last reply %s ms), %s left\n' \
			"$mpm" "$mode" "$without" "$LOST" "${LOGGED:-0}" "${#NEW[@]}" "$STATUS" "$EXIT_MS" "$LAST_MS" "$TREE_ALIVE"
	done
done

checked
pass "Apache prefork and event: CGI streams and paced downloads finish on SIGTERM, CGI requests made during it are served, no child started, status kept"
