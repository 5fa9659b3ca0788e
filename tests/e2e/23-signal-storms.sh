#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signal storms. Supervisors, scripts and impatient users send signals in bursts, and they land
# wherever the program happens to be: in the middle of a drain, at the very moment lastcall
# hands the signal back, inside fork(), while the program swaps its own handlers, and while it
# is still starting (before it listens, before lastcall's constructor has run). Whatever the
# storm, a server under lastcall must drain exactly once, lose nothing, neither crash nor hang,
# and its own handler must see what it would have seen without lastcall: the sender's si_pid
# and si_code, never a signal lastcall sent itself; a program that is not yet a server gets the
# default action or its handler exactly as without lastcall. Each scenario runs without
# lastcall first. Scenarios 5 and 6 found two bugs, since fixed (the hand-back's own signal
# reaching the program's handler, or starting a second drain; a poll-then-accept program
# blocked for good after the hand-back): their failures are collected and fail the test at its
# end, after every scenario has reported.
# shellcheck disable=SC2153 # PID: set by lib.sh's spawn
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"

FLIP=$TOOLS/handlerflip
[ -x "$FLIP" ] || make -s -C "$ROOT" SANITIZE="${SANITIZE:-}" \
	"${TEST_BUILD:-build}/tests/handlerflip" >/dev/null || fail "cannot build $FLIP"
ME=$BASHPID # the sender of every signal below: kill is a builtin of this shell

# exited PID: the process has exited (a zombie, or gone). No fork: a storm checks it often.
exited() {
	local state
	{ read -r _ _ state _ <"/proc/$1/stat"; } 2>/dev/null || return 0
	[ "$state" = Z ] || [ "$state" = X ]
}

# storm PID ROUNDS SIG...: ROUNDS rounds of kill -SIG for each SIG, as fast as this shell goes,
# stopping early if the process exits. Sets SENT (signals sent).
storm() {
	local pid=$1 rounds=$2 i s
	shift 2
	SENT=0
	for ((i = 0; i < rounds; i++)); do
		for s in "$@"; do
			kill "-$s" "$pid" 2>/dev/null || return 0
			SENT=$((SENT + 1))
		done
		[ $((i % 64)) -ne 63 ] || ! exited "$pid" || return 0
	done
}

# storm_to_end PID MAX: SIGTERM after SIGTERM until the process has exited, at most MAX.
# Sets SENT; fails if it is still running after them.
storm_to_end() {
	local pid=$1 i
	SENT=0
	for ((i = 0; i < $2; i++)); do
		[ $((i % 16)) -ne 0 ] || ! exited "$pid" || return 0
		kill -TERM "$pid" 2>/dev/null || return 0
		SENT=$((SENT + 1))
	done
	poll_until 5000 exited "$pid" || fail "still running after $SENT SIGTERMs"
}

# calls NAME PATTERN: how many lines of the handler log $T/NAME.calls match PATTERN.
calls() {
	grep -c -- "$2" "$T/$1.calls" 2>/dev/null
}

# foreign NAME: the handler calls whose siginfo is not this shell's kill (si_pid $ME, si_code
# SI_USER): a signal the program would never have seen without lastcall.
foreign() {
	grep -v -e "from $ME code 0\$" -e 'from - code -$' -e '^flips ' "$T/$1.calls"
}

# sender_only NAME: every call of the program's handlers came from this shell's kill. A call
# that did not is a signal the program would never have seen without lastcall; it is recorded
# in BUGS, which fails the test at its end, so that the other scenarios still run and report.
BUGS=()
sender_only() {
	local seen
	seen=$(foreign "$1" | sort | uniq -c | awk '{$1 = $1 "x"; print}' | paste -sd';' -)
	[ -z "$seen" ] ||
		BUGS+=("$1 (pid $2): the handler got a signal not from the sender ($ME): $seen")
	[ -z "$seen" ]
}

# 1. A storm during a drain: 1000 SIGTERMs, with 500 SIGUSR1 and 500 SIGHUP (which the program
#    handles itself) between them, while three requests are in flight.
for preload in 0 1; do
	name=drain-$preload
	cmd=("$FLIP" --log "$T/$name.calls")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	server "$name" "${cmd[@]}"
	start_requests "$name" 3 --path /delay/1500
	kill -TERM "$PID"
	[ "$preload" = 0 ] || poll_until 5000 grep -q 'info: draining on' "$T/$name.log" ||
		fail "$name: no drain"
	storm "$PID" 500 TERM USR1 TERM HUP
	sent=$((SENT + 1))
	if [ "$preload" = 1 ]; then
		# All of it landed during the drain: the process is still there, nothing handed back.
		if [ "$SENT" != 2000 ] || exited "$PID" || [ "$(calls "$name" '^[abc] ')" != 0 ]; then
			fail "$name: the drain ended during the storm ($SENT sent)"
		fi
	fi
	wait_status "$name" 10000
	finish_requests "$name"
	expect_eq "$name: wait status" "$STATUS" "exit 7"
	terms=$(calls "$name" '^a 15 ') usr1=$(calls "$name" '^o 10 ') hup=$(calls "$name" '^o 1 ')
	if [ "$preload" = 0 ]; then
		[ "$LOST" -gt 0 ] || fail "without lastcall: expected lost requests"
		note "without lastcall: $sent signals, $LOST of 3 requests lost, exit 7; handler calls:" \
			"SIGTERM $terms, SIGUSR1 $usr1, SIGHUP $hup"
		continue
	fi
	expect_eq "$name: lost" "$LOST" 0
	expect_eq "$name: drains" "$(drains "$name")" 1
	expect_eq "$name: summaries" "$(summaries "$T/$name.log")" 1
	expect_eq "$name: SIGTERM handler calls" "$terms" 1
	sender_only "$name" "$PID" || fail "${BUGS[-1]}"
	if [ "$usr1" = 0 ] || [ "$hup" = 0 ]; then
		fail "$name: SIGUSR1 $usr1, SIGHUP $hup handler calls"
	fi
	# The program's SIGUSR1 and SIGHUP handlers ran during the drain, not after it.
	[ "$(grep -m1 -n '^a ' "$T/$name.calls" | cut -d: -f1)" -gt 1 ] ||
		fail "$name: SIGUSR1 and SIGHUP held back until the hand-back"
	note "with lastcall: $sent signals (1001 SIGTERM, 500 SIGUSR1, 500 SIGHUP) during the drain:" \
		"1 drain, 0 lost, exit 7; handler calls: SIGTERM 1 (from $ME, SI_USER), SIGUSR1 $usr1," \
		"SIGHUP $hup, all during the drain"
done
pass "1000 SIGTERMs during a drain: one drain, nothing lost, the handler runs once as sent"

# 2. A storm while the program swaps its own SIGTERM handler, thousands of times a second
#    (sigaction() and signal() in turn), each call checked for the handler it replaced. The
#    handler handed back must be one the program installed, never SIG_DFL, never lastcall's.
for preload in 0 1; do
	name=flip-$preload
	cmd=("$FLIP" --flip --log "$T/$name.calls")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	server "$name" "${cmd[@]}"
	start_requests "$name" 3 --path /delay/1000
	kill -TERM "$PID"
	[ "$preload" = 0 ] || poll_until 5000 grep -q 'info: draining on' "$T/$name.log" ||
		fail "$name: no drain"
	storm "$PID" 1000 TERM
	during=$((SENT + 1))
	handed=$(calls "$name" '^[abc] ')
	if [ "$preload" = 1 ] && { [ "$SENT" != 1000 ] || [ "$handed" != 0 ]; }; then
		fail "$name: the drain ended during the storm ($SENT sent)"
	fi
	storm_to_end "$PID" 200000
	wait_status "$name" 10000
	finish_requests "$name"
	expect_eq "$name: wait status (never SIG_DFL)" "$STATUS" "exit 7"
	! grep -q 'flip BAD' "$T/$name.calls" || fail "$name: $(grep 'flip BAD' "$T/$name.calls")"
	flips=$(sed -n 's/^flips \([0-9]*\).*/\1/p' "$T/$name.calls")
	[ "${flips:-0}" -gt 0 ] || fail "$name: no flips"
	handlers=$(grep -o '^[abc] 15' "$T/$name.calls" | sort | uniq -c |
		awk '{printf "%s %s, ", $2, $1}')
	if [ "$preload" = 0 ]; then
		[ "$LOST" -gt 0 ] || fail "without lastcall: expected lost requests"
		note "without lastcall: $during + $SENT SIGTERMs, $flips swaps, $LOST of 3 lost, exit 7;" \
			"handler calls: ${handlers%, }"
		continue
	fi
	expect_eq "$name: lost" "$LOST" 0
	expect_eq "$name: drains" "$(drains "$name")" 1
	sender_only "$name" "$PID"
	note "with lastcall: $during SIGTERMs during the drain, $SENT more until exit, $flips swaps" \
		"each reporting the handler it replaced; 1 drain, 0 lost, exit 7; handler calls:" \
		"${handlers%, }"
done
pass "handlers swapped under a storm: one drain, nothing lost, only the program's handlers run"

# 3. Signals during fork(). forksig's atfork prepare handler sends SIGTERM from inside fork(),
#    ten times over; then a storm against a program whose thread forks about once a
#    millisecond (children that exit at once), so SIGTERMs land in every part of fork().
fork_in_flight() {
	local name=$1
	shift
	server "$name" "$@" "$TOOLS/forksig" --fork-on 3
	start_requests "$name" 2 --path /delay/400
	"${CLIENT[@]}" --port "$PORT" --path /delay/100 >"$T/$name.trigger" 2>&1
	TRIGGER=$?
	wait_status "$name" 10000
	finish_requests "$name"
}
fork_in_flight forksig-0
[ "$LOST" -gt 0 ] || [ "$TRIGGER" != 0 ] || fail "forksig without lastcall: nothing lost"
note "without lastcall: SIGTERM inside fork() ends the server: $LOST of 2 requests lost" \
	"($STATUS)"
FORK_RUNS=${STORM_FORK_RUNS:-10}
for ((run = 1; run <= FORK_RUNS; run++)); do
	fork_in_flight "forksig-1-$run" "${LASTCALL[@]}"
	expect_eq "forksig run $run: the request that forked" "$TRIGGER" 0
	expect_eq "forksig run $run: lost" "$LOST" 0
	expect_eq "forksig run $run: wait status" "$STATUS" "signal 15"
	expect_eq "forksig run $run: drains" "$(drains "forksig-1-$run")" 1
done
note "with lastcall: $FORK_RUNS runs of SIGTERM inside fork(): each 1 drain, 0 of 3 lost, signal 15"

for preload in 0 1; do
	name=forks-$preload
	cmd=("$FLIP" --forks --log "$T/$name.calls")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	SPAWN_MODE=-r server "$name" "${cmd[@]}"
	start_requests "$name" 3 --path /delay/1000
	kill -TERM "$PID"
	[ "$preload" = 0 ] || poll_until 5000 grep -q 'info: draining on' "$T/$name.log" ||
		fail "$name: no drain"
	storm "$PID" 1000 TERM
	during=$((SENT + 1))
	storm_to_end "$PID" 200000
	wait_status "$name" 15000
	finish_requests "$name"
	expect_eq "$name: wait status" "$STATUS" "exit 7"
	forks=$(sed -n 's/^flips [0-9]* forks \([0-9]*\)/\1/p' "$T/$name.calls")
	[ "${forks:-0}" -gt 0 ] || fail "$name: no forks"
	if [ "$preload" = 0 ]; then
		[ "$LOST" -gt 0 ] || fail "without lastcall: expected lost requests"
		note "without lastcall: $during + $SENT SIGTERMs, $forks forks, $LOST of 3 lost, exit 7"
		continue
	fi
	expect_eq "$name: lost" "$LOST" 0
	expect_eq "$name: drains (the children never drain)" "$(drains "$name")" 1
	# No zombie count here: the forking thread runs on while exit() does, so a child it
	# forks after lastcall's wait for children can still be unreaped when the process ends,
	# with or without lastcall (tests 05 and 06 count zombies of servers that stop forking).
	# A child forked an instant before exit_group() can still be on its way to its _exit(0)
	# when the helper counts what is left: left running is what is still there a second on.
	left=$TREE_ALIVE
	if [ "$left" != 0 ] && poll_until 1000 no_descendants "$SPAWN_PID"; then
		note "children forked as the process ended, gone within a second: $left;" \
			"$(grep -o 'left when the command ended: .*' "$T/$name.log" | paste -sd'|' -)"
		left=0
	fi
	expect_eq "$name: left running" "$left" 0
	sender_only "$name" "$PID"
	note "with lastcall: $during SIGTERMs during the drain and $SENT more until exit while the" \
		"program forked $forks times; 1 drain, 0 lost, exit 7, nothing left running"
done
pass "SIGTERM inside fork() and storms across a forking loop: one drain, no deadlock, nothing lost"

# 4. A storm at start-up: SIGTERM after SIGTERM from the moment the process is forked, so they
#    land before exec, in the dynamic loader, in another library's constructor (which installs
#    a handler before lastcall's constructor has run), in lastcall's, in main() before the
#    program's handler is set, before it listens, and while it serves. Until it listens it is
#    not a server: the default action or its handler applies exactly as without lastcall;
#    after, one drain, then the same end. Each run starts the storm a little later (a busy
#    loop: an offset, not a wait for anything).
#    startup KIND PRELOAD RUN: sets OUTCOME.
startup() {
	local kind=$1 preload=$2 run=$3 name=start-$1-$2-$3 pid helper i comm marker cmd env=()
	case $kind in
	default) cmd=("$EX/threaded" --port 0) ;;
	handler) cmd=("$TOOLS/sigserver" --on-term "marker:$T/$name.marker" --port 0) ;;
	early)
		cmd=("$EX/threaded" --port 0)
		env=(EARLY_MARKER="$T/$name.marker" LD_PRELOAD="$EARLY_PRELOAD$TOOLS/libearly.so")
		[ "$preload" = 0 ] || env[1]=LD_PRELOAD=$EARLY_PRELOAD$LIB:$TOOLS/libearly.so
		;;
	esac
	if [ "$preload" = 1 ] && [ "$kind" != early ]; then
		cmd=("${LASTCALL[@]}" "${cmd[@]}")
	fi
	# Under the spawn helper, not as a job of this shell: a forked shell that a SIGTERM reaches
	# before it execs would run this test's EXIT trap. The pid file appears right after the
	# fork, and the storm starts once the child has executed the command (before, it is the
	# helper's): both are watched in a tight loop, bounded, not polled.
	"$TOOLS/spawn" "$T/$name.pid" "$T/$name.status" env "${env[@]}" "${cmd[@]}" \
		>"$T/$name.log" 2>&1 &
	helper=$!
	PIDS+=("$helper")
	for ((i = 0; i < 1000000; i++)); do
		[ ! -s "$T/$name.pid" ] || break
	done
	read -r pid <"$T/$name.pid" || fail "$name did not start"
	for ((i = 0; i < 1000000; i++)); do
		{ read -r comm <"/proc/$pid/comm"; } 2>/dev/null || break
		[ "$comm" = spawn ] || break
	done
	# (the offset grows with the square of the run: 0 to about 12 ms, most of it early)
	for ((i = 0; i < run * run * 40; i++)); do
		:
	done
	storm_to_end "$pid" 200000
	wait_status "$name" 5000
	poll_until 5000 exited "$helper" || fail "$name: spawn still running"
	wait "$helper"
	PIDS=("${PIDS[@]:0:${#PIDS[@]}-1}")
	START_SENT=$((START_SENT + SENT))
	expect_eq "$name: wait status" "$STATUS" "signal 15"
	marker=$(cat "$T/$name.marker" 2>/dev/null)
	case $kind in
	handler) [ -z "$marker" ] || expect_eq "$name: handler's siginfo" "$marker" "term from $ME" ;;
	early) [ -z "$marker" ] || expect_eq "$name: early handler" "$marker" "early handler" ;;
	esac
	[ "$(drains "$name")" -le 1 ] || fail "$name: $(drains "$name") drains"
	if grep -q 'info: draining on' "$T/$name.log"; then
		read_summary "$T/$name.log" || fail "$name: a drain without its end"
		OUTCOME="drained, then the $([ -n "$marker" ] && echo handler || echo default action)"
	elif [ -n "$marker" ]; then
		OUTCOME="the handler"
	else
		OUTCOME="the default action"
	fi
}
START_RUNS=${STORM_START_RUNS:-12}
START_SENT=0
# (default: no handler; handler: one set in main() before listening; early: one set by another
# library's constructor, which runs before lastcall's)
for kind in default handler early; do
	for preload in 0 1; do
		declare -A seen=()
		for ((run = 0; run < START_RUNS; run++)); do
			startup "$kind" "$preload" "$run"
			seen[$OUTCOME]=$((${seen[$OUTCOME]:-0} + 1))
		done
		summary=""
		for o in "${!seen[@]}"; do
			summary+="$o ${seen[$o]}, "
		done
		note "$kind, preload=$preload: $START_RUNS starts under a storm, each killed by SIGTERM:" \
			"${summary%, }"
		unset seen
	done
done
pass "start-up storms ($START_SENT SIGTERMs): default action or handler as without lastcall"

# 5. A storm across the hand-back: SIGTERMs until the process is gone, so that some land while
#    lastcall gives the signal back. The program (with two idle threads, which take signals like
#    any other) must see only the sender's signals: never the one lastcall sends itself to hand
#    the signal back (si_pid the server's own, si_code SI_TKILL), which a storm signal landing
#    between the hand-back's start and that delivery can leave over; and exactly one drain.
for preload in 0 1; do
	total=0 handled=0 bad=0 double=0
	runs=$([ "$preload" = 1 ] && echo "${STORM_RUNS:-30}" || echo 10)
	for ((run = 1; run <= runs; run++)); do
		name=across-$preload-$run
		cmd=("$FLIP" --spare 2 --log "$T/$name.calls")
		[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
		server "$name" "${cmd[@]}"
		"${CLIENT[@]}" --port "$PORT" >"$T/$name.client" 2>&1 || fail "$name: no reply"
		storm_to_end "$PID" 200000
		total=$((total + SENT))
		wait_status "$name" 10000
		expect_eq "$name: wait status" "$STATUS" "exit 7"
		n=$(drains "$name")
		if [ "$preload" = 1 ] && [ "$n" != 1 ]; then
			msg=$(grep 'info: drain' "$T/$name.log" | paste -sd'|' -)
			BUGS+=("$name (pid $PID): $n drains: $msg")
			double=$((double + 1))
		fi
		sender_only "$name" "$PID" || bad=$((bad + 1))
		handled=$((handled + $(calls "$name" '^a 15 ')))
	done
	note "preload=$preload: $runs runs, $total SIGTERMs until exit; the program's handler ran" \
		"$handled times; runs where it also got a signal not from the sender: $bad; with a" \
		"second drain: $double"
done
[ "$bad$double" != 00 ] ||
	pass "SIGTERMs across the hand-back: one drain, the handler only sees the sender's signals"

# 6. The end of a drain, for a program that waits for its listener with poll() and then calls a
#    blocking accept() (on Linux, one that poll() reported readable has a connection to return),
#    and whose handler only sets a flag. Here the handler runs on a thread of the program's own
#    (the others block the signal) and the main thread polls for a second at most, so without
#    lastcall it sees the flag within a second and exits. With lastcall, the wake-up token the
#    hand-back adds to the stand-in must not leave it blocked in an accept() that nothing ends.
#    (The storms above meet the same with the handler on any thread, when the thread it lands on
#    is not the one about to accept: handlerflip's listener is non-blocking to avoid it there.)
for preload in 0 1; do
	name=poll-accept-$preload
	cmd=("$FLIP" --blocking --signal-thread --poll 1000 --log "$T/$name.calls")
	[ "$preload" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	server "$name" "${cmd[@]}"
	# One connection served: lastcall stops intake on listeners the program accepts on.
	"${CLIENT[@]}" --port "$PORT" >"$T/$name.client" 2>&1 || fail "$name: no reply"
	t0=$(now_ms)
	kill -TERM "$PID"
	if poll_until 5000 test -s "$T/$name.status"; then
		wait_status "$name" 1
		expect_eq "$name: wait status" "$STATUS" "exit 7"
		note "preload=$preload: SIGTERM, the handler ran on its thread," \
			"exit 7 $((ENDED - t0)) ms later"
		continue
	fi
	read -r call _ <"/proc/$PID/syscall"
	kill -TERM "$PID"
	poll_until 1000 test -s "$T/$name.status" && again="" || again=", nor a second SIGTERM"
	msg="still running 5 s after SIGTERM$again: the drain is over and the handler ran"
	msg+=" ($(calls "$name" '^a 15 ') calls), but the main thread never returned from accept()"
	BUGS+=("$name (pid $PID): $msg (system call $call: ppoll, in lastcall's parked accept)")
	note "preload=$preload: ${BUGS[-1]#*: }"
	kill -KILL "$PID"
	wait_status "$name" 5000
done

[ ${#BUGS[@]} -eq 0 ] || fail "$(printf '%s\n' "${BUGS[@]}")"
