#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make install and uninstall into a DESTDIR; the installed command finds its library and runs a
# server; the man pages lint clean and cover every variable and option; the example unit files
# pass systemd-analyze verify.
. "$(dirname "$0")/../lib/lib.sh"

# A PREFIX that exists nowhere on this machine: the command must find its library next to
# itself, as it would in a package being built.
PREFIX=/opt/lastcall-e2e-$$
ROOTDIR=$T/root
MAKE=(make --no-print-directory -s -C "$ROOT" PREFIX="$PREFIX" DESTDIR="$ROOTDIR" SANITIZE="${SANITIZE:-}")
"${MAKE[@]}" install >"$T/install.log" 2>&1 || fail "make install: $(cat "$T/install.log")"
for f in bin/lastcall lib/lastcall/liblastcall.so lib/lastcall/musl/liblastcall.so \
	lib/lastcall/lastcall-parent lib/lastcall/musl/lastcall-parent \
	share/man/man1/lastcall.1 \
	share/man/man7/lastcall.7 share/doc/lastcall/README.md share/doc/lastcall/kubernetes.md \
	share/doc/lastcall/configuration.md share/doc/lastcall/design.md \
	share/doc/lastcall/systemd/lighttpd.service; do
	test -f "$ROOTDIR$PREFIX/$f" || fail "make install: no $PREFIX/$f"
done
BIN=$ROOTDIR$PREFIX/bin/lastcall
test -x "$BIN" || fail "the installed command is not executable"
# The installed command, on its own: not told where the library under test is.
INSTALLED=(env -u LASTCALL_LIBRARY ${SAN_RUNTIME:+"LD_PRELOAD=$SAN_RUNTIME"} "$BIN")
grep -q '@[A-Z]*@' "$BIN" && fail "placeholders left in the installed command"
grep -qx "LIBDIR=$PREFIX/lib/lastcall" "$BIN" || fail "LIBDIR not configured: $(grep ^LIBDIR "$BIN")"
expect_eq "installed --version" "$("${INSTALLED[@]}" --version)" "lastcall $(cat "$ROOT/VERSION")"
"${INSTALLED[@]}" env >"$T/env" || fail "the installed command did not run env"
grep -qx "LD_PRELOAD=$(preloaded "$ROOTDIR$PREFIX/lib/lastcall/liblastcall.so")" "$T/env" ||
	fail "the installed command used $(grep LD_PRELOAD "$T/env")"
note "installed $(find "$ROOTDIR" -type f | wc -l) files under DESTDIR$PREFIX"

# The installed command and library stop a real server without a loss.
server installed "${INSTALLED[@]}" --timeout 5s "$EX/threaded"
start_requests installed 2 --path /delay/800
kill -TERM "$PID"
wait_status installed 10000
finish_requests installed
expect_eq "installed: lost" "$LOST" 0
expect_eq "installed: status" "$STATUS" "signal 15"

"${MAKE[@]}" uninstall >"$T/uninstall.log" 2>&1 || fail "make uninstall: $(cat "$T/uninstall.log")"
left=$(find "$ROOTDIR" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"
pass "make install and uninstall with PREFIX and DESTDIR; the installed command stops a server, 0 lost"

# Man pages: lint clean, and complete (every variable the library reads, every option).
lint() {
	if command -v mandoc >/dev/null; then
		mandoc -T lint -W warning "$1"
	else
		groff -ww -z -mdoc "$1" 2>&1 | grep . && return 1
		return 0
	fi
}
for page in "$ROOT/docs/lastcall.1" "$ROOT/docs/lastcall.7"; do
	lint "$page" >"$T/lint" 2>&1 || fail "$(basename "$page") does not lint clean: $(cat "$T/lint")"
done
vars=$(grep -o '"LASTCALL_[A-Z_]*"' "$ROOT/shim/config.c" "$ROOT/shim/notify.c" | cut -d'"' -f2 | sort -u)
for v in $vars; do
	grep -q "^\\.It Ev $v\$" "$ROOT/docs/lastcall.7" || fail "lastcall(7) does not describe $v"
done
opts=$(grep -o -- '^ *\(-[a-zA-Z], \)\?--[a-z-]*' <("$ROOT/bin/lastcall" --help) | sed 's/.*--//' | sort -u)
for o in $opts; do
	grep -q "^\\.It .*Fl \\\\-$o\\b" "$ROOT/docs/lastcall.1" || fail "lastcall(1) does not describe --$o"
done
pass "lastcall(1) and lastcall(7) lint clean ($(command -v mandoc >/dev/null && echo mandoc || echo groff)); $(echo "$vars" | wc -w) variables, $(echo "$opts" | wc -w) options described"

# The unit files: systemd-analyze verify prints a line for anything it ignores (a misspelt
# setting, a bad value, a missing binary) but still exits 0, so both count. The command is
# checked at its installed path, in a staging copy.
if ! command -v systemd-analyze >/dev/null || ! systemd-analyze --version >/dev/null 2>&1; then
	skip "the unit files are not verified: systemd-analyze cannot run here"
	exit 0
fi
mkdir -p "$T/units" "$T/stage/usr/local/bin"
cp "$ROOT/bin/lastcall" "$T/stage/usr/local/bin/lastcall"
verify() {
	systemd-analyze verify --man=no "$1" >"$T/verify" 2>&1 && ! grep -q . "$T/verify"
}
# secs PATTERN: the seconds given to the first option or variable matching PATTERN in $unit.
secs() {
	sed -n "s/.*\\($1\\)[= ]\\([0-9]*\\)s.*/\\2/p" "$unit" | head -n 1
}
n=0
for unit in "$ROOT"/examples/systemd/*.service; do
	name=$(basename "$unit")
	sed "s|/usr/local/bin/lastcall|$T/stage/usr/local/bin/lastcall|" "$unit" >"$T/units/$name"
	verify "$T/units/$name" || fail "$name: $(cat "$T/verify")"
	# TimeoutStopSec= covers the whole drain: grace + timeout + 1 s + kill-after, and more.
	stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$unit")
	timeout=$(secs '--timeout\|LASTCALL_TIMEOUT')
	grace=$(secs '--grace\|LASTCALL_GRACE')
	bound=$((${grace:-0} + ${timeout:-30} + 1 + 5))
	[ -n "$stop" ] && [ "$stop" -gt "$bound" ] ||
		fail "$name: TimeoutStopSec=${stop:-unset}s, but the drain can take ${bound}s"
	note "$name: verified; TimeoutStopSec=${stop}s > ${bound}s the drain can take"
	n=$((n + 1))
done
# The check can fail: a misspelt value is reported.
sed 's/^KillMode=mixed/KillMode=mixd/' "$T/units/lighttpd.service" >"$T/units/broken.service"
verify "$T/units/broken.service" && fail "systemd-analyze did not notice KillMode=mixd"
pass "$n unit files pass systemd-analyze verify, with TimeoutStopSec= above the drain's bound"
