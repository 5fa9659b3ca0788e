#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh BINARY SECONDS MAX_LEN NEW_DIR CORPUS_DIR: runs one libFuzzer target for SECONDS over
# NEW_DIR and CORPUS_DIR (new inputs go to NEW_DIR, crashing ones to build/fuzz/crashes/), its
# output in BINARY.log, and prints one line: the executions and the crashes. Fails on a crash.
set -eu
bin=$1 seconds=$2 max_len=$3 new=$4 corpus=$5
name=$(basename "$bin")
crashes=$(dirname "$bin")/crashes
mkdir -p "$new" "$crashes"
status=0
"$bin" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -print_final_stats=1 \
	-dict=tests/fuzz/lastcall.dict -artifact_prefix="$crashes/$name-" "$new" "$corpus" \
	>"$bin.log" 2>&1 || status=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$bin.log")
if [ "$status" = 0 ]; then
	echo "$name: ${runs:-?} runs, 0 crashes"
else
	why=$(grep -m1 -E 'property failed|ERROR: ' "$bin.log" || true)
	echo "$name: ${runs:-?} runs, 1 crash: ${why:-exit status $status} (see $bin.log)"
fi
exit "$status"
