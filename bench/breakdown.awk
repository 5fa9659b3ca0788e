# SPDX-License-Identifier: MIT
# breakdown.awk: where the extra instructions of one call go (bench/run.sh, figure 1). Reads
# callgrind_annotate's function list for the two runs of each way, each line prefixed with
# "with|without N", and prints "INSTRUCTIONS<tab>FUNCTION (WHOSE)" per function whose self
# cost per call differs, with minus without, and the total. Variables: root (the repository),
# n1 and n2 (the calls in the two runs).

# "RUN N IR (PCT) FILE:FUNCTION [OBJECT]"; PCT may be padded with a space.
$3 ~ /^[0-9,]+$/ && match($0, /%\)  *[^ ]+:[^ ]+/) {
	ir = $3
	gsub(",", "", ir)
	where = substr($0, RSTART, RLENGTH)
	sub(/^%\)  */, "", where)
	file = where
	sub(/:[^:]*$/, "", file)
	if (index(file, root "/") == 1)
		file = substr(file, length(root) + 2)
	fn = where
	sub(/^[^:]*:/, "", fn)
	# Code inlined from a header is listed under the header, with its caller's name.
	if (file ~ /^(shim|include)\//)
		key = fn " (lastcall)"
	else if (file ~ /^bench\//)
		key = fn " (the driver)"
	else
		key = fn " (libc)"
	per_call = ($1 == "with" ? 1 : -1) * ($2 == n2 ? ir : -ir) / (n2 - n1)
	cost[key] += per_call
	total += per_call
}

END {
	for (k in cost)
		if (cost[k] >= 0.5 || cost[k] <= -0.5)
			printf "%.0f\t%s\n", cost[k], k
	printf "%.0f\ttotal\n", total
}
