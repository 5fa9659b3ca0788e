#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Failure mode 5: servers whose requests are served by child processes. Stopped three ways:
#   main       SIGTERM to the main process only (systemd's KillMode=mixed, a shell's kill);
#   all        SIGTERM to every process of the tree at once (systemd's default KillMode);
#   container  SIGTERM to the main process, then SIGKILL to everything left when it exits
#              (a container's PID 1 going away).
# Without lastcall each model loses requests or leaves its children running after the main
# process is gone. With it: nothing lost, nothing of the tree alive and no zombie when the main
# process ends, and the main process ends with the status it would have had.
. "$(dirname "$0")/../lib/lib.sh"

DELAY=1000
WWW=$T/www
mkdir -p "$WWW/cgi-bin"
chmod 755 "$T" "$WWW" "$WWW/cgi-bin" # http.server runs CGI scripts as nobody
printf 'delayed %s\n' "$DELAY" >"$T/expected"
# A CGI script for Python's http.server (it runs scripts with the client socket as stdout).
cat >"$WWW/cgi-bin/slow.sh" <<EOF
#!/bin/sh
sleep $((DELAY / 1000)).$((DELAY % 1000))
printf 'Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n' "\$(wc -c <'$T/expected')"
cat '$T/expected'
EOF
chmod +x "$WWW/cgi-bin/slow.sh"
# The same for lighttpd (its CGI output goes through a pipe to lighttpd).
cp "$WWW/cgi-bin/slow.sh" "$WWW/slow.sh"

# start MODEL PRELOAD: starts MODEL, sets PID and PORT, CMD_PATH (what to request) and EXPECT
# (client arguments checking the reply), KIDS (children to wait for before the signal), and
# IDLE_STATUS if the program's status depends on what it had in flight (lighttpd exits 1 when
# it abandons connections, 0 when it stops with none: with lastcall it has none).
start() {
	local model=$1 preload=$2 cmd port
	CMD_PATH=/delay/$DELAY
	EXPECT=()
	KIDS=2
	SCRIPTS=
	IDLE_STATUS=
	case $model in
	forking-ignore) cmd=("$EX/forking" --sigchld ignore) ;;
	forking-handler) cmd=("$EX/forking" --sigchld handler) ;;
	prefork) cmd=("$EX/prefork" --threads 3) KIDS=3 ;;
	prefork-noforward) cmd=("$EX/prefork" --no-forward --threads 3) KIDS=3 ;;
	cgi) cmd=("$EX/cgi") SCRIPTS=1 ;;
	py-forking) cmd=("$PYTHON" "$ROOT/tests/servers/pyserver.py" --forking "$T/$model.port") ;;
	py-cgi)
		cmd=("$PYTHON" -u -m http.server --cgi 0 --bind 127.0.0.1 --directory "$WWW")
		CMD_PATH=/cgi-bin/slow.sh EXPECT=(--expect-file "$T/expected") SCRIPTS=1
		;;
	lighttpd-cgi)
		SCRIPTS=1
		lighttpd_conf "$model" "$WWW" 'server.modules += ("mod_cgi")' \
			'cgi.assign = (".sh" => "/bin/sh")'
		cmd=("$LIGHTTPD" -D -f "$T/$model.conf")
		CMD_PATH=/slow.sh EXPECT=(--expect-file "$T/expected") IDLE_STATUS="exit 0"
		;;
	esac
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	case $model in
	py-forking)
		spawn "$model" "${cmd[@]}"
		poll_until 5000 test -s "$T/$model.port" || fail "$model did not start"
		PORT=$(cat "$T/$model.port")
		;;
	py-cgi)
		spawn "$model" "${cmd[@]}"
		poll_until 5000 grep -q "port [0-9]" "$T/$model.log" || fail "$model did not start"
		PORT=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$T/$model.log" | head -1)
		;;
	lighttpd-cgi)
		spawn "$model" "${cmd[@]}"
		lighttpd_started "$model"
		;;
	*) server "$model" "${cmd[@]}" ;;
	esac
}

# run MODEL MODE PRELOAD: two requests in flight, then the stop. Sets LOST, STATUS, TREE_ALIVE,
# TREE_ZOMBIES.
run() {
	local model=$1 mode=$2 preload=$3 targets
	SPAWN_MODE=$([ "$mode" = container ] && echo -k || echo -r) start "$model" "$preload"
	start_requests "$model" 2 --path "$CMD_PATH" "${EXPECT[@]}"
	poll_until 5000 sh -c "[ \$(ls /proc/$PID/task/*/children >/dev/null 2>&1; \
		cat /proc/$PID/task/*/children | wc -w) -ge $KIDS ]" || fail "$model: no children"
	[ -z "$SCRIPTS" ] || poll_until 5000 scripts_running "$PID" "$KIDS" ||
		fail "$model: the CGI scripts did not start"
	targets=("$PID")
	[ "$mode" = all ] && mapfile -t -O 1 targets < <(descendants "$PID")
	kill -TERM "${targets[@]}"
	wait_status "$model" 20000
	finish_requests "$model"
}

# Not lighttpd-cgi under ThreadSanitizer: its runtime runs an uninstrumented program's signal
# handler at the program's next intercepted call, not when the signal arrives, so lighttpd
# reaps an exited CGI script only at its next one-second tick, after lastcall has stopped
# waiting for it (a zombie is left); and a script's last command, slowed down by the runtime,
# is still exiting when lighttpd kills the script (a process is left).
all="forking-ignore forking-handler prefork prefork-noforward cgi py-forking py-cgi lighttpd-cgi"
if [[ ${SANITIZE:-} = *thread* ]]; then
	all=${all% lighttpd-cgi}
	skip "lighttpd-cgi under ThreadSanitizer: its runtime delays lighttpd's SIGCHLD handler"
fi
# (cgi runs its scripts with /bin/sh, which lastcall is carried into)
glibc_only "cgi" /bin/sh || all=${all/ cgi/}
glibc_only "py-forking, py-cgi" python3 || all=${all/ py-forking py-cgi/}
glibc_only lighttpd-cgi lighttpd || all=${all% lighttpd-cgi}
declare -A bare_status
for model in ${MODELS:-$all}; do
	for mode in main all container; do
		run "$model" "$mode" 0
		bare_status[$model]=$STATUS
		[ "$LOST" -gt 0 ] || [ "$TREE_ALIVE" -gt 0 ] ||
			fail "$model, $mode, without lastcall: expected lost requests or leftovers"
		without="$LOST lost, $TREE_ALIVE left alive, $TREE_ZOMBIES zombies ($STATUS)"
		run "$model" "$mode" 1
		[ "$LOST" -eq 0 ] || fail "$model, $mode: $LOST lost: $(cat "$T/$model.client") $(cat "$T/$model.log")"
		expect_eq "$model, $mode: left alive" "$TREE_ALIVE" 0
		expect_eq "$model, $mode: zombies" "$TREE_ZOMBIES" 0
		expect_eq "$model, $mode: status as without lastcall" "$STATUS" \
			"${IDLE_STATUS:-${bare_status[$model]}}"
		printf '   %-18s %-9s without: %-45s with: 0 lost, 0 left, 0 zombies (%s)\n' \
			"$model" "$mode" "$without" "$STATUS"
	done
done
pass "forking, pre-fork, CGI and Python servers: nothing lost, the main process exits last"
