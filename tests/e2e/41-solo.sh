#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A program with one thread keeps glibc's single-threaded paths once lastcall's thread runs
# (shim/solo.c). tests/servers/solo reads __libc_single_threaded, its own copy and libc's,
# after it accepted (lastcall armed, its thread running), in a child of fork() and in the
# parent after it. Before solo.c the flag was 0 from the moment lastcall's thread was made,
# and every read, write and epoll_wait took glibc's multi-threaded path (bench figure 8).
# What the flag would break, it must not:
# - a thread the program starts later clears it again, in both copies (--thread);
# - every set*id call, as root, still changes every thread's credentials, lastcall's
#   included: glibc changes only the caller's while it believes it has one thread;
# - lastcall's thread allocates nothing while it drains, since malloc then takes no lock
#   (--mallocs: SIGTERM with a request in flight; the program counts the allocations made on
#   lastcall's thread).
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"

[ "$LIBC" != musl ] || skip_test "the program is linked against glibc: a musl build cannot be loaded"
VERSION=$(getconf GNU_LIBC_VERSION)
[ "$VERSION" = "glibc 2.36" ] ||
	skip_test "$VERSION: lastcall sets the flag only on glibc 2.36, whose uses of it were read"
SOLO=$TOOLS/solo

# run NAME PRELOAD ARGS...: the program's lines in $T/NAME.out.
run() {
	local name=$1 cmd=("$SOLO")
	[ "$2" = 1 ] && cmd=("${LASTCALL[@]}" "${cmd[@]}")
	shift 2
	LASTCALL_TIMEOUT=10s timeout 60 "${cmd[@]}" "$@" >"$T/$name.out" 2>"$T/$name.err" ||
		fail "$name: exit $? ($(tail -3 "$T/$name.err"))"
}
line() {
	sed -n "s/^$2 //p" "$T/$1.out"
}

run without 0
expect_eq "without lastcall: its threads" "$(line without thread)" 0
expect_eq "without lastcall: single" "$(line without single)" "1 1"
expect_eq "without lastcall: in a child" "$(line without child-single)" "1 1"

run with 1
expect_eq "with lastcall: its threads" "$(line with thread)" 1
expect_eq "with lastcall: single" "$(line with single)" "1 1"
expect_eq "with lastcall: its threads in a child" "$(line with child-thread)" 1
expect_eq "with lastcall: single in a child" "$(line with child-single)" "1 1"
expect_eq "with lastcall: single in the parent after fork" "$(line with parent-single)" "1 1"
if [ "$(id -u)" = 0 ]; then
	expect_eq "set*id calls" "$(grep -c '^creds ' "$T/with.out")" 10
	differ=$(grep '^creds .* differ' "$T/with.out" | cut -d' ' -f2 | tr '\n' ' ')
	[ -z "$differ" ] || fail "lastcall's thread kept its credentials after: $differ"
else
	skip "set*id: not root, the calls cannot change credentials"
fi

run thread 1 --thread
expect_eq "a thread of the program's: its threads" "$(line thread thread)" 1
expect_eq "a thread of the program's: single" "$(line thread single)" "0 0"
expect_eq "a thread of the program's: in the parent after fork" "$(line thread parent-single)" "0 0"

if [ -n "${SANITIZE:-}" ]; then
	skip "allocations on lastcall's thread: the program's malloc() would stand in for the sanitizer's"
else
	run mallocs 1 --mallocs
	expect_eq "the drain: SIGTERM handed back" "$(line mallocs term)" 1
	expect_eq "the drain: single" "$(line mallocs single)" "1 1"
	expect_eq "allocations on lastcall's thread while it drained" "$(line mallocs mallocs)" 0
	grep -q 'finished=1 ' "$T/mallocs.err" || fail "the request was not finished: $(tail -2 "$T/mallocs.err")"
fi
pass "one thread in glibc's eyes: single 1 1 with lastcall, in a fork child too; a thread of the program's clears it; set*id reaches every thread; no allocation on lastcall's thread"
