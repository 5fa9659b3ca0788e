#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The fds lastcall makes for itself stay out of the program's way. The kernel gives an fd the
# lowest free number, and a shell's "echo x >>file" frees fd 1 for a moment: close(1), then
# dup2(file, 1). An fd lastcall's thread made in that moment (a /proc file, a pidfd, a netlink
# socket, while it drains and looks for children) took number 1; the shell's dup2() replaced
# it, and lastcall's close() then closed the shell's file. Found in test 29: a CGI script's
# last "echo $$ >>file" failed with dash's "echo: I/O error", one run in about forty under
# load. tests/servers/redirect does that redirection in a loop while lastcall drains (one
# connection in flight, one child to wait for) and counts the ones that went wrong; with the
# library before the fix, 13 to 18 of about 230,000 in 1.5 s. (Without lastcall SIGTERM ends
# the program at once, so its own loop, unsignalled, is the baseline.)
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"

MS=1500

# run NAME PRELOAD ARGS...: sets MADE and WRONG from the program's line, STATUS its end.
run() {
	local name=$1 cmd=("$TOOLS/redirect")
	[ "$2" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	shift 2
	MADE="" WRONG=""
	spawn "$name" "${cmd[@]}" "$@" "$MS" "$T/$name.file"
	wait_status "$name" 30000
	read -r MADE WRONG < <(sed -n 's/^redirections \([0-9]*\) wrong \([0-9]*\)$/\1 \2/p' \
		"$T/$name.log")
	[ -n "$MADE" ] ||
		fail "$name: no count from the program ($STATUS): $(tail -3 "$T/$name.log")"
}

run without 0
expect_eq "without lastcall: its end" "$STATUS" "exit 0"
expect_eq "without lastcall: redirections gone wrong" "$WRONG" 0
note "without lastcall, no signal: $MADE redirections in $MS ms, $WRONG wrong"

run with 1 --signal
expect_eq "with lastcall: ended by its SIGTERM, handed back after the drain" "$STATUS" "signal 15"
expect_eq "with lastcall: the drain waited for the child" \
	"$(summary_get "$T/with.log" children)" 1
expect_eq "with lastcall: redirections gone wrong while it drained" "$WRONG" 0
[ "$MADE" -gt 0 ] || fail "with lastcall: no redirection made during the drain"
note "with lastcall, SIGTERM first: $MADE redirections during the drain, $WRONG wrong"
pass "fds lastcall makes while it drains never take a number the program is about to reuse"
