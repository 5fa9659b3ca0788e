# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# storms.sh: what the signal storm tests (tests/e2e/23-storms-*.sh) share. Source it after
# lib.sh. Supervisors, scripts and impatient users send signals in bursts, and they land
# wherever the program happens to be: in the middle of a drain, at the very moment lastcall
# hands the signal back, inside fork(), while the program swaps its own handlers, and while it
# is still starting (before it listens, before lastcall's constructor has run). Whatever the
# storm, a server under lastcall must drain exactly once, lose nothing, neither crash nor hang,
# and its own handler must see what it would have seen without lastcall: the sender's si_pid
# and si_code, never a signal lastcall sent itself; a program that is not yet a server gets the
# default action or its handler exactly as without lastcall. Each scenario runs without
# lastcall first. Scenarios 5 and 6 found two bugs, since fixed (the hand-back's own signal
# reaching the program's handler, or starting a second drain; a poll-then-accept program
# blocked for good after the hand-back): their failures are collected in BUGS and fail the
# test at its end (bugs_checked), after every run has reported.

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

# term_first NAME PRELOAD: the first SIGTERM to the server $PID; with lastcall (PRELOAD 1), waits
# until its drain has begun, so the storm that follows lands in the drain.
term_first() {
	kill -TERM "$PID"
	[ "$2" = 0 ] || poll_until 5000 grep -q 'info: draining on' "$T/$1.log" ||
		fail "$1: no drain"
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

# bugs_checked: the test's last step: fails if BUGS has any.
bugs_checked() {
	[ ${#BUGS[@]} -eq 0 ] || fail "$(printf '%s\n' "${BUGS[@]}")"
}
