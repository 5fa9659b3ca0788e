#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Restarting a server under load, the example of each model: thread per connection, epoll,
# pre-fork, fork per connection, CGI. Without lastcall, a restart is a stop and a start: the
# requests in flight are cut and new ones refused in between. With lastcall --restart-on HUP:
# 10 restarts 0.5 s apart, then SIGTERM, under new connections, kept-alive ones and replies
# streamed over 2 s: nothing refused, reset or cut; the main pid never changes; each
# generation has its own pid; nothing of an old generation is left once it has drained.
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/servers/restart.sh"

printf '   %-9s %6s %18s %18s %9s %9s\n' model sent "failed without" "failed with" ready gone
# Pre-fork: 8 workers, as kept-alive clients and streams hold one each.
declare -A ARGS=([prefork]="--threads 8")
for model in threaded epoll prefork forking cgi; do
	read -ra args <<<"${ARGS[$model]:-}"
	port=$(free_port)
	bare_restarts "$model-bare" "$port" "$EX/$model" "${args[@]}" --port "$port"
	[ "$BAD" -gt 0 ] || fail "$model: a restart without lastcall lost nothing: the test shows nothing"
	bare="$BAD of $SENT"
	port=$(free_port)
	lastcall_restarts "$model" "$port" "$EX/$model" "${args[@]}" --port "$port"
	printf '   %-9s %6s %18s %18s %7sms %7sms\n' "$model" "$SENT" "$bare" "$BAD of $SENT" \
		"$READY_MS" "$GONE_MS"
	note "$model with lastcall: ${OKS} ok, ${CLOSED} kept-alive closed cleanly (retried); $BAD_KINDS"
	check_restarts "$model"
	pass "$model: $RESTARTS restarts under load, 0 failed, main pid $MAIN kept, ${#GENS[@]} generations"
done
