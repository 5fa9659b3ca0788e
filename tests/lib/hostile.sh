# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# hostile.sh: what the hostile environment tests (tests/e2e/25-hostile-*.sh) share. Source it
# after lib.sh. lastcall runs inside other people's programs, some of them privileged, on
# machines other users share. 1. A setuid program run by an ordinary user (secure execution,
# AT_SECURE) must not take lastcall's settings, or a NOTIFY_SOCKET, from that user's environment.
# 2. lastcall creates no file and no socket with a path, which someone could reach or replace.
# 3. Its own fds are close-on-exec: a program's exec'd children never inherit them. 4. Another
# user who connects to a stand-in's abstract name (anyone can read it in /proc/net/unix) must not
# make the server spin or hang, nor cost it a request. Scenarios 3b, 3c and 4 found three bugs
# (a program's dup2() onto the number of lastcall's pidfd sends lastcall's thread into an endless
# loop; with LASTCALL_MAX_FDS=64 the program's close_range() closes lastcall's wake pipe and log;
# a program that polls its listener and then calls a blocking accept() is left blocked for good
# by a stranger's connection that made the stand-in readable): their failures are collected in
# BUGS and fail the test at its end (bugs_checked), after every run has reported. Scenarios 1
# and 4 need root (a setuid-root copy, a second user).

for tool in atsecure handlerflip; do
	[ -x "$TOOLS/$tool" ] || make -s -C "$ROOT" SANITIZE="${SANITIZE:-}" \
		"${TEST_BUILD:-build}/tests/$tool" >/dev/null || fail "cannot build $TOOLS/$tool"
done
# shellcheck disable=SC2034 # used by the scenarios that source this
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups) # nobody, nogroup
BUGS=()

# unix_path INODE: the path /proc/net/unix gives socket INODE ("@name": abstract, "-": none);
# nothing if it is not an AF_UNIX socket.
unix_path() {
	awk -v i="$1" '$7 == i {print (NF >= 8 ? $8 : "-")}' /proc/net/unix
}

# fds NAME PID: "FD TARGET FLAGS [PATH]" for each fd of PID (flags in octal, from fdinfo; PATH
# the address of an AF_UNIX socket, as unix_path gives it), into $T/NAME.fds; an fd closed
# meanwhile is left out.
fds() {
	local f fd target flags
	for f in /proc/"$2"/fd/*; do
		fd=${f##*/}
		target=$(readlink "$f") || continue
		flags=$(awk '/^flags:/ {print $2}' "/proc/$2/fdinfo/$fd" 2>/dev/null)
		[ -n "$flags" ] || continue
		case $target in
		socket:*) echo "$fd $target $flags $(unix_path "$(echo "$target" | tr -dc 0-9)")" ;;
		*) echo "$fd $target $flags" ;;
		esac
	done | sort -n >"$T/$1.fds"
}

# bugs_checked: the test's last step: fails if BUGS has any.
bugs_checked() {
	[ ${#BUGS[@]} -eq 0 ] || fail "$(printf '%s\n' "${BUGS[@]}")"
}
