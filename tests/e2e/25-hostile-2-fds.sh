#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A hostile environment, scenario 2 and 3, no file or socket with a path, and close-on-exec fds.
# What these tests check and why, and the helpers they share: tests/lib/hostile.sh.
# shellcheck disable=SC2153 # PID: set by lib.sh's spawn
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh disable=SC1091
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/hostile.sh disable=SC1091
. "$ROOT/tests/lib/hostile.sh"

# listener_fd PID PORT: the fd of PID that holds the TCP listener on PORT.
listener_fd() {
	local ino f
	ino=$(ss -Hltne "sport = :$2" | grep -o 'ino:[0-9]*' | head -n 1)
	for f in /proc/"$1"/fd/*; do
		[ "$(readlink "$f")" = "socket:[${ino#ino:}]" ] && echo "${f##*/}" && return
	done
}

# 2 and 3. The fds of a fork-per-connection server (examples/forking) and of the child serving
#    a slow request: without lastcall, then under lastcall during the drain, when lastcall holds
#    the most (its wake pipe and log, its epoll sets, a pidfd for the child, the stand-in). An fd
#    number the run without lastcall does not have is lastcall's. The server runs in an empty
#    directory with an empty TMPDIR of its own.
for preload in 0 1; do
	name=fork-$preload
	mkdir "$T/$name.cwd" "$T/$name.tmp"
	cmd=(env -C "$T/$name.cwd" TMPDIR="$T/$name.tmp")
	[ "$preload" = 1 ] && cmd+=("${LASTCALL[@]}")
	cmd+=("$EX/forking")
	server "$name" "${cmd[@]}"
	lfd=$(listener_fd "$PID" "$PORT")
	[ -n "$lfd" ] || fail "$name: no listener fd"
	lflags=$(awk '/^flags:/ {print $2}' "/proc/$PID/fdinfo/$lfd")
	# Under lastcall the request keeps the drain going while the fds are read (about four
	# forks per fd): 4 s leaves room for a loaded machine and a sanitizer build.
	start_requests "$name" 1 --path "/delay/$((2000 + preload * 2000))"
	poll_until 5000 has_descendants "$PID" || fail "$name: no child"
	kid=$(descendants "$PID")
	if [ "$preload" = 1 ]; then
		kill -TERM "$PID"
		poll_until 5000 grep -q 'info: draining on' "$T/$name.log" || fail "$name: no drain"
	fi
	fds "$name.parent" "$PID"
	fds "$name.child" "$kid"
	# Taken during the drain: it is still going.
	[ "$preload" = 0 ] || ! read_summary "$T/$name.log" ||
		fail "$name: the drain ended before the fds were read"
	[ "$preload" = 1 ] || kill -TERM "$PID"
	wait_status "$name" 10000
	finish_requests "$name"
done
expect_eq "with lastcall: lost" "$LOST" 0

# 2. No filesystem entries: every file an fd names is one the program has open without lastcall
#    too; every AF_UNIX socket of either process is abstract or unnamed (the stand-in is
#    abstract); the empty directories stay empty.
unix=0
for role in parent child; do
	note "$role, under lastcall, during the drain: every fd (FD TARGET FLAGS [AF_UNIX ADDRESS]):"
	while read -r fd target flags path; do
		note "  $fd $target $flags${path:+ $path}"
		case $target in
		socket:*)
			[ -z "$path" ] && continue # not AF_UNIX (TCP)
			unix=$((unix + 1))
			case $path in
			@* | -) ;;
			*) fail "$role: fd $fd is an AF_UNIX socket bound to the path $path" ;;
			esac
			;;
		/*)
			# (the same file in the run without lastcall: fork-0's log for fork-1's)
			grep -qF " ${target/fork-1./fork-0.} " "$T/fork-0.$role.fds" ||
				fail "$role: fd $fd names $target, which the program does not open"
			;;
		esac
	done <"$T/fork-1.$role.fds"
done
spath=$(awk -v fd="$lfd" '$1 == fd {print $4}' "$T/fork-1.parent.fds")
case $spath in
@?*) ;;
*) fail "the stand-in on fd $lfd is not an abstract AF_UNIX socket: '$spath'" ;;
esac
left=$(find "$T/fork-1.cwd" "$T/fork-1.tmp" -mindepth 1 | wc -l)
expect_eq "files in the server's directory and TMPDIR" "$left" 0
note "$unix AF_UNIX sockets, none with a path (the stand-in on fd $lfd is $spath); nothing" \
	"created in the working directory or TMPDIR"
pass "lastcall creates no file and no socket with a path"

# 3. Close-on-exec (O_CLOEXEC is 02000000 in fdinfo's octal flags).
private=0 cloexec=0 list=""
for role in parent child; do
	while read -r fd target flags _; do
		grep -q "^$fd " "$T/fork-0.$role.fds" && continue
		private=$((private + 1))
		list+="$role $fd ${target%%:*}, "
		if (((8#$flags & 8#2000000) != 0)); then
			cloexec=$((cloexec + 1))
		else
			fail "$role: lastcall's fd $fd ($target) is not close-on-exec: flags $flags"
		fi
	done <"$T/fork-1.$role.fds"
done
[ "$private" -ge 4 ] || fail "only $private fds of lastcall's found: ${list%, }"
# The stand-in holds the program's fd number, with the listener's own close-on-exec flag.
sflags=$(awk -v fd="$lfd" '$1 == fd {print $3}' "$T/fork-1.parent.fds")
expect_eq "the stand-in's close-on-exec flag, as the listener's" \
	$(((8#$sflags & 8#2000000) != 0)) $(((8#$lflags & 8#2000000) != 0))
note "$private fds of lastcall's ($cloexec close-on-exec): ${list%, }; the stand-in on fd" \
	"$lfd, flags $sflags (the listener's were $lflags)"
pass "every fd lastcall owns is close-on-exec"

bugs_checked
