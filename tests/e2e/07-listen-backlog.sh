#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Failure mode 7: closing a listener resets every connection the kernel already accepted for
# it but the program had not picked up yet. A busy server that accepts one connection at a time
# has a queue at the moment of SIGTERM. Without lastcall those clients get a reset; with it they
# are taken into the stash and served, one after another, before the end: with the SYN filter
# (CAP_NET_ADMIN) and, as a fallback, without it.
. "$(dirname "$0")/../lib/lib.sh"

QUEUED=4
NO_NET_ADMIN=(setpriv --bounding-set=-net_admin --inh-caps=-net_admin --)

# run NAME COMMAND...: one request in service, QUEUED in the accept queue, SIGTERM. The one in
# service takes 2 s, time enough to see the queue full and signal on a loaded machine; the
# queued ones are short. Sets FIRST (the first request's client status) and LOST, RESETS (of
# the queued ones).
run() {
	local name=$1 first
	shift
	server "$name" "$@"
	"${CLIENT[@]}" --port "$PORT" --path /delay/2000 >"$T/$name.first" 2>&1 &
	first=$!
	PIDS+=("$first")
	wait_accepted "$PORT" 1 5000 || fail "$name: the first request was not accepted"
	"${CLIENT[@]}" --port "$PORT" --count $QUEUED --path /delay/50 >"$T/$name.client" 2>&1 &
	CLIENT_PID=$!
	poll_until 5000 sh -c "ss -Hltn 'sport = :$PORT' | awk '{exit \$2 != $QUEUED}'" ||
		fail "$name: the queue did not fill"
	kill -TERM "$PID"
	wait_status "$name" 10000
	finish_requests "$name"
	wait "$first"
	FIRST=$?
	RESETS=$(summary_field "$T/$name.client" reset)
}

run bare "$EX/blocking"
[ "$RESETS" -ge "$QUEUED" ] || fail "without lastcall: expected $QUEUED resets, got $RESETS"
[ "$FIRST" != 0 ] || fail "without lastcall: the request in service was not lost"
note "without lastcall: $QUEUED queued + 1 in service: $((LOST + 1)) lost ($RESETS reset)"

for how in filter fallback; do
	cmd=(env LASTCALL_LOG=debug "${LASTCALL[@]}" "$EX/blocking")
	[ "$how" = fallback ] && cmd=("${NO_NET_ADMIN[@]}" "${cmd[@]}")
	run "$how" "${cmd[@]}"
	expect_eq "$how: the request in service" "$FIRST" 0
	[ "$LOST" -eq 0 ] || fail "$how: $LOST lost: $(cat "$T/$how.client")"
	drain_summary "$how"
	expect_eq "$how: finished, cut" "$FINISHED $CUT" "$((QUEUED + 1)) 0"
	mech=$(sed -n 's/.*debug: intake stopped on fd [0-9]* ([^)]*): //p' "$T/$how.log")
	case $how in
	filter) [[ $mech == *"(SYN filter)"* ]] || fail "filter: mechanism: $mech" ;;
	fallback) [[ $mech == *"without a SYN filter (EPERM"* ]] || fail "fallback: mechanism: $mech" ;;
	esac
	note "with lastcall ($how): 0 lost; $mech"
done
pass "connections queued at SIGTERM are served, not reset (SYN filter and fallback)"
