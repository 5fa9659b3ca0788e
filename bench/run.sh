#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh [FIGURE...]: the benchmarks of issue 6 (make bench runs them all; what each measures:
# bench/README.md). Each figure is measured without and with lastcall in the same run; one
# table is printed and, when every figure ran, written to bench/results/latest.md with the
# picture bench/results/sigterm.png. Servers are started here and stopped by their pid; every
# wait has a deadline. BENCH_PAIRS, BENCH_SECONDS, BENCH_RUNS, BENCH_CONNS, BENCH_REQUESTS change
# the sizes.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build/bench
LIB=$ROOT/build/liblastcall.so
MUSL_LIB=$ROOT/build/musl/liblastcall.so     # make musl
VG_LIB=${VALGRIND_LIB:-/usr/libexec/valgrind} # callgrind's tool, for the musl rows
EX=$ROOT/build/examples
OUT=${BENCH_OUT:-$ROOT/bench/results}
PAIRS=${BENCH_PAIRS:-21}      # throughput: pairs of runs, each way
SECONDS_PER_RUN=${BENCH_SECONDS:-1}
RUNS=${BENCH_RUNS:-50}        # stop latencies: runs, each way
CONNS=${BENCH_CONNS:-10000}   # scale: connections in flight
REQUESTS=${BENCH_REQUESTS:-20000} # instructions per request: requests measured
BEFORE_COMMIT=c308a43         # scale quiet: the library before issue 11 (bench.mk builds it)
BEFORE=$ROOT/build/bench/before/build/liblastcall.so
N1=1000 N2=3000               # callgrind: cycles in the two runs
SERVER_CPU=0 CLIENT_CPU=1     # throughput: where the server and wrk run
cd "$ROOT" || exit 1
mkdir -p "$B/cg" "$OUT"
START=${EPOCHREALTIME/./}
ROWS=()
NOTES=()
PIDS=()

# cleanup: kills what the bench started and has not reaped, by pid: a process still this shell's
# child. The number of one reaped earlier may be another process's by now.
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		[ "$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')" = "$$" ] && kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
}
trap cleanup EXIT

fail() {
	echo "bench: $*" >&2
	exit 1
}

# row FIGURE WHAT WITHOUT WITH DIFFERENCE TARGET RESULT: one line of the table.
row() {
	local IFS='|'
	ROWS+=("$*")
	echo "   $*" | tr '|' '\t' >&2
}

# calc EXPRESSION: floating-point arithmetic; verdict: pass or miss.
calc() {
	awk "BEGIN { printf \"%s\", $1 }" </dev/null
}

verdict() {
	if [ "$(calc "($1) ? 1 : 0")" = 1 ]; then echo pass; else echo miss; fi
}

now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# --- 1. Instructions per call (callgrind) ---------------------------------------------------

# ir MODE N with|without [musl]: instructions callgrind counts in build/bench/cycle MODE N; for
# musl, the cycle and library of the musl build, and callgrind's tool started directly, since
# valgrind's launcher (a glibc program) cannot start with a musl library in LD_PRELOAD.
ir() {
	local out=$B/cg/${4:+$4-}$1.$2.$3 lib=$LIB cycle=$B/cycle preload=
	local run=(valgrind --tool=callgrind)
	if [ "${4:-}" = musl ]; then
		lib=$MUSL_LIB cycle=$B/musl/cycle
		run=(VALGRIND_LAUNCHER="$(command -v valgrind)" VALGRIND_LIB="$VG_LIB"
			"$VG_LIB/callgrind-amd64-linux")
	fi
	[ "$3" = with ] && preload=$lib
	env LD_PRELOAD="$preload" "${run[@]}" --callgrind-out-file="$out" \
		--toggle-collect=serve --toggle-collect=set_handler --toggle-collect=write_byte \
		--toggle-collect=getppid_call \
		"$cycle" "$1" "$2" >"$out.log" 2>&1 || fail "callgrind $1 $2 $3: $(tail -5 "$out.log")"
	awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

# per_cycle MODE with|without [musl]: instructions of one cycle, start-up costs cancelled.
per_cycle() {
	local a b
	a=$(ir "$1" "$N1" "$2" "${3:-}") && b=$(ir "$1" "$N2" "$2" "${3:-}") || exit 1
	calc "($b - $a) / ($N2 - $N1)"
}

# instructions MODE WHAT TARGET [musl]: a table row for one cycle; TARGET is the most extra
# allowed.
instructions() {
	local without with diff result=info target=-
	without=$(per_cycle "$1" without "${4:-}") && with=$(per_cycle "$1" with "${4:-}") || exit 1
	diff=$(calc "$with - $without")
	if [ -n "$3" ]; then
		target="<= +$3"
		result=$(verdict "$diff <= $3")
	fi
	row 1 "$2" "$(calc "sprintf(\"%.0f\", $without)")" "$(calc "sprintf(\"%.0f\", $with)")" \
		"$(calc "sprintf(\"%+.0f\", $diff)")" "$target" "$result"
}

# breakdown MODE: where the extra instructions of one cycle go, by function: the self cost of
# each (what lastcall inlines counted in its caller), with minus without, per cycle.
breakdown() {
	local run n
	for run in without with; do
		for n in "$N1" "$N2"; do
			callgrind_annotate --threshold=100 --auto=no "$B/cg/$1.$n.$run" |
				sed "s/^/$run $n /"
		done
	done | awk -v root="$ROOT" -v n1="$N1" -v n2="$N2" -f bench/breakdown.awk |
		sort -k1,1nr | awk -F'\t' '{ printf "%+6d  %s\n", $1, $2 }'
}

bench_instructions() {
	echo "== 1. instructions (callgrind, $N1 and $N2 cycles each way)" >&2
	instructions accept "instructions per accept4 + close" 40
	instructions accept-mt "the same, in a program that already has a second thread: lastcall's own" 30
	instructions sigterm "instructions per sigaction(SIGTERM)" ""
	instructions sigusr1 "instructions per sigaction(SIGUSR1), not a trigger signal" ""
	instructions write "instructions per write() (not hooked)" ""
	instructions syscall "instructions per syscall(SYS_getppid), a number passed on" ""
	# The musl build (make musl), in bench/cycle built as a musl program.
	if [ -x "$B/musl/cycle" ] && [ -f "$MUSL_LIB" ] &&
		[ -x "$VG_LIB/callgrind-amd64-linux" ]; then
		instructions accept "musl: instructions per accept4 + close" "" musl
		instructions accept-mt "musl: the same, with a second thread" "" musl
		instructions sigterm "musl: instructions per sigaction(SIGTERM)" "" musl
		instructions write "musl: instructions per write() (not hooked)" "" musl
	else
		NOTES+=("The musl rows were not measured: no musl build (make musl), or no" \
			"$VG_LIB/callgrind-amd64-linux." "")
	fi
	NOTES+=("### Where the extra instructions go" ""
		"callgrind, self cost per call of each function, with minus without lastcall (code a" \
		"function inlines is counted in it; \`accept4 (lastcall)\` is the hook)." \
		"In a program with one thread, glibc keeps its single-threaded paths beside lastcall's" \
		"cleanup thread (docs/design.md, \"One thread in glibc's eyes\"), so both rows are" \
		"lastcall's own functions; a row of \`__pthread_*_asynccancel\` in \`cycle accept\` would" \
		"mean glibc took its multi-threaded path. Line by line: \`callgrind_annotate --auto=yes" \
		"build/bench/cg/accept-mt.$N2.with\`." "")
	local mode
	for mode in accept accept-mt sigterm; do
		NOTES+=("\`cycle $mode\`:" "" '```')
		mapfile -t -O "${#NOTES[@]}" NOTES < <(breakdown "$mode")
		NOTES+=('```' "")
	done
}

# --- 2. Throughput (wrk) ------------------------------------------------------------------

# cpu_ns PID: the CPU time the process has used, all its threads, in ns (bench/cpu.c).
cpu_ns() {
	"$B/cpu" "$1" || fail "process $1 is gone"
}

# time_wait: TCP sockets in TIME_WAIT on this host (a sock_diag dump walks them all).
time_wait() {
	awk '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "tw") print $(i + 1) }' \
		/proc/net/sockstat
}

# listening PORT: whether something accepts connections on 127.0.0.1:PORT.
listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# lighttpd_conf NAME PORT: a configuration serving build/bench/www/index.html ("hello\n").
lighttpd_conf() {
	mkdir -p "$B/www"
	echo hello >"$B/www/index.html"
	cat >"$B/$1.conf" <<CONF
server.document-root = "$B/www"
server.bind = "127.0.0.1"
server.port = $2
server.errorlog = "$B/$1.error"
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html")
CONF
}

# start_server NAME with|without epoll|lighttpd: starts it on SERVER_CPU, with SIGPIPE ignored
# (as most servers do; the examples do not, and wrk closing its connections at the end of a run
# would kill them); sets PID and PORT.
start_server() {
	local name=$1 preload='' tries end
	[ "$2" = with ] && preload=$LIB
	for tries in 1 2 3 4 5; do
		rm -f "$B/$name.port"
		if [ "$3" = lighttpd ]; then
			# lighttpd cannot take port 0: a random one, tried again if taken.
			PORT=$((20000 + RANDOM % 10000))
			listening "$PORT" && continue
			lighttpd_conf "$name" "$PORT"
			(trap '' PIPE && LD_PRELOAD=$preload exec taskset -c "$SERVER_CPU" \
				/usr/sbin/lighttpd -D -f "$B/$name.conf" >"$B/$name.log" 2>&1) &
		else
			(trap '' PIPE && LD_PRELOAD=$preload exec taskset -c "$SERVER_CPU" "$EX/$3" \
				--port 0 --port-file "$B/$name.port" >"$B/$name.log" 2>&1) &
		fi
		PID=$!
		PIDS+=("$PID")
		end=$(($(now_ms) + 5000))
		while [ "$(now_ms)" -lt "$end" ] && kill -0 "$PID" 2>/dev/null; do
			if [ "$3" = lighttpd ]; then
				listening "$PORT" && return 0
			elif [ -s "$B/$name.port" ]; then
				PORT=$(cat "$B/$name.port")
				return 0
			fi
			sleep 0.01
		done
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	done
	fail "$name did not start ($tries tries): $(cat "$B/$name.log")"
}

# stop_server PID: SIGTERM, then SIGKILL if it is still there 10 s later.
stop_server() {
	local end=$(($(now_ms) + 10000))
	kill -TERM "$1" 2>/dev/null
	while kill -0 "$1" 2>/dev/null && [ "$(now_ms)" -lt "$end" ]; do
		sleep 0.01
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# wrk_run PID PORT PATH SECONDS [HEADER]: prints "REQUESTS_PER_S CPU_NS_PER_REQUEST ERRORS".
wrk_run() {
	local c0 c1 out
	c0=$(cpu_ns "$1") || exit 1
	out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c32 -d"$4"s ${5:+-H "$5"} \
		"http://127.0.0.1:$2$3" 2>&1) || fail "wrk: $out"
	c1=$(cpu_ns "$1") || exit 1
	awk -v cpu=$((c1 - c0)) '
		/ requests in / { n = $1 }
		/^Requests\/sec:/ { rps = $2 }
		/Socket errors:|Non-2xx/ { err += 1 }
		END { printf "%s %.0f %d\n", rps, n ? cpu / n : 0, err }' <<<"$out"
}

# throughput NAME SERVER PATH [HEADER]: PAIRS pairs of runs, without (A) and with (B) lastcall
# (B without it too if SECOND=without), in the order A B, B A, A B... so that a drift of the
# machine does not favour one side.
throughput() {
	local name=$1 pa pb porta portb i ratios=() cpus=() a b ra rb ca cb ea eb errs=0
	start_server "$name-a" without "$2"
	pa=$PID porta=$PORT
	start_server "$name-b" "${SECOND:-with}" "$2"
	pb=$PID portb=$PORT
	wrk_run "$pa" "$porta" "$3" 1 "${4:-}" >/dev/null || exit 1 # warm-up
	wrk_run "$pb" "$portb" "$3" 1 "${4:-}" >/dev/null || exit 1
	for ((i = 0; i < PAIRS; i++)); do
		if ((i % 2 == 0)); then
			a=$(wrk_run "$pa" "$porta" "$3" "$SECONDS_PER_RUN" "${4:-}") || exit 1
			b=$(wrk_run "$pb" "$portb" "$3" "$SECONDS_PER_RUN" "${4:-}") || exit 1
		else
			b=$(wrk_run "$pb" "$portb" "$3" "$SECONDS_PER_RUN" "${4:-}") || exit 1
			a=$(wrk_run "$pa" "$porta" "$3" "$SECONDS_PER_RUN" "${4:-}") || exit 1
		fi
		echo "$name pair $i: without $a; with $b" >>"$B/throughput.log"
		read -r ra ca ea <<<"$a"
		read -r rb cb eb <<<"$b"
		ratios+=("$(calc "$rb / $ra")")
		cpus+=("$(calc "$cb / $ca")")
		RPS_A+=("$ra") RPS_B+=("$rb") CPU_A+=("$ca") CPU_B+=("$cb")
		errs=$((errs + ea + eb))
	done
	stop_server "$pa"
	stop_server "$pb"
	RATIO=$(median "${ratios[@]}") RATIO_SPREAD=$(spread "${ratios[@]}")
	CPU_RATIO=$(median "${cpus[@]}") CPU_SPREAD=$(spread "${cpus[@]}")
	ERRORS=$errs
}

# median X...: the median; spread X...: "MIN-MAX".
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

spread() {
	printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 }
		END { printf "%.3f-%.3f", lo, hi }'
}

# scenario NAME WHAT SERVER PATH [HEADER]: two rows, requests per second and CPU per request.
# With SECOND=without, both servers run without lastcall: the noise floor, for information.
scenario() {
	local RPS_A=() RPS_B=() CPU_A=() CPU_B=() RATIO RATIO_SPREAD CPU_RATIO CPU_SPREAD ERRORS
	local target=">= 0.99" result
	throughput "$1" "$3" "$4" "${5:-}"
	result=$(verdict "$RATIO >= 0.99")
	[ "${SECOND:-with}" = without ] && target=- result=info
	row 2 "$2: requests/s" "$(median "${RPS_A[@]}" | cut -d. -f1)" \
		"$(median "${RPS_B[@]}" | cut -d. -f1)" "x$RATIO ($RATIO_SPREAD)" "$target" "$result"
	row 2 "$2: server CPU us per request" \
		"$(calc "sprintf(\"%.2f\", $(median "${CPU_A[@]}") / 1000)")" \
		"$(calc "sprintf(\"%.2f\", $(median "${CPU_B[@]}") / 1000)")" \
		"x$CPU_RATIO ($CPU_SPREAD)" - info
	[ "$ERRORS" = 0 ] || NOTES+=("wrk reported socket errors or non-2xx replies in $ERRORS runs of $1." "")
}

bench_throughput() {
	echo "== 2. throughput (wrk, $PAIRS pairs of ${SECONDS_PER_RUN} s; server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU)" >&2
	: >"$B/throughput.log"
	scenario epoll-close "epoll, a connection per request" epoll / "Connection: close"
	scenario epoll-keepalive "epoll, keep-alive" epoll /
	scenario lighttpd-close "lighttpd, a connection per request" lighttpd /index.html \
		"Connection: close"
	scenario lighttpd-keepalive "lighttpd, keep-alive" lighttpd /index.html
	SECOND=without scenario noise \
		"noise floor: epoll, a connection per request, both servers without lastcall" \
		epoll / "Connection: close"
}

# --- 3 and 4. Stop latency, drain end latency ----------------------------------------------

# field LINE NAME: the value after NAME in "... NAME VALUE ...".
field() {
	awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' <<<"$1"
}

# pct LINE [CPU MS]: 100 * CPU / MS of a scale quiet line (default: quiet / quiet_ms), 1 decimal.
pct() {
	calc "sprintf(\"%.1f\", 100 * $(field "$1" "${2:-quiet}") / $(field "$1" "${3:-quiet_ms}"))"
}

# idle_row TARGET [MADE]: one figure 3 row at the host's TIME_WAIT sockets as they are now (MADE
# of them made for it). TARGET "-" makes it information only.
idle_row() {
	local out without with tw diff what result=info
	tw=$(time_wait)
	what="$tw sockets in TIME_WAIT on the host${2:+, $2 of them made for it}"
	echo "== 3. stop latency, idle ($RUNS runs each way, $what)" >&2
	out=$("$B/stop" idle "$RUNS" "$LIB" "$EX/epoll" 2>>"$B/stop-idle.log") ||
		fail "stop idle: $(tail -5 "$B/stop-idle.log")"
	echo "$out" >>"$B/stop-idle.out"
	without=$(grep '^without ' <<<"$out") with=$(grep '^with ' <<<"$out")
	diff=$(calc "$(field "$with" median) - $(field "$without" median)")
	[ "$1" = - ] || result=$(verdict "$diff <= 2")
	row 3 "stop when idle: SIGTERM to process gone, ms (median of $RUNS; $what)" \
		"$(field "$without" median)" "$(field "$with" median)" \
		"$(calc "sprintf(\"%+.3f\", $diff)")" "$1" "$result"
}

# stop_idle [busy]: figure 3. A drain counts the connections each listener has not handed out
# yet from the listener's line in /proc/net/tcp, which costs what the host's listeners cost and
# not what its connections do, so it is measured at the host's TIME_WAIT sockets as they are and
# with 100,000 more (within net.ipv4.tcp_max_tw_buckets), made by bench/stop.c and removed after
# (ss -K; else they expire within 60 s). "busy": once more after the throughput runs, which leave
# tens of thousands, for information.
stop_idle() {
	local room made forget='timeout 30 ss -K -tn state time-wait dst 127.1.0.0/16 >/dev/null 2>&1'
	if [ -n "${1:-}" ]; then
		idle_row -
		return
	fi
	: >"$B/stop-idle.log"
	idle_row "<= +2"
	room=$(($(sysctl -n net.ipv4.tcp_max_tw_buckets 2>/dev/null || echo 0) - $(time_wait)))
	if [ "$room" -lt 101000 ]; then
		NOTES+=("Figure 3: net.ipv4.tcp_max_tw_buckets leaves room for $room more sockets in" \
			"TIME_WAIT on this host, not 100,000: $((room > 1000 ? room - 1000 : 0)) made." "")
		[ "$room" -gt 1000 ] || return
	fi
	# shellcheck disable=SC2064 # $forget now: it is local
	trap "$forget; cleanup" EXIT # should a row fail, the sockets made go all the same
	made=$("$B/stop" timewait $((room < 101000 ? room - 1000 : 100000))) ||
		fail "stop timewait: $made"
	echo "   ($made)" >&2
	idle_row "<= +2" "$(field "$made" made)"
	trap cleanup EXIT
	eval "$forget" || NOTES+=("Figure 3: the sockets in TIME_WAIT made for it could not be" \
		"removed (ss -K); they expire within 60 s." "")
}

# drain_end: figure 4.
drain_end() {
	local out without with
	echo "== 4. drain end latency ($RUNS runs each way)" >&2
	out=$("$B/stop" drain "$RUNS" "$LIB" "$EX/epoll" 2>"$B/stop-drain.log") ||
		fail "stop drain: $(tail -5 "$B/stop-drain.log")"
	echo "$out" >"$B/stop-drain.out"
	without=$(grep '^without ' <<<"$out") with=$(grep '^with ' <<<"$out")
	row 4 "drain end: last reply's end-of-file to process gone, ms (median of $RUNS)" \
		"reply lost in $(field "$without" lost) of $RUNS" \
		"$(field "$with" median) ($(field "$with" lost) lost)" \
		"max $(field "$with" max)" "<= 2" \
		"$(verdict "$(field "$with" median) <= 2 && $(field "$with" lost) == 0")"
	drain_end_node
}

# drain_end_node: figure 4 for Node.js, which closes its sockets with syscall(SYS_close, fd).
# Its own exit is slower than the examples' (a V8 heap to unmap): measured in the same run, as
# SIGTERM to gone when idle without lastcall, and taken off.
drain_end_node() {
	local out idle own with lastcall
	local node=(/usr/bin/node "$ROOT/bench/node-server.js")
	echo "== 4. drain end latency, Node.js ($RUNS runs each way)" >&2
	idle=$("$B/stop" idle "$RUNS" "$LIB" "${node[@]}" 2>"$B/stop-node-idle.log") &&
		out=$("$B/stop" drain "$RUNS" "$LIB" "${node[@]}" 2>"$B/stop-node-drain.log") ||
		fail "stop, Node.js: $(tail -5 "$B/stop-node-idle.log" "$B/stop-node-drain.log")"
	echo "$idle" >"$B/stop-node-idle.out"
	echo "$out" >"$B/stop-node-drain.out"
	own=$(field "$(grep '^without ' <<<"$idle")" median)
	with=$(grep '^with ' <<<"$out")
	lastcall=$(calc "sprintf(\"%.3f\", $(field "$with" median) - $own)")
	row 4 "drain end, Node.js: the same, ms (median of $RUNS); Node's own exit (SIGTERM to gone, idle, without lastcall) taken off" \
		"reply lost in $(field "$(grep '^without ' <<<"$out")" lost) of $RUNS; own exit $own" \
		"$(field "$with" median) ($(field "$with" lost) lost)" "lastcall's part $lastcall" "<= 2" \
		"$(verdict "$lastcall <= 2 && $(field "$with" lost) == 0")"
}

# --- 5. Scale ------------------------------------------------------------------------------

bench_scale() {
	local out without with hard big per small_d big_d slope
	echo "== 5. scale ($CONNS connections in flight)" >&2
	hard=$(ulimit -Hn)
	[ "$hard" = unlimited ] && hard=1048576
	out=$("$B/scale" load "$CONNS" "$LIB" "$EX/epoll" --backlog 4096 2>"$B/scale.log") ||
		fail "scale: $(tail -5 "$B/scale.log")"
	echo "$out" >"$B/scale.out"
	without=$(grep '^without ' <<<"$out") with=$(grep '^with ' <<<"$out")
	row 5 "$CONNS requests in flight at SIGTERM: whole replies" \
		"$(field "$without" ok) ($(field "$without" lost) lost)" \
		"$(field "$with" ok) ($(field "$with" lost) lost)" "" "0 lost" \
		"$(verdict "$(field "$with" lost) == 0")"
	row 5 "the same: SIGTERM to last reply / to process gone, ms (replies due 1000 ms after sending)" \
		"- / $(field "$without" gone)" "$(field "$with" last) / $(field "$with" gone)" \
		"last reply to gone: $(calc "sprintf(\"%.1f\", $(field "$with" gone) - $(field "$with" last))")" \
		- info
	per=$(calc "sprintf(\"%.1f\", (($(field "$with" anon1) - $(field "$with" anon0)) - \
		($(field "$without" anon1) - $(field "$without" anon0))) * 1024 / $CONNS)")
	row 5 "memory per tracked connection: anonymous RSS growth for $CONNS connections, KB" \
		"$(($(field "$without" anon1) - $(field "$without" anon0)))" \
		"$(($(field "$with" anon1) - $(field "$with" anon0)))" "$per B per connection" "<= 64 B" \
		"$(verdict "$per <= 64")"

	# Connections quiet but busy by the idle rule: the cleanup thread's CPU while they are.
	if [ -f "$BEFORE" ]; then
		out=$("$B/scale" quiet "$CONNS" "$LIB" "$BEFORE" "$EX/epoll" --backlog 4096 \
			2>>"$B/scale.log") || fail "scale quiet: $(tail -5 "$B/scale.log")"
		echo "$out" >>"$B/scale.out"
		without=$(grep '^before ' <<<"$out") with=$(grep '^with ' <<<"$out")
		row 5 "$CONNS replies streamed 1 s apart (quiet, busy by the idle rule) at SIGTERM: cleanup thread CPU while they are quiet, % of a core (before: the library of $BEFORE_COMMIT, LASTCALL_IDLE=2s)" \
			"$(pct "$without") ($(field "$without" lost) lost)" \
			"$(pct "$with") ($(field "$with" lost) lost)" \
			"whole drain: $(pct "$without" cpu drain)% -> $(pct "$with" cpu drain)%" "< 5 %" \
			"$(verdict "$(pct "$with") < 5 && $(field "$with" lost) == 0")"
	else
		NOTES+=("Figure 5's quiet-connections row needs $BEFORE (git history of" \
			"$BEFORE_COMMIT): not built here, so not measured." "")
	fi

	# An idle server at a large RLIMIT_NOFILE: 1048576 if this machine allows it.
	big=1048576
	if ! prlimit --nofile=$big:$big true 2>/dev/null; then
		big=$hard
		NOTES+=("RLIMIT_NOFILE could not be raised to 1048576 here (hard limit $hard, no" \
			"CAP_SYS_RESOURCE): the idle-memory rows use $big." "")
	fi
	out=$("$B/scale" idle 1024 5 "$LIB" "$EX/epoll" 2>>"$B/scale.log") ||
		fail "scale idle: $(tail -5 "$B/scale.log")"
	out+=$'\n'$("$B/scale" idle "$big" 5 "$LIB" "$EX/epoll" 2>>"$B/scale.log") ||
		fail "scale idle: $(tail -5 "$B/scale.log")"
	echo "$out" >>"$B/scale.out"
	small_d=$(awk '$3 == 1024 { a[$1] = $7 } END { print a["with"] - a["without"] }' <<<"$out")
	big_d=$(awk -v n="$big" '$3 == n { a[$1] = $7 } END { print a["with"] - a["without"] }' <<<"$out")
	slope=$(calc "sprintf(\"%.2f\", ($big_d - $small_d) * 1024 / ($big - 1024))")
	row 5 "idle server, anonymous RSS with minus without, KB: RLIMIT_NOFILE 1024 / $big" \
		"+$small_d" "+$big_d" "$slope B per fd of the limit" "< 1 B (8 if proportional)" \
		"$(verdict "$slope < 1")"
	row 5 "idle server at RLIMIT_NOFILE $big: kernel fd table (FDSize slots, 8 B each)" \
		"$(awk -v n="$big" '$1 == "without" && $3 == n { print $9 }' <<<"$out")" \
		"$(awk -v n="$big" '$1 == "with" && $3 == n { print $9 }' <<<"$out")" \
		"$(awk -v n="$big" '$3 == n { a[$1] = $9 }
			END { printf "%+d KB", (a["with"] - a["without"]) * 8 / 1024 }' <<<"$out")" \
		"not proportional to the limit" \
		"$(awk -v n="$big" '$3 == n { a[$1] = $9 }
			END { print (a["with"] - a["without"] > n / 4) ? "miss" : "pass" }' <<<"$out")"
}

# --- 6. The picture ------------------------------------------------------------------------

bench_picture() {
	local out without with
	echo "== 6. requests around SIGTERM (picture)" >&2
	out=$("$B/load" 100 "$B/sigterm.dat" "$LIB" "$EX/epoll" --backlog 1024 2>"$B/load.log") ||
		fail "load: $(tail -5 "$B/load.log")"
	echo "$out" >"$B/load.out"
	without=$(grep '^without ' <<<"$out") with=$(grep '^with ' <<<"$out")
	gnuplot -e "data='$B/sigterm.dat'; out='$OUT/sigterm.png'; gone0=$(field "$without" gone); \
		gone1=$(field "$with" gone); note='lost: $(field "$without" lost) without lastcall, \
$(field "$with" lost) with it'" bench/sigterm.gp || fail "gnuplot failed"
	row 6 "under load (100 clients), requests lost at SIGTERM (sigterm.png)" \
		"$(field "$without" lost)" "$(field "$with" lost)" "" "0 lost" \
		"$(verdict "$(field "$with" lost) == 0")"
}

# --- 7. Restarts (lastcall --restart-on) ------------------------------------------------------

# median_in: the median of the numbers on stdin (median above takes arguments).
median_in() {
	sort -n | awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : "-" }'
}

# bench_restart: figure 7. The epoll example with a reply streamed over 2 s in flight at each
# restart. Without lastcall a restart is SIGTERM, then a new server: the signal to the new one
# listening, and to the old one gone (at once: it dies, its reply cut). With lastcall
# --restart-on HUP: the signal to the new generation serving, and to the old one gone after its
# drain (the parent's log lines).
bench_restart() {
	local n=${BENCH_RESTARTS:-10} i port t0 pid sp new ready gone lost=0 stream
	echo "== 7. restarts ($n each way)" >&2
	stream=(python3 "$ROOT/tests/lib/client.py" --count 1 --path /stream/4/500 --timeout 10)
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	: >"$B/restart-bare.ms"
	"$EX/epoll" --port "$port" >/dev/null 2>&1 &
	pid=$!
	PIDS+=("$pid")
	until listening "$port"; do sleep 0.01; done
	for ((i = 0; i < n; i++)); do
		"${stream[@]}" --port "$port" >"$B/restart-stream.out" 2>&1 &
		sp=$!
		sleep 0.2
		t0=$(now_ms)
		kill -TERM "$pid"
		while kill -0 "$pid" 2>/dev/null; do sleep 0.001; done
		gone=$(($(now_ms) - t0))
		wait "$pid" 2>/dev/null
		"$EX/epoll" --port "$port" >/dev/null 2>&1 &
		pid=$!
		PIDS+=("$pid")
		until listening "$port"; do sleep 0.001; done
		echo "$(($(now_ms) - t0)) $gone" >>"$B/restart-bare.ms"
		wait "$sp" || lost=$((lost + 1))
	done
	stop_server "$pid"
	env LASTCALL_LIBRARY="$LIB" "$ROOT/bin/lastcall" --restart-on HUP "$EX/epoll" --port "$port" \
		>"$B/restart.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	until listening "$port"; do sleep 0.01; done
	for ((i = 1; i <= n; i++)); do
		"${stream[@]}" --port "$port" >"$B/restart-stream.out" 2>&1 &
		sp=$!
		sleep 0.2
		kill -HUP "$pid"
		new=$(($(date +%s) + 30))
		until [ "$(grep -c 'drained and' "$B/restart.log")" -ge "$i" ] || [ "$(date +%s)" -gt "$new" ]; do
			sleep 0.01
		done
		wait "$sp" || NOTES+=("figure 7: a streamed reply failed during restart $i")
	done
	stop_server "$pid"
	ready=$(sed -n 's/.*ready after \([0-9]*\) ms.*/\1/p' "$B/restart.log" | median_in)
	gone=$(sed -n 's/.*drained and .*, \([0-9]*\) ms after the restart signal.*/\1/p' "$B/restart.log" | median_in)
	row 7 "restart: signal to the new server serving, ms (median of $n)" \
		"$(cut -d' ' -f1 "$B/restart-bare.ms" | median_in)" "$ready" "" "-" info
	row 7 "restart: signal to the old server gone, ms (median of $n; a 2 s reply in flight)" \
		"$(cut -d' ' -f2 "$B/restart-bare.ms" | median_in) (reply cut in $lost of $n)" "$gone" \
		"" "-" info
}

# --- 8. Instructions per request of real servers (callgrind) --------------------------------

# cg_start NAME with|without lighttpd|node: starts the server under callgrind with its
# instrumentation off (it runs several times faster until requests() turns it on) and waits
# for it to listen; sets PID and PORT. Node's JIT needs no option: valgrind's default,
# --smc-check=all-non-file, already checks code written to anonymous memory.
cg_start() {
	local name=$1 preload='' tries end cmd
	[ "$2" = with ] && preload=$LIB
	for tries in 1 2 3 4 5; do
		# lighttpd cannot take port 0: a random one, tried again if taken.
		PORT=$((20000 + RANDOM % 10000))
		listening "$PORT" && continue
		if [ "$3" = lighttpd ]; then
			lighttpd_conf "$name" "$PORT"
			# A new connection seen with its request in, always: else lighttpd, when it
			# wakes before the request, reads, finds nothing and sleeps once more, as timing
			# has it (TCP_DEFER_ACCEPT; bench/reqs.c).
			echo 'server.defer-accept = 1' >>"$B/$name.conf"
			cmd=(/usr/sbin/lighttpd -D -f "$B/$name.conf")
		else
			cmd=(/usr/bin/node "$ROOT/bench/node-server.js" "$PORT")
		fi
		rm -f "$B/cg/$name" "$B/cg/$name".[0-9]*
		env LD_PRELOAD="$preload" valgrind --tool=callgrind --instr-atstart=no \
			--trace-children=no --callgrind-out-file="$B/cg/$name" "${cmd[@]}" \
			>"$B/cg/$name.log" 2>&1 &
		PID=$!
		PIDS+=("$PID")
		# Node takes 2 to 7 s to start under valgrind.
		end=$(($(now_ms) + 60000))
		while [ "$(now_ms)" -lt "$end" ] && kill -0 "$PID" 2>/dev/null; do
			listening "$PORT" && return 0
			sleep 0.05
		done
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	done
	fail "$name did not start under callgrind ($tries tries): $(tail -5 "$B/cg/$name.log")"
}

# cg_control PID OPTION...: callgrind_control, which reaches a server blocked in epoll_wait
# through vgdb, with a deadline.
cg_control() {
	local pid=$1
	shift
	timeout 60 callgrind_control "$@" "$pid" >>"$B/cg/control.log" 2>&1 ||
		fail "callgrind_control $* $pid failed: $(tail -3 "$B/cg/control.log")"
}

# load N SECONDS: N requests to each server of requests() at once, one at a time per server and
# each after the server has gone back to sleep (bench/reqs.c), in SECONDS at most.
load() {
	local i clients=()
	for i in "${!pids[@]}"; do
		"$B/reqs" "${ports[i]}" "$1" "$mode" "$2" "$path" "${pids[i]}" \
			>>"$B/cg/${names[i]}.reqs" 2>&1 &
		clients+=("$!")
	done
	for i in "${!clients[@]}"; do
		wait "${clients[i]}" || fail "${names[i]}: $(tail -1 "$B/cg/${names[i]}.reqs")"
	done
}

# cg_count DUMP: "IR OWN", the instructions per request in a callgrind dump of REQUESTS
# requests, all the server's threads, and the self cost of lastcall's functions among them:
# those of liblastcall.so, and code inlined from lastcall's headers, which callgrind_annotate
# lists under the header, without the object, and relative to the current directory.
cg_count() {
	local ir own
	ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$1")
	[ -n "$ir" ] || fail "no count in $1"
	own=$(callgrind_annotate --threshold=100 --auto=no "$1" | awk -v root="$ROOT" '
		$1 ~ /^[0-9,]+$/ {
			where = $0
			sub(/^[^)]*\)  */, "", where)
			if (index(where, root "/") == 1)
				where = substr(where, length(root) + 2)
			if (where ~ /^(shim|include)\// || where ~ /liblastcall\.so\]$/) {
				gsub(",", "", $1)
				own += $1
			}
		}
		END { print own + 0 }')
	calc "sprintf(\"%.1f %.1f\", $ir / $REQUESTS, $own / $REQUESTS)"
}

# requests SERVER MODE WHAT TARGET: figure 8's rows for one server and mode; TARGET is the most
# extra allowed, in %. Three servers run at once under callgrind: without lastcall, with it, and
# without it again for the noise row (callgrind's counts do not depend on the machine's load).
# Instrumentation is off until the warm-up is over and nothing is counted while it is off, so no
# zeroing is needed; what an idle server does between the commands is counted (lighttpd: about
# 3,000 instructions a second).
requests() {
	local mode=$2 path=/ ways=(without with without) name i pids=() ports=() names=() counts=()
	local t0=$SECONDS diff own a b a2
	[ "$1" = lighttpd ] && path=/index.html
	# Names of one length: a longer path to lighttpd's configuration moved its count by 4
	# instructions a request (memcmp's path depends on where its strings lie).
	for i in 0 1 2; do
		name=req-$1-$2-$i
		cg_start "$name" "${ways[i]}" "$1"
		# With valgrind, LD_PRELOAD reaches the server: the library is mapped, or not.
		if grep -q liblastcall.so "/proc/$PID/maps"; then
			[ "${ways[i]}" = with ] || fail "$name: liblastcall.so is loaded without lastcall"
		else
			[ "${ways[i]}" = without ] || fail "$name: liblastcall.so is not loaded"
		fi
		pids+=("$PID") ports+=("$PORT") names+=("$name")
		: >"$B/cg/$name.reqs"
	done
	# Node's JIT settles only after several connections: after one of 20,000 requests, the
	# first 4,000 on a new one still cost 4 times more. Five runs, so five connections or more.
	for ((i = 0; i < 5; i++)); do
		load 1000 120
	done
	for i in "${!pids[@]}"; do
		cg_control "${pids[i]}" -i on
	done
	load "$REQUESTS" $((60 + REQUESTS / 100))
	for i in "${!pids[@]}"; do
		cg_control "${pids[i]}" -d
		stop_server "${pids[i]}"
		counts+=("$(cg_count "$B/cg/${names[i]}.1")")
		echo "${names[i]} (${ways[i]} lastcall):" \
			"$(tail -1 "$B/cg/${names[i]}.reqs"); instructions per request, all and" \
			"lastcall's: ${counts[i]}" >>"$B/requests.log"
	done
	echo "$1 $2: $((SECONDS - t0)) s" >>"$B/requests.log"
	read -r a _ <<<"${counts[0]}"
	read -r b own <<<"${counts[1]}"
	read -r a2 _ <<<"${counts[2]}"
	diff=$(calc "100 * ($b - $a) / $a")
	row 8 "$3: instructions per request ($REQUESTS requests)" "$(calc "sprintf(\"%.0f\", $a)")" \
		"$(calc "sprintf(\"%.0f\", $b)")" "$(calc "sprintf(\"%+.2f %%\", $diff)")" \
		"<= +$4 %" "$(verdict "$diff <= $4")"
	row 8 "$3: noise, the same without lastcall in a third server" \
		"$(calc "sprintf(\"%.0f\", $a)")" "$(calc "sprintf(\"%.0f\", $a2)")" \
		"$(calc "sprintf(\"%+.2f %%\", 100 * ($a2 - $a) / $a)")" - info
	row 8 "$3: lastcall's own instructions per request (self cost of its functions)" - \
		"$own" "$(calc "sprintf(\"%.2f %% of with\", 100 * $own / $b)")" - info
	# Per function, only for lighttpd: Node's JIT code lies at other addresses in each process,
	# and its garbage collector does not do the same work in each.
	if [ "$1" = lighttpd ]; then
		NOTES+=("\`$3\` (figure 8), per request:" "" '```')
		mapfile -t -O "${#NOTES[@]}" NOTES < <(requests_breakdown "${names[1]}" "${names[0]}")
		NOTES+=('```' "")
	fi
}

# requests_breakdown WITH WITHOUT: where the extra instructions per request go, by function: the
# self cost per request of each, with minus without (bench/breakdown.awk, as for figure 1).
requests_breakdown() {
	{
		callgrind_annotate --threshold=100 --auto=no "$B/cg/$1.1" | sed "s/^/with $REQUESTS /"
		callgrind_annotate --threshold=100 --auto=no "$B/cg/$2.1" |
			sed "s/^/without $REQUESTS /"
	} | awk -v root="$ROOT" -v n1=0 -v n2="$REQUESTS" -f bench/breakdown.awk |
		sort -k1,1nr | awk -F'\t' '{ printf "%+6d  %s\n", $1, $2 }'
}

bench_requests() {
	echo "== 8. instructions per request (callgrind, $REQUESTS requests one at a time)" >&2
	: >"$B/requests.log"
	: >"$B/cg/control.log"
	NOTES+=("### Where figure 8's extra instructions go" ""
		"callgrind, self cost per request of each function, with minus without lastcall, in" \
		"lighttpd (code a function inlines is counted in it). lighttpd has one thread, and glibc" \
		"keeps its single-threaded paths beside lastcall's cleanup thread (figure 1); before it" \
		"did, \`__pthread_*_asynccancel\` and glibc's longer system call wrappers were most of" \
		"the difference. Node.js has threads of its own already." "")
	requests lighttpd keep-alive "lighttpd, keep-alive" 1
	requests lighttpd close "lighttpd, a connection per request" 2
	requests node keep-alive "Node.js, keep-alive" 1
	requests node close "Node.js, a connection per request" 2
}

# --- The table -----------------------------------------------------------------------------

# table: the rows as a Markdown table, columns padded so that it reads as well in a terminal.
table() {
	{
		echo "#|figure|without lastcall|with lastcall|difference or ratio (spread)|target|result"
		echo "-|-|-|-|-|-|-"
		printf '%s\n' "${ROWS[@]}" | sort -t'|' -k1,1n -s
	} | awk -F'|' '
		{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; w = length($i)
			if (w > width[i]) width[i] = w } ; nf = NF > nf ? NF : nf }
		END {
			for (r = 1; r <= NR; r++) {
				line = "|"
				for (i = 1; i <= nf; i++) {
					c = cell[r, i]
					if (r == 2) { c = ""; while (length(c) < width[i]) c = c "-" }
					line = line sprintf(" %-*s |", width[i], c)
				}
				print line
			}
		}'
}

# wanted N: whether figure N is to run (bench/run.sh [N...]; all of them by default).
wanted() {
	[ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]
}

# The quiet figures first: the throughput runs leave the host with many TIME_WAIT sockets.
ONLY="$*"
: >"$B/stop-idle.out"
wanted 1 && bench_instructions
wanted 3 && stop_idle
wanted 4 && drain_end
wanted 5 && bench_scale
wanted 6 && bench_picture
wanted 7 && bench_restart
wanted 8 && bench_requests
wanted 2 && bench_throughput
wanted 3 && wanted 2 && stop_idle busy

ELAPSED=$(((${EPOCHREALTIME/./} - START) / 1000000))
{
	echo "# lastcall benchmarks"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null)$(
		git status --porcelain shim include 2>/dev/null | grep -q . &&
			echo ' with uncommitted changes to shim/ or include/')," \
		"$(nproc) CPUs, Linux $(uname -r), glibc $(ldd --version | awk 'NR == 1 { print $NF }')," \
		"$ELAPSED s. How to read it: bench/README.md."
	echo
	table
	echo
	echo "Throughput: $PAIRS pairs of ${SECONDS_PER_RUN}-second wrk runs (\`wrk -t1 -c32\`), the" \
		"server pinned to CPU $SERVER_CPU and wrk to CPU $CLIENT_CPU with taskset; the ratio is" \
		"the median of the per-pair ratios (with / without), the spread their minimum and maximum."
	echo
	printf '%s\n' "${NOTES[@]}"
} >"$B/latest.md"
table
echo
# Only a run of every figure makes the results file.
if [ -z "$ONLY" ]; then
	cp "$B/latest.md" "$OUT/latest.md"
	echo "bench: $ELAPSED s; the table, with notes and where the extra instructions go, is in" \
		"${OUT#"$ROOT"/}/latest.md"
else
	echo "bench: $ELAPSED s; figures $ONLY only, written to ${B#"$ROOT"/}/latest.md"
fi
