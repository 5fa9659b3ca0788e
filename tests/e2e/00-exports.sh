#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The library exports exactly the hooked libc names (shim/exports.map), nothing of its own.
. "$(dirname "$0")/../lib/lib.sh"

want=$(sed -n '/global:/,/local:/p' "$ROOT/shim/exports.map" | tr -s ' \t;' '\n' |
	grep -v -e '^$' -e ':$' -e '^\*$' | sort)
got=$(nm -D --defined-only "$LIB" | awk '{print $3}' | sort)
[ -n "$want" ] || fail "no names found in exports.map"
[ "$got" = "$want" ] || fail "exported symbols differ from exports.map:
$(diff <(echo "$want") <(echo "$got"))"
pass "$(echo "$got" | wc -l) symbols exported, exactly the hooks"
! nm -D --defined-only "$LIB" | grep -q ' lc_' || fail "internal lc_ symbols leak"
pass "no lc_ symbol is visible to the program"
