#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The house rules of shim/ and include/lastcall/, checked (make check-layers):
# - every module is in the layer table of docs/design.md ("## Modules"), and every row names a
#   module that exists;
# - a module includes only modules before it in the table (lower layers, or earlier in its own);
# - no .c or .h file is over 500 lines;
# - every .c file says what it owns in its first comment, right under the licence line.
# Prints each violation and exits 1 if there is one. tests/layers.sh --graph prints the include
# graph instead.
set -u
cd "$(dirname "$0")/.." || exit 1
MAX_LINES=500

# The table's rows: "| layer | `module` | owns |", in order.
mapfile -t order < <(sed -n '/^## Modules/,/^## /p' docs/design.md |
	sed -n 's/^| *[0-9][0-9]* *| *`\([a-z_]*\)` *|.*/\1/p')
[ ${#order[@]} -gt 0 ] || { echo "layers: no table under '## Modules' in docs/design.md"; exit 1; }
declare -A pos
for i in "${!order[@]}"; do pos[${order[$i]}]=$i; done

modules() {
	{ ls shim/*.c include/lastcall/*.h | sed 's|.*/||; s|\.[ch]$||'; } | sort -u
}

includes() { # the modules a module's .c and .h include, itself left out
	cat "shim/$1.c" "include/lastcall/$1.h" 2>/dev/null |
		sed -n 's/^#include "lastcall\/\([a-z_]*\)\.h".*/\1/p' | grep -vx "$1" | sort -u
}

if [ "${1:-}" = --graph ]; then
	for m in "${order[@]}"; do echo "$m: $(includes "$m" | tr '\n' ' ')"; done
	exit 0
fi

bad=0
err() { echo "layers: $*"; bad=1; }

for m in $(modules); do
	[ -n "${pos[$m]+x}" ] || err "$m is not in the table of docs/design.md"
done
for m in "${order[@]}"; do
	[ -e "shim/$m.c" ] || [ -e "include/lastcall/$m.h" ] ||
		err "the table names $m, but there is no shim/$m.c or include/lastcall/$m.h"
	for u in $(includes "$m"); do
		if [ -z "${pos[$u]+x}" ]; then
			err "$m includes $u, which is not in the table"
		elif [ "${pos[$u]}" -gt "${pos[$m]}" ]; then
			err "$m includes $u, which comes after it in the table"
		fi
	done
done
for f in shim/*.c include/lastcall/*.h parent/*.c parent/*.h; do
	n=$(wc -l <"$f")
	[ "$n" -le $MAX_LINES ] || err "$f has $n lines (at most $MAX_LINES)"
done
for f in shim/*.c; do
	sed -n 2p "$f" | grep -q "^/\* $(basename "$f"): " ||
		err "$f: line 2 must say what it owns: /* $(basename "$f"): ... */"
done
[ $bad = 0 ] && echo "layers: ${#order[@]} modules in order, no include out of order," \
	"no file over $MAX_LINES lines"
exit $bad
