#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 11: a reply streamed with pauses (GET /stream/N/G: N chunks, G ms apart) has, between
# two chunks, nothing unread and nothing unsent, and the server spoke last: what an idle
# keep-alive connection looks like, but for less than LASTCALL_IDLE. Every example model serves
# two such replies when SIGTERM comes, after their first chunk and before their last, stopped
# three ways (05's main, all, container). Without lastcall each model loses replies or leaves
# children running; with it (default settings): nothing lost, nothing left, no zombie, the main
# process's status as without lastcall, no streaming connection closed as idle, and the drain
# not over before the last reply is.
# All models of one (G, mode) run side by side and get the signal together.
. "$(dirname "$0")/../lib/lib.sh"

CHUNKS=4
GAPS=${GAPS:-500 1000}
MODES=${MODES:-main all container}
MODELS=${MODELS:-threaded pool blocking epoll epoll-edge prefork prefork-reuseport forking-ignore forking-handler cgi}

# model MODEL: sets CMD, and READY_MIN: the replies under way before the signal. The blocking
# server serves one connection at a time, and two connections may hash to one SO_REUSEPORT
# worker: there the other request waits queued (sent, accepted by the kernel).
model() {
	READY_MIN=2
	case $1 in
	epoll-edge) CMD=("$EX/epoll" --edge) ;;
	prefork) CMD=("$EX/prefork" --threads 3) ;;
	prefork-reuseport) CMD=("$EX/prefork" --reuseport --threads 3) READY_MIN=1 ;;
	forking-ignore) CMD=("$EX/forking" --sigchld ignore) ;;
	forking-handler) CMD=("$EX/forking" --sigchld handler) ;;
	blocking) CMD=("$EX/blocking") READY_MIN=1 ;;
	*) CMD=("$EX/$1") ;;
	esac
}

# drained NAME: from NAME's log, over every process's drain (children drain too, and the
# master of a SO_REUSEPORT pre-fork server, which never listens, has none): the longest
# (DRAIN_MS), and the connections closed as idle (IDLE_CLOSED) and at the deadline (CUT).
drained() {
	[ "$(summaries "$T/$1.log")" -gt 0 ] || fail "$1: no drain summary: $(cat "$T/$1.log")"
	DRAIN_MS=$(summary_values "$T/$1.log" ms | sort -n | tail -n 1)
	IDLE_CLOSED=$(summary_sum "$T/$1.log" idle) CUT=$(summary_sum "$T/$1.log" deadline)
	[ -n "$DRAIN_MS" ] || fail "$1: unreadable summary: $(grep 'summary: ' "$T/$1.log")"
}

# round G MODE PRELOAD: every model started, two /stream/CHUNKS/G requests each; once the
# replies are under way, one SIGTERM per target (main process, or the whole tree). Sets, per
# model, LOST_OF, STATUS_OF, ALIVE_OF, ZOMBIES_OF, PAUSED_OF, REST_OF (ms from the signal to the
# end of the last whole reply) and, with lastcall, DRAIN_OF, IDLE_OF and CUT_OF (drained).
round() {
	local g=$1 mode=$2 preload=$3 m name t_sig last targets=()
	local -A pid=() port=() client=()
	for m in $MODELS; do
		name=$m-$g-$mode-$preload
		model "$m"
		[ "$preload" = 1 ] && CMD=("${COMMAND[@]}" "${CMD[@]}")
		SPAWN_MODE=$([ "$mode" = container ] && echo -k || echo -r) server "$name" "${CMD[@]}"
		pid[$m]=$PID port[$m]=$PORT
	done
	# The clients only once every server is up, so the replies start close together.
	for m in $MODELS; do
		name=$m-$g-$mode-$preload
		model "$m"
		"${CLIENT[@]}" --port "${port[$m]}" --count 2 --path "/stream/$CHUNKS/$g" --timing \
			--ready "$T/$name.ready" --ready-when first-byte --ready-min "$READY_MIN" \
			>"$T/$name.client" 2>&1 &
		client[$m]=$!
	done
	for m in $MODELS; do
		name=$m-$g-$mode-$preload
		poll_until 10000 test -e "$T/$name.ready" || fail "$name: replies not under way"
		if [ "$mode" = all ]; then
			mapfile -t -O "${#targets[@]}" targets < <(echo "${pid[$m]}"; descendants "${pid[$m]}")
		else
			targets+=("${pid[$m]}")
		fi
	done
	t_sig=$(now_ms)
	# Quietly: a descendant listed (a CGI script's sleep) may have ended since; how each main
	# process ended is checked below.
	kill -TERM "${targets[@]}" 2>/dev/null
	for m in $MODELS; do
		name=$m-$g-$mode-$preload
		wait_status "$name" 30000
		wait "${client[$m]}"
		LOST_OF[$m]=$(($(grep -c '^request ' "$T/$name.client") - $(summary_field "$T/$name.client" ok)))
		STATUS_OF[$m]=$STATUS ALIVE_OF[$m]=$TREE_ALIVE ZOMBIES_OF[$m]=$TREE_ZOMBIES
		PAUSED_OF[$m]=$(summary_field "$T/$name.client" paused_ms)
		last=$(summary_field "$T/$name.client" last_at)
		REST_OF[$m]=$([ "$last" -gt 0 ] && echo $((last - t_sig)) || echo -)
		if [ "$preload" = 1 ]; then
			drained "$name"
			DRAIN_OF[$m]=$DRAIN_MS IDLE_OF[$m]=$((IDLE_CLOSED))
			CUT_OF[$m]=$CUT
		fi
	done
}

declare -A LOST_OF STATUS_OF ALIVE_OF ZOMBIES_OF PAUSED_OF REST_OF DRAIN_OF IDLE_OF CUT_OF
declare -A bare_status bare_lost bare_alive
rows=()
for g in $GAPS; do
	for mode in $MODES; do
		round "$g" "$mode" 0
		for m in $MODELS; do
			[ "${LOST_OF[$m]}" -gt 0 ] || [ "${ALIVE_OF[$m]}" -gt 0 ] ||
				fail "$m, $mode, G=$g without lastcall: expected lost replies or children left: $(cat "$T/$m-$g-$mode-0.client")"
			bare_status[$m]=${STATUS_OF[$m]} bare_lost[$m]=${LOST_OF[$m]}
			bare_alive[$m]=${ALIVE_OF[$m]}
		done
		round "$g" "$mode" 1
		for m in $MODELS; do
			name="$m, $mode, G=$g"
			[ "${LOST_OF[$m]}" -eq 0 ] ||
				fail "$name: ${LOST_OF[$m]} lost: $(cat "$T/$m-$g-$mode-1.client" "$T/$m-$g-$mode-1.log")"
			expect_eq "$name: left alive" "${ALIVE_OF[$m]}" 0
			expect_eq "$name: zombies" "${ZOMBIES_OF[$m]}" 0
			expect_eq "$name: status as without lastcall" "${STATUS_OF[$m]}" "${bare_status[$m]}"
			expect_eq "$name: streaming connections closed as idle" "${IDLE_OF[$m]}" 0
			expect_eq "$name: connections closed at the deadline" "${CUT_OF[$m]}" 0
			# The replies did pause (at least half the gap: the server sleeps the whole
			# gap, the client may see the chunk before it late).
			[ "${PAUSED_OF[$m]}" -ge $((g / 2)) ] ||
				fail "$name: the replies paused only ${PAUSED_OF[$m]} ms"
			# The signal came mid-stream, and the drain lasted until the last reply ended
			# (the client saw that end; the drain started at most a little after the signal:
			# half a gap of room).
			[ "${REST_OF[$m]}" -gt 0 ] || fail "$name: the signal came after the last reply ended"
			[ "${DRAIN_OF[$m]}" -ge $((REST_OF[$m] - g / 2)) ] ||
				fail "$name: drain over in ${DRAIN_OF[$m]} ms, the last reply ended ${REST_OF[$m]} ms after the signal"
			rows+=("$(printf '%-18s %-9s %5s  %d lost, %d left (%-9s) -> 0 lost, 0 left (%-9s)  %5s ms  %5s ms  %4s ms' \
				"$m" "$mode" "$g" "${bare_lost[$m]}" "${bare_alive[$m]}" "${bare_status[$m]}" \
				"${STATUS_OF[$m]}" "${DRAIN_OF[$m]}" "${REST_OF[$m]}" "${PAUSED_OF[$m]}")")
		done
	done
done
note "$CHUNKS chunks per reply, G ms apart (stream length $((CHUNKS - 1)) G); two replies per server"
note "$(printf '%-18s %-9s %5s  %-58s %8s %8s %7s' model mode G 'without -> with lastcall' drain \
	'rest*' paused)"
for r in "${rows[@]}"; do
	note "$r"
done
note "* rest: from the signal to the end of the last reply, as the client saw it"
pass "streamed replies that pause: nothing lost, none closed as idle, the drain lasts until they end"
