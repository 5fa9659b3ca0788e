#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The command picks the build of the library for the program's C library: a library built for
# glibc cannot be loaded into a musl program (the program does not even start), nor a musl one
# into a glibc program. Installed side by side as make install lays them out, the command reads
# the program's ELF interpreter (a script's, through its #! line) and preloads the build for
# glibc or musl; --check names the C library and the build; a program whose C library has no
# build is refused with one line and status 1, unless --force, which runs it without lastcall.
# LASTCALL_LIBRARY still wins.
. "$(dirname "$0")/../lib/lib.sh"

if [ -n "${SANITIZE:-}" ]; then
	skip_test "the command with a musl program: a sanitizer build's runtime, preloaded into" \
		"every program of the tests, cannot be loaded into a musl program"
fi
MB=$BUILD/musl
[ -f "$MB/liblastcall.so" ] && [ -x "$MB/lastcall-parent" ] && [ -x "$MB/examples/threaded" ] ||
	make -s -C "$ROOT" B="${TEST_BUILD:-build}" musl >"$T/make.log" 2>&1 ||
	fail "cannot build the musl build (make musl; Debian: musl-tools): $(tail -5 "$T/make.log")"

# Both builds, laid out as make install does (the command looks next to itself: ../lib/lastcall
# and ../lib/lastcall/musl), and a layout with only one of them.
stage() {
	mkdir -p "$T/$1/bin" "$T/$1/lib/lastcall/musl"
	cp "$ROOT/bin/lastcall" "$T/$1/bin/lastcall"
	[ "$2" = musl ] || cp "$LIB" "$BUILD/lastcall-parent" "$T/$1/lib/lastcall/"
	[ "$2" = glibc ] || cp "$MB/liblastcall.so" "$MB/lastcall-parent" "$T/$1/lib/lastcall/musl/"
}
stage both ""
stage glibc-only glibc
stage musl-only musl
GLIBC_LIB=$T/both/lib/lastcall/liblastcall.so
MUSL_LIB=$T/both/lib/lastcall/musl/liblastcall.so

# show: a program that prints the lastcall library mapped into it (or "none"), built for each C
# library, run as a program and as a script's interpreter.
cat >"$T/show.c" <<'C'
#include <stdio.h>
#include <string.h>
int main(void)
{
	char line[512], *lib = NULL;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!lib && strstr(line, "liblastcall.so"))
			lib = strdup(strchr(line, '/'));
	printf("%s", lib ? lib : "none\n");
	return 0;
}
C
# run: runs another program, "i" with its own environment (execv), "e" with one of PATH only
# (execve): as a server runs a CGI script.
cat >"$T/run.c" <<'C'
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	char *env[] = { "PATH=/usr/bin:/bin", NULL };

	if (argc < 3)
		return 2;
	if (argv[1][0] == 'i')
		execv(argv[2], argv + 2);
	else
		execve(argv[2], argv + 2, env);
	perror("exec");
	return 126;
}
C
cc -o "$T/show-glibc" "$T/show.c" || fail "cc"
musl-gcc -o "$T/show-musl" "$T/show.c" || fail "musl-gcc"
cc -o "$T/run-glibc" "$T/run.c" || fail "cc"
musl-gcc -o "$T/run-musl" "$T/run.c" || fail "musl-gcc"
for libc in glibc musl; do
	printf '#!%s\n' "$T/show-$libc" >"$T/script-$libc"
	printf '#!/usr/bin/env %s\n' "$T/show-$libc" >"$T/envscript-$libc"
	chmod +x "$T/script-$libc" "$T/envscript-$libc"
done

# run LAYOUT ARGS...: the command of that layout, not told where a library is; sets RC, OUT
# (stdout) and ERR (stderr).
run() {
	local layout=$1
	shift
	env -u LASTCALL_LIBRARY "$T/$layout/bin/lastcall" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# Without the choice, one library for every program: the glibc build in a musl server, which
# then cannot start at all (the loader cannot resolve glibc's names), and every request is lost.
spawn bare env "LD_PRELOAD=$GLIBC_LIB" "$MB/examples/threaded" --port 0 --port-file "$T/bare.port"
wait_status bare 5000
[ "$STATUS" = "exit 127" ] || fail "a glibc build in a musl program: $STATUS, expected exit 127"
grep -q 'Error relocating' "$T/bare.log" || fail "no loader error: $(cat "$T/bare.log")"
note "without the choice: the glibc build in a musl server: exit 127, not started:" \
	"$(grep -m1 'Error relocating' "$T/bare.log")"
# With it: the musl build; requests in flight at SIGTERM complete.
server musl env -u LASTCALL_LIBRARY "$T/both/bin/lastcall" "$MB/examples/threaded"
grep -q "$MUSL_LIB" "/proc/$PID/maps" || fail "the musl server did not get $MUSL_LIB"
start_requests musl 3 --path /delay/1000
kill -TERM "$PID"
wait_status musl 10000
finish_requests musl
expect_eq "a musl server under the command: lost" "$LOST" 0
expect_eq "a musl server under the command: status" "$STATUS" "signal 15"
note "with the command: the musl build; 0 of 3 lost at SIGTERM, $STATUS"
pass "a musl server gets the musl build and loses nothing; given the glibc build it cannot start"

# --restart-on for a musl server, in a layout with no glibc build (an Alpine image): the musl
# build of lastcall-parent, beside the musl library, keeps the main pid; a restart starts a new
# generation that serves; SIGTERM ends both, status as a stop's.
port=$(free_port)
spawn mrestart env -u LASTCALL_LIBRARY "$T/musl-only/bin/lastcall" --restart-on HUP \
	"$MB/examples/threaded" --port "$port"
wait_listening "$port" 10000 || fail "mrestart: did not listen: $(cat "$T/mrestart.log")"
expect_eq "the restart parent" "$(readlink "/proc/$PID/exe")" \
	"$(cd "$T/musl-only/lib/lastcall/musl" && pwd -P)/lastcall-parent"
grep -q "musl.*libc.so" "/proc/$PID/maps" || fail "the restart parent is not a musl program: $(grep libc "/proc/$PID/maps")"
first=$(pgrep -P "$PID")
kill -HUP "$PID"
poll_until 10000 grep -q 'ready after' "$T/mrestart.log" ||
	fail "mrestart: no new generation: $(cat "$T/mrestart.log")"
poll_until 10000 eval "[ \"\$(pgrep -P $PID)\" != '$first' ] && [ -n \"\$(pgrep -P $PID)\" ]" ||
	fail "mrestart: the old generation $first did not end"
PORT=$port
"${CLIENT[@]}" --port "$port" >"$T/mrestart.client" 2>&1 ||
	fail "mrestart: the new generation did not answer: $(cat "$T/mrestart.client")"
kill -TERM "$PID"
wait_status mrestart 10000
expect_eq "mrestart: status" "$STATUS" "signal 15"
note "--restart-on with only the musl build: musl lastcall-parent (pid $PID kept), generation" \
	"$first replaced by $(sed -n 's/.*generation 2 (pid \([0-9]*\)).*/\1/p' "$T/mrestart.log" | head -1), $STATUS"
pass "--restart-on for a musl server with only the musl build installed: the musl parent restarts it"

# The choice for a program and a script of each C library, and through env(1).
for libc in glibc musl; do
	want=$GLIBC_LIB
	[ "$libc" = musl ] && want=$MUSL_LIB
	want=$(cd "$(dirname "$want")" && pwd -P)/liblastcall.so
	# (through env: Debian's env is a glibc program, which gets the glibc build, and runs the
	# musl one with the musl build: see below)
	progs="show script envscript"
	for prog in $progs; do
		p=$T/$prog-$libc
		run both "$p"
		expect_eq "$prog-$libc: status" "$RC" 0
		expect_eq "$prog-$libc: the library loaded" "$OUT" "$want"
	done
	run both --check "$T/show-$libc"
	grep -q "linked against $libc (.*ld-.*); lastcall's build for $libc: $want" "$T/out" ||
		fail "--check show-$libc: $OUT"
	note "$libc: ${progs// /, } loaded $want; --check:" \
		"$(head -n 1 "$T/out" | sed 's/^[^:]*: [^:]*: //')"
done
pass "glibc and musl programs, and scripts whose interpreter is either, get their own build"

# A program of the other C library, run by one under lastcall (a glibc server's musl CGI
# program, a musl server's glibc helper), with the environment it inherits and with one of its
# own: it gets the other build where make install puts it beside this one, else runs without
# lastcall. Before, it got this process's build and did not start at all (exit 127: the loader
# refuses a library of the other C library).
for case in glibc:musl musl:glibc; do
	from=${case%%:*} to=${case#*:}
	lib=$GLIBC_LIB other=$MUSL_LIB solo=glibc-only
	[ "$from" = musl ] && lib=$MUSL_LIB other=$GLIBC_LIB solo=musl-only
	solo_lib=$T/$solo/lib/lastcall/${lib#"$T"/both/lib/lastcall/}
	for how in i e; do
		out=$(env LD_PRELOAD="$lib" "$T/run-$from" "$how" "$T/show-$to" 2>&1)
		expect_eq "a $from program running a $to one ($how): it got" "$out" \
			"$(cd "$(dirname "$other")" && pwd -P)/liblastcall.so"
		out=$(env LD_PRELOAD="$solo_lib" "$T/run-$from" "$how" "$T/show-$to" 2>&1)
		expect_eq "a $from program running a $to one ($how), no $to build: it got" "$out" none
	done
	note "a $from program under lastcall runs a $to program: the $to build; with no $to" \
		"build beside it, without lastcall"
done
pass "a program of the other C library run under lastcall gets the other build, or none; it starts"

# A C library without a build: one line, status 1, the program not run; --force runs it
# without lastcall; --check says the same in one line.
for case in musl:glibc-only glibc:musl-only; do
	libc=${case%%:*} layout=${case#*:}
	for prog in show script; do
		run "$layout" "$T/$prog-$libc"
		expect_eq "$prog-$libc, $layout: status" "$RC" 1
		[ -z "$OUT" ] || fail "$prog-$libc, $layout: the program ran: $OUT"
		expect_eq "$prog-$libc, $layout: lines" "$(echo "$ERR" | wc -l)" 1
		[[ $ERR = "lastcall: error: "*"linked against $libc"*"build for $libc is not installed"* ]] ||
			fail "$prog-$libc, $layout: $ERR"
	done
	note "$libc program, $layout: status 1: $ERR"
	run "$layout" --force "$T/show-$libc"
	expect_eq "--force, $libc, $layout: status" "$RC" 0
	expect_eq "--force, $libc, $layout: the library loaded" "$OUT" none
	run "$layout" --check "$T/show-$libc"
	expect_eq "--check, $libc, $layout: status" "$RC" 1
	expect_eq "--check, $libc, $layout: lines" "$(wc -l <"$T/out")" 1
done
# A musl program run by "#!/usr/bin/env": env (Debian's, a glibc program) is loaded first, and
# needs the glibc build even when the program has its own.
run musl-only "$T/envscript-musl"
[ "$RC" = 1 ] && [[ $ERR = *"(run by "*"/env) is linked against glibc"* ]] ||
	fail "envscript-musl with only the musl build: $RC: $ERR $OUT"
note "envscript-musl, musl-only: status 1: $ERR"
pass "a program whose C library has no build: refused in one line (status 1), run without lastcall with --force"

# The same under BusyBox's sh and tools, as an Alpine image has them (no readelf, no GNU tools;
# BusyBox's tr -c mistakes [:print:]).
BUSYBOX=$(command -v busybox || true)
if [ -z "$BUSYBOX" ]; then
	skip "the command under BusyBox: busybox is not installed (Debian: busybox)"
else
	mkdir -p "$T/bb"
	for applet in $("$BUSYBOX" --list); do
		ln -s "$BUSYBOX" "$T/bb/$applet"
	done
	# bb LAYOUT ARGS...: as run, with BusyBox's sh, and only BusyBox's tools in PATH.
	bb() {
		local layout=$1
		shift
		env -u LASTCALL_LIBRARY PATH="$T/bb" "$BUSYBOX" sh "$T/$layout/bin/lastcall" "$@" \
			>"$T/out" 2>"$T/err"
		RC=$?
		OUT=$(cat "$T/out")
		ERR=$(cat "$T/err")
	}
	bb both "$T/script-musl"
	expect_eq "busybox: script-musl" "$RC $OUT" "0 $(cd "$(dirname "$MUSL_LIB")" && pwd -P)/liblastcall.so"
	bb both "$T/show-glibc"
	expect_eq "busybox: show-glibc" "$RC $OUT" "0 $(cd "$(dirname "$GLIBC_LIB")" && pwd -P)/liblastcall.so"
	bb both --check "$MB/examples/threaded"
	expect_eq "busybox: --check threaded: status" "$RC" 0
	grep -q "linked against musl" "$T/out" || fail "busybox: --check threaded: $OUT"
	bb both --check "$T/show-musl"
	expect_eq "busybox: --check show-musl (it does not accept): status" "$RC" 1
	grep -q "calls neither accept() nor accept4()" "$T/out" || fail "busybox: --check: $OUT"
	bb glibc-only "$T/show-musl"
	expect_eq "busybox: no build for musl: status, lines" "$RC $(echo "$ERR" | wc -l)" "1 1"
	bb both --timeout 3x "$T/show-musl"
	expect_eq "busybox: a bad value" "$RC $ERR" \
		"2 lastcall: error: --timeout \"3x\": expected a duration like 30s or 500ms, from 0 to 24h"
	# (BusyBox's tr -c '[:print:]' turned every character into '?': "FOO" was '???')
	bb both --restart-on FOO "$T/show-musl"
	[[ "$RC $ERR" = "2 lastcall: error: --restart-on \"FOO\": unknown signal; expected "* ]] ||
		fail "busybox: a bad --restart-on: $RC $ERR"
	pass "under BusyBox's sh and tools: the same choices, checks, refusal and settings"
fi

# LASTCALL_LIBRARY wins, whichever C library it is for.
LASTCALL_LIBRARY=$GLIBC_LIB "$T/both/bin/lastcall" "$T/show-glibc" >"$T/out" 2>&1
expect_eq "LASTCALL_LIBRARY: the library loaded" "$(cat "$T/out")" \
	"$(cd "$(dirname "$GLIBC_LIB")" && pwd -P)/liblastcall.so"
LASTCALL_LIBRARY=$GLIBC_LIB "$T/both/bin/lastcall" --check "$T/show-musl" >"$T/out" 2>&1
grep -q "LASTCALL_LIBRARY, .*, is a build for glibc" "$T/out" || fail "--check: $(cat "$T/out")"
pass "LASTCALL_LIBRARY still wins; --check says when it is for the other C library"
