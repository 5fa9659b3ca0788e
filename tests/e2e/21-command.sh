#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The lastcall command: it execs the program in its own place with the library prepended to
# LD_PRELOAD and the options as LASTCALL_* variables; it refuses a bad setting with status 2
# and one line naming it (the library would only warn and use the default); it exits 127 and
# 126 as env(1) does; and --check tells which binaries it can work with, and why not.
. "$(dirname "$0")/../lib/lib.sh"

# run ARGS...: runs the command; sets RC, OUT (stdout) and ERR (stderr).
run() {
	"${COMMAND[@]}" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# Every option lands in its variable, in both spellings; LD_PRELOAD keeps what was there, after
# the library; the program keeps the command's pid (exec), which LASTCALL_INTERNAL_MAINPID names.
run -t 20s --signals=TERM,QUIT -g 500ms --idle off -c none --kill-after=1s -l warn \
	--notify-ready --max-fds 4096 -- sh -c 'echo pid=$$; env'
expect_eq "options: status" "$RC" 0
for v in LASTCALL_TIMEOUT=20s LASTCALL_SIGNALS=TERM,QUIT LASTCALL_GRACE=500ms LASTCALL_IDLE=off \
	LASTCALL_CHILDREN=none LASTCALL_KILL_AFTER=1s LASTCALL_LOG=warn LASTCALL_NOTIFY_READY=1 \
	LASTCALL_MAX_FDS=4096 "LD_PRELOAD=$PRELOADED"; do
	grep -qx "$v" "$T/out" || fail "options: $v not set: $OUT"
done
pid=$(sed -n 's/^pid=//p' "$T/out")
grep -qx "LASTCALL_INTERNAL_MAINPID=$pid" "$T/out" || fail "the program did not keep the pid: $OUT"
# (Called directly: COMMAND may set LD_PRELOAD itself, for a sanitizer build.)
mine=${SAN_RUNTIME:+$SAN_RUNTIME:}/lib/x86_64-linux-gnu/libc.so.6
want=$(preloaded "$LIB"):/lib/x86_64-linux-gnu/libc.so.6
LD_PRELOAD=$mine "$ROOT/bin/lastcall" -v --disable env >"$T/out"
grep -qx "LD_PRELOAD=$want" "$T/out" ||
	fail "LD_PRELOAD not prepended: $(grep LD_PRELOAD "$T/out"), expected $want"
grep -qx "LASTCALL_LOG=debug" "$T/out" || fail "-v: $OUT"
grep -qx "LASTCALL_DISABLE=1" "$T/out" || fail "--disable: $OUT"
# A sanitizer's runtime stays first (the loader only warns about one that is not there).
LD_PRELOAD="/nowhere/libasan.so.8 $mine" "$ROOT/bin/lastcall" --disable env >"$T/san" 2>/dev/null
grep -qx "LD_PRELOAD=/nowhere/libasan.so.8:$LIB $mine" "$T/san" ||
	fail "a sanitizer's runtime is not kept first: $(grep LD_PRELOAD "$T/san")"
# A shell that is not bash: the command is POSIX sh, and the status is the program's.
run sh -c 'exit 7'
expect_eq "the program's status" "$RC" 7
run -V
expect_eq "--version" "$OUT" "lastcall $(cat "$ROOT/VERSION")"
run --help
expect_eq "--help: status" "$RC" 0
for o in --timeout --signals --grace --idle --children --kill-after --log --verbose \
	--notify-ready --max-fds --disable --check --help --version; do
	grep -q -- "$o" "$T/out" || fail "--help does not mention $o"
done
pass "options become LASTCALL_* variables, LD_PRELOAD is prepended (after a sanitizer runtime), the pid is kept"

# Bad input: status 2 and exactly one line, naming what was given and what is accepted.
bad() {
	local want=$1
	shift
	run "$@" true
	expect_eq "lastcall $* true: status" "$RC" 2
	expect_eq "lastcall $* true: message" "$ERR" "lastcall: error: $want"
	[ -z "$OUT" ] || fail "lastcall $*: wrote to stdout: $OUT"
}
bad '--timeout "3O s": expected a duration like 30s or 500ms, from 0 to 24h' --timeout "3O s"
bad '-t "-1s": expected a duration like 30s or 500ms, from 0 to 24h' -t -1s
bad '--grace "25h": expected a duration like 10s or 500ms, from 0 to 24h' --grace=25h
bad '-i "sometimes": expected a duration like 1s or 200ms, from 0 to 24h, or off' -i sometimes
bad '--signals "TERM,KILL": expected a comma-separated list of HUP, INT, QUIT, USR1, USR2, ALRM, TERM, PWR' \
	--signals TERM,KILL
bad '-c "all": expected wait or none' -c all
bad '-k "5 s": expected a duration like 5s or 500ms, from 0 to 24h' -k "5 s"
bad '--log "loud": expected one of error, warn, info, debug' --log loud
bad '--max-fds "10": expected a number of file descriptors from 64 to 67108864' --max-fds 10
bad '--timeout: a value is needed' --timeout ""
bad '--frobnicate: unknown option (lastcall --help lists them)' --frobnicate
# A bad variable in the environment is refused too, by its name; a newline in it is shown as ?.
LASTCALL_IDLE=soon bad 'LASTCALL_IDLE "soon": expected a duration like 1s or 200ms, from 0 to 24h, or off'
LASTCALL_TIMEOUT=$'1\n2' bad 'LASTCALL_TIMEOUT "1?2": expected a duration like 30s or 500ms, from 0 to 24h'
# The library alone only warns, and runs the program.
LASTCALL_TIMEOUT="3O s" LD_PRELOAD=$LIB sh -c 'exit 3' 2>"$T/lib.err"
expect_eq "the library with a bad value: status" "$?" 3
grep -q 'warning: LASTCALL_TIMEOUT="3O s" invalid' "$T/lib.err" || fail "no warning: $(cat "$T/lib.err")"
run
expect_eq "no program: status" "$RC" 2
run no-such-program-here
expect_eq "missing program: status" "$RC" 127
expect_eq "missing program: message" "$ERR" "lastcall: error: no-such-program-here: not found"
printf 'echo hi\n' >"$T/noexec"
run "$T/noexec"
expect_eq "non-executable program: status" "$RC" 126
run "$T"
expect_eq "a directory: status" "$RC" 126
pass "bad values, unknown options, missing and non-executable programs: status 2, 127, 126 and one line"

# --check on real binaries. Each verdict and its reason, and the status: 0 only if it can work.
check() {
	local want=$1 reason=$2 bin=$3
	run --check "$bin"
	expect_eq "--check $bin: status" "$RC" "$want"
	grep -q -- "$reason" "$T/out" || fail "--check $bin: no '$reason' in: $OUT"
	note "--check $bin: status $RC: $(tail -n 1 "$T/out" | sed 's/^ *//')"
	CHECKED=$((CHECKED + 1))
}
CHECKED=0
check 0 "can work with it" /usr/sbin/lighttpd
check 0 "can work with it" /usr/bin/python3.11
check 1 "calls neither accept() nor accept4()" /usr/bin/sleep
# A static server built here, from a source that does call accept().
cat >"$T/static.c" <<'C'
#include <sys/socket.h>
int main(void) { return accept(0, 0, 0) < 0; }
C
cc -static -o "$T/static" "$T/static.c" 2>"$T/cc.err" || fail "cc -static: $(cat "$T/cc.err")"
check 1 "statically linked" "$T/static"
cc -o "$T/dynamic" "$T/static.c" || fail "cc"
check 0 "can work with it" "$T/dynamic"
setuid=""
for b in /usr/bin/gpasswd /usr/bin/chfn /usr/bin/su /usr/bin/passwd; do
	[ -u "$b" ] && setuid=$b && break
done
if [ -n "$setuid" ]; then
	check 1 "setuid or setgid" "$setuid"
else
	skip "--check of a setuid binary: there is none on this machine"
fi
# A Go binary, if this machine has one (Debian's base has none).
go=""
for b in /usr/local/bin/* /usr/bin/*; do
	[ -f "$b" ] && [ -x "$b" ] && readelf -S -W "$b" 2>/dev/null | grep -q '\.go\.buildinfo' &&
		go=$b && break
done
if [ -n "$go" ]; then
	check 1 "a Go program" "$go"
else
	skip "--check of a Go program: there is none on this machine"
fi
# Scripts are judged by their interpreter.
printf '#!/usr/bin/python3.11\nimport http.server\n' >"$T/server.py"
chmod +x "$T/server.py"
check 0 "checking its interpreter, /usr/bin/python3.11" "$T/server.py"
printf '#!/bin/sh\nexec lighttpd -D\n' >"$T/start.sh"
chmod +x "$T/start.sh"
check 1 "cannot tell: a shell script" "$T/start.sh"
run --check no-such-program-here
expect_eq "--check of a missing program: status" "$RC" 127
pass "--check on $CHECKED binaries, $([ -n "$setuid" ] && echo "a setuid one, ")$([ -n "$go" ] && echo "a Go one, ")a static one built here"

# Without shellcheck the script is not linted here; with it, it must be clean.
if command -v shellcheck >/dev/null; then
	shellcheck "$ROOT/bin/lastcall" || fail "shellcheck bin/lastcall"
	pass "bin/lastcall is shellcheck-clean"
else
	skip "bin/lastcall not linted: shellcheck is not installed"
fi
