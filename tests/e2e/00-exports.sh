#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The library exports exactly its hooks, nothing of its own. The hooks are read from the source:
# every function a shim/*.c file defines with LC_EXPORT (shim/hooks.c), or with a line
# SETXID(name, ...) (a macro of hooks.c that defines one with LC_EXPORT), and every name
# include/lastcall/*.h declares with LC_LIBC_EXPORT must be one of them. Each hook must be in
# the version script (shim/exports.map) and in the library's dynamic exports, and neither may
# have a name that is not a hook.
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"

# defined MARK FILE...: the names of the functions FILEs define with MARK at the start of their
# first line (a definition's signature is followed by a line "{", a declaration ends in ";").
defined() {
	local mark=$1
	shift
	awk -v mark="$mark" '
		$1 == mark { sig = ""; on = 1 }
		on && /^\{/ { sub(/\(.*/, "", sig); n = split(sig, w, /[ \t*]+/); print w[n]; on = 0; next }
		on { sig = sig " " $0; if ($0 ~ /;[ \t]*$/) on = 0 }
	' "$@" | sort -u
}

# declared MARK FILE...: the names FILEs declare with MARK at the start of a line.
declared() {
	local mark=$1
	shift
	awk -v mark="$mark" '
		$1 == mark { s = $0; sub(/\(.*/, "", s); n = split(s, w, /[ \t*]+/); print w[n] }
	' "$@" | sort -u
}

# differ WHAT A B: fails, listing them, if the sorted lists A and B differ: names only in A are
# "missing from WHAT", names only in B "in WHAT, not a hook".
differ() {
	local missing extra
	missing=$(comm -23 <(echo "$2") <(echo "$3") | paste -sd' ' -)
	extra=$(comm -13 <(echo "$2") <(echo "$3") | paste -sd' ' -)
	[ -z "$missing$extra" ] && return
	fail "$1: ${missing:+hooks missing: $missing}${missing:+${extra:+; }}${extra:+not hooks: $extra}"
}

hooks=$({
	defined LC_EXPORT "$ROOT"/shim/*.c
	sed -n 's/^SETXID(\([a-z_0-9]*\),.*/\1/p' "$ROOT"/shim/*.c
} | sort -u)
[ "$(echo "$hooks" | grep -c .)" -ge 10 ] || fail "too few hooks found in shim/*.c: $hooks"
libc=$(declared LC_LIBC_EXPORT "$ROOT"/include/lastcall/*.h)
[ -n "$libc" ] || fail "no LC_LIBC_EXPORT declarations found in include/lastcall/"
missing=$(comm -23 <(echo "$libc") <(echo "$hooks") | paste -sd' ' -)
[ -z "$missing" ] || fail "declared with LC_LIBC_EXPORT, defined by no hook: $missing"

map=$(sed -n '/global:/,/local:/p' "$ROOT/shim/exports.map" | tr -s ' \t;' '\n' |
	grep -v -e '^$' -e ':$' -e '^\*$' | sort)
exported=$(nm -D --defined-only "$LIB" | awk '{print $3}' | sort)
[ -n "$exported" ] || fail "nm -D --defined-only $LIB lists nothing"
differ "shim/exports.map" "$hooks" "$map"
differ "the exports of $LIB" "$hooks" "$exported"
pass "$(echo "$hooks" | wc -l) hooks defined in shim/ (LC_EXPORT), the same in shim/exports.map" \
	"and in the library's dynamic exports, nothing else"
! nm -D --defined-only "$LIB" | grep -q ' lc_' || fail "internal lc_ symbols leak"
pass "no lc_ symbol is visible to the program"
