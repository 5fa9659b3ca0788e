#!/bin/sh
# SPDX-License-Identifier: MIT
# A CGI script that streams its reply: the line "chunk I/N" N times (N=6), 500 ms apart, each
# written at once (printf is the shell's own: no buffering), about 2.5 s in all.
n=6
printf 'Content-Type: text/plain\r\n\r\n'
i=0
while [ "$i" -lt "$n" ]; do
	[ "$i" -eq 0 ] || sleep 0.5
	printf 'chunk %d/%d\n' "$i" "$n"
	i=$((i + 1))
done
