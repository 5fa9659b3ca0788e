#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Soak: tests/soak/soak.sh [CYCLES] (default $SOAK_CYCLES, else 1000). Each cycle starts a server
# under lastcall, answers K quick requests, takes K slow ones, gets SIGTERM and drains, rotating
# over the server models below. What goes wrong only now and then, or only after many cycles: a
# request lost (a race in intake stop, hand-back or the drain's wake-up), a drain that hangs, a
# process of the tree left running or unreaped, an fd lastcall leaks per connection. Counted:
#   lost     a request (quick or in flight) that did not get its whole 200 reply;
#   hangs    a cycle not over within CYCLE_MS: the server, a reply or a drain never came;
#   leaked   the server's fds (its tree's, where workers serve) not back to the baseline once the
#            quick requests are answered, not exactly baseline + K with K in flight, or a
#            baseline other than in the model's first cycle;
#   zombies  processes of the tree left unreaped when the server ended (left: still running);
#   other    a wait status not as without lastcall, or lastcall's summary lines not accounting
#            for every connection in flight (one summary per drain, none cut at the deadline).
# The slow requests are sent but for their last line, which follows once every drain has
# started: they are in flight when the signal comes however slow the machine, then take DELAY
# ms inside the drain. The client is bash's /dev/tcp, so a cycle forks no client process. One
# summary line at the end; exit 1 if a cycle failed or the run overran LIMIT_S.
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"

CYCLES=${1:-${SOAK_CYCLES:-1000}}
K=${SOAK_REQUESTS:-4}              # requests per round
DELAY=${SOAK_DELAY:-100}           # ms: /delay/DELAY in flight at the signal
CYCLE_MS=${SOAK_CYCLE_MS:-10000}   # each cycle's bound
LIMIT_S=${SOAK_LIMIT_S:-$((60 + 2 * CYCLES))} # the whole run's bound
MAX_FAILED=${SOAK_MAX_FAILED:-10}  # stop after this many failed cycles
read -ra MODELS <<<"${SOAK_MODELS:-threaded pool epoll epoll-edge prefork forking http.server}"
export SPAWN_MODE=-r LASTCALL_LOG=info
[[ $CYCLES =~ ^[1-9][0-9]*$ ]] || fail "usage: soak.sh [CYCLES]"
trap '' PIPE # a write to a connection the server has reset fails; it does not end the soak

WWW=$T/www
mkdir -p "$WWW"
printf 'hello\n' >"$WWW/hello"

# model NAME: sets CMD (the server), STATUS_WANT (its end, as without lastcall), SLOW and BODY
# (the path of the requests in flight and their reply's body), DRAINS (the drains a signal
# starts: a pre-fork master passes it to each worker), FDS (tree: the tree's fds, K more in
# flight; main: the main process's, which stay at the baseline while children serve) and
# ACCOUNT (conns: the summaries' finished connections; children: the main process's ended
# children, one per connection).
model() {
	CMD=("$EX/$1") STATUS_WANT="signal 15" SLOW=/delay/$DELAY BODY="delayed $DELAY" DRAINS=1
	FDS=tree ACCOUNT=conns QUICK=/
	case $1 in
	threaded | pool | epoll) ;;
	epoll-edge) CMD=("$EX/epoll" --edge) ;;
	prefork) CMD=("$EX/prefork" --threads "$K") STATUS_WANT="exit 0" DRAINS=$((K + 1)) ;;
	forking) FDS=main ACCOUNT=children ;;
	http.server)
		# No /delay: the requests in flight are for a file.
		CMD=("$PYTHON" -u -m http.server 0 --bind 127.0.0.1 --directory "$WWW")
		SLOW=/hello BODY=hello QUICK=/hello
		;;
	*) fail "unknown model $1" ;;
	esac
}

# start: starts model NAME under lastcall; sets PID and PORT, or returns 1.
start() {
	if [ "$NAME" = http.server ]; then
		spawn "$NAME" "${LASTCALL[@]}" "${CMD[@]}"
		poll_until "$(remaining)" grep -q "port [0-9]" "$T/$NAME.log" || return 1
		PORT=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$T/$NAME.log" | head -1)
	else
		spawn "$NAME" "${LASTCALL[@]}" "${CMD[@]}" --port 0 --port-file "$T/$NAME.port"
		poll_until "$(remaining)" test -s "$T/$NAME.port" || return 1
		PORT=$(cat "$T/$NAME.port")
	fi
}

# remaining: ms left in this cycle.
remaining() {
	echo $((DEADLINE - $(now_ms)))
}

# secs MS: MS as seconds, for read -t.
secs() {
	local ms=$1
	[ "$ms" -gt 0 ] || ms=1
	printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

# fd_count: the server's fds (FDS=main) or its whole tree's (FDS=tree).
fd_count() {
	local p n=0 fds
	# shellcheck disable=SC2153 # PID: set by lib.sh's spawn
	for p in "$PID" $([ "$FDS" = tree ] && descendants "$PID"); do
		fds=(/proc/"$p"/fd/*)
		[ -e "${fds[0]}" ] && n=$((n + ${#fds[@]}))
	done
	echo "$n"
}

fd_is() {
	[ "$(fd_count)" -eq "$1" ]
}

# children_are N: N processes below the server still running (an exited child not yet reaped
# is the program's to reap, when its SIGCHLD handler next runs).
children_are() {
	local kid stat n=0
	for kid in $(descendants "$PID"); do
		{ read -r stat <"/proc/$kid/stat"; } 2>/dev/null || continue
		stat=${stat##*) } # after "pid (comm) ": the state
		[ "${stat%% *}" = Z ] || n=$((n + 1))
	done
	[ "$n" -eq "$1" ]
}

# drains_or_end: every drain has started, or the server has ended (without them).
drains_or_end() {
	[ "$(grep -c 'info: draining on SIGTERM' "$T/$NAME.log")" -ge "$DRAINS" ] ||
		test -s "$T/$NAME.status"
}

# master_waits: a pre-fork master has its SIGTERM handler once it waits for its workers
# (wait4, system call 61), and its workers have all forked.
master_waits() {
	local call
	read -r call _ <"/proc/$PID/syscall" 2>/dev/null && [ "$call" = 61 ] && children_are "$K"
}

# send TEXT: opens K connections to $PORT and writes TEXT on each. Sets CONNS.
send() {
	local fd i
	CONNS=()
	for ((i = 0; i < K; i++)); do
		{ exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null || continue
		CONNS+=("$fd")
		printf '%s' "$1" 1>&"$fd" 2>/dev/null
	done
}

# finish TEXT: writes TEXT on each connection of CONNS.
finish() {
	local fd
	for fd in "${CONNS[@]}"; do
		printf '%s' "$1" 1>&"$fd" 2>/dev/null
	done
}

# reply FD BODY: reads one reply from FD before the cycle's deadline; succeeds if it is a
# 200 whose body is BODY and a newline. Closes FD. Sets WHY on failure.
reply() {
	local fd=$1 want=$2$'\n' line len=-1 body t
	t=$(secs "$(remaining)")
	WHY="no status line"
	if IFS= read -r -t "$t" -u "$fd" line && [[ $line == HTTP/1.?" 200 "* ]]; then
		WHY="no end of head"
		while IFS= read -r -t "$t" -u "$fd" line; do
			line=${line%$'\r'}
			if [ -z "$line" ]; then
				WHY="short body"
				[ "$len" -ge 0 ] && IFS= read -r -N "$len" -t "$t" -u "$fd" body &&
					WHY="wrong body" && [ "$body" = "$want" ] && WHY=
				break
			fi
			[[ ${line,,} =~ ^content-length:\ *([0-9]+) ]] && len=${BASH_REMATCH[1]}
		done
	fi
	exec {fd}>&-
	[ -z "$WHY" ]
}

# replies BODY: reads the reply on each connection of CONNS; counts REQUESTS and LOST_N.
replies() {
	local fd bad=$((K - ${#CONNS[@]}))
	for fd in "${CONNS[@]}"; do
		reply "$fd" "$1" || { bad=$((bad + 1)); note "cycle $CYCLE ($NAME): request lost: $WHY"; }
	done
	CONNS=()
	REQUESTS=$((REQUESTS + K))
	LOST_N=$((LOST_N + bad))
	[ "$bad" -eq 0 ]
}

# accounted: lastcall's summary lines account for the K connections in flight: one summary
# for every drain, K connections finished or closed as idle (or, in a forking server, K
# children ended), none closed at the deadline.
accounted() {
	local log=$T/$NAME.log starts sums got cut
	starts=$(grep -c 'info: draining on SIGTERM' "$log")
	sums=$(summaries "$log")
	if [ "$ACCOUNT" = children ]; then
		got=$(summary_sum "$log" children)
	else
		got=$(($(summary_sum "$log" finished) + $(summary_sum "$log" idle)))
	fi
	cut=$(summary_sum "$log" deadline)
	WHY="drains $starts (want $DRAINS), summaries $sums, accounted ${got:-none} of $K, cut $cut"
	[ "$starts" = "$DRAINS" ] && [ "$sums" = "$DRAINS" ] && [ "${got:-0}" = "$K" ] &&
		[ "$cut" = 0 ]
}

# failed KIND WHY: counts a failed check of KIND (HANGS, LEAKED) and says what it was.
failed() {
	eval "$1=\$(($1 + 1))"
	note "cycle $CYCLE ($NAME): $2"
	return 1
}

# cycle: one start, load, SIGTERM and drain of model NAME, within CYCLE_MS. Returns 1 (and
# says why) on failure; adds to the counters.
cycle() {
	local base want a b
	DEADLINE=$(($(now_ms) + CYCLE_MS))
	model "$NAME"
	start || failed HANGS "did not listen" || return
	[ "$NAME" != prefork ] || poll_until "$(remaining)" master_waits ||
		failed HANGS "master not waiting for $K workers" || return
	base=$(fd_count)
	[ -n "${BASE[$NAME]:-}" ] || BASE[$NAME]=$base

	# K quick requests, answered at once: the fds return to the baseline, which is the same
	# in every cycle of the model. (A forking server's children for them end too.)
	send "GET $QUICK"$' HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n'
	replies hello || return 1
	poll_until "$(remaining)" fd_is "$base" ||
		failed LEAKED "$(fd_count) fds after the quick requests, baseline $base" || return
	[ "$base" = "${BASE[$NAME]}" ] ||
		failed LEAKED "baseline $base fds, ${BASE[$NAME]} in the first cycle" || return
	[ "$FDS" = tree ] || poll_until "$(remaining)" children_are 0 ||
		failed HANGS "children of the quick requests still running" || return

	# K slow requests in flight, all but their last line sent, so they are certainly in
	# flight when the signal comes however slow this machine is: exactly K more fds (none
	# in a forking server's parent, whose K children have them).
	send "GET $SLOW"$' HTTP/1.1\r\nHost: soak\r\n'
	want=$((base + K))
	if [ "$FDS" = main ]; then
		want=$base
		poll_until "$(remaining)" children_are "$K" ||
			failed HANGS "$(descendants "$PID" | wc -l) children for $K requests" || return
	fi
	poll_until "$(remaining)" fd_is "$want" ||
		failed LEAKED "$(fd_count) fds with $K requests in flight, want $want" || return

	# SIGTERM; the requests end once every drain has started, and the drain waits for them.
	kill -TERM "$PID"
	poll_until "$(remaining)" drains_or_end ||
		failed HANGS "$(grep -c 'draining on' "$T/$NAME.log") drains of $DRAINS" || return
	finish $'Connection: close\r\n\r\n'
	replies "$BODY" || return 1
	poll_until "$(remaining)" test -s "$T/$NAME.status" || failed HANGS "still running" || return
	read -r a b _ _ _ _ _ TREE_ALIVE TREE_ZOMBIES <"$T/$NAME.status"
	STATUS="$a $b"
	ZOMBIES=$((ZOMBIES + TREE_ZOMBIES)) LEFT=$((LEFT + TREE_ALIVE))
	[ "$TREE_ZOMBIES$TREE_ALIVE" = 00 ] ||
		failed FAILS "$TREE_ALIVE left running, $TREE_ZOMBIES zombies" || return
	[ "$STATUS" = "$STATUS_WANT" ] || failed FAILS "$STATUS, want $STATUS_WANT" || return
	accounted || failed FAILS "$WHY" || return
}

# end_cycle: closes what is left, stops the tree if it still runs (spawn's SIGTERM kills it)
# and waits for the spawn helper, so no pid of this cycle is kept (pids are reused quickly).
end_cycle() {
	local fd helper=${PIDS[0]}
	for fd in "${CONNS[@]}"; do
		exec {fd}>&-
	done
	CONNS=()
	if ! poll_until 2000 gone "$helper"; then
		kill -TERM "$helper"
		poll_until 5000 gone "$helper" || kill -KILL "$helper"
	fi
	wait "$helper" 2>/dev/null
	PIDS=()
}

gone() {
	! kill -0 "$1" 2>/dev/null
}

declare -A BASE
REQUESTS=0 LOST_N=0 HANGS=0 LEAKED=0 ZOMBIES=0 LEFT=0 FAILS=0 FAILED=0 MAX_MS=0 CONNS=()
t0=$(now_ms)
for ((CYCLE = 1; CYCLE <= CYCLES; CYCLE++)); do
	NAME=${MODELS[$(((CYCLE - 1) % ${#MODELS[@]}))]}
	c0=$(now_ms)
	if ! cycle; then
		FAILED=$((FAILED + 1))
		sed 's/^/      | /' "$T/$NAME.log" | tail -n 20
	fi
	end_cycle
	c1=$(now_ms)
	[ $((c1 - c0)) -le "$MAX_MS" ] || MAX_MS=$((c1 - c0))
	[ "$FAILED" -lt "$MAX_FAILED" ] || { note "stopping: $FAILED cycles failed"; break; }
	[ $(((c1 - t0) / 1000)) -lt "$LIMIT_S" ] || { note "stopping: over $LIMIT_S s"; break; }
	[ $((CYCLE % 100)) -ne 0 ] || note "$CYCLE cycles, $(((c1 - t0) / 1000)) s"
done
DONE=$((CYCLE > CYCLES ? CYCLES : CYCLE))
WALL=$(($(now_ms) - t0))
echo "soak: cycles=$DONE/$CYCLES requests=$REQUESTS lost=$LOST_N hangs=$HANGS leaked=$LEAKED" \
	"zombies=$ZOMBIES left=$LEFT other=$FAILS failed=$FAILED" \
	"wall=$((WALL / 1000)).$((WALL % 1000 / 100))s" \
	"mean=$((WALL / DONE))ms max=${MAX_MS}ms models=${MODELS[*]}"
if [ "$FAILED" -gt 0 ] || [ "$DONE" -lt "$CYCLES" ]; then
	fail "soak: $FAILED of $DONE cycles failed"
fi
pass "$DONE cycles of start, load, SIGTERM, drain: nothing lost, leaked, hung or left behind"
