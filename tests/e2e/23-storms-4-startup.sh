#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signal storms, scenario 4, a storm at start-up.
# What no storm may change, and the helpers the storm tests share: tests/lib/storms.sh.
# shellcheck disable=SC2153 # PID: set by lib.sh's spawn
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/storms.sh disable=SC1091
. "$ROOT/tests/lib/storms.sh"

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

bugs_checked
