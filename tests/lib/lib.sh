# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# lib.sh: helpers for the end-to-end tests. Source it first thing; it makes a private temporary
# directory ($T), and on exit kills only the processes the test started (by their recorded pid)
# and removes $T (KEEP=1 keeps it, for a look after a failure). Every wait is a poll with a
# deadline.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# TEST_BUILD: the build under test (make check-e2e sets it: build, or build/san-* for a
# sanitizer build, with SANITIZE set too).
BUILD=$ROOT/${TEST_BUILD:-build}
LIB=$BUILD/liblastcall.so
EX=$BUILD/examples
TOOLS=$BUILD/tests
# LIBC: the C library of the build under test, glibc or musl (make check-musl's build), from
# the mark the library carries (shim/libc.c).
LIBC=$(tr -c '[:print:]' '\n' <"$LIB" 2>/dev/null | sed -n 's/^lastcall-libc=//p' | head -n 1)
LIBC=${LIBC:-glibc}
PYTHON=${PYTHON:-/usr/bin/python3}
CLIENT=("$PYTHON" "$ROOT/tests/lib/client.py")
T=$(mktemp -d "${TMPDIR:-/tmp}/lastcall-e2e.XXXXXX")
PIDS=()

# any_alive PID...: whether one of them is still running.
any_alive() {
	local p
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && return 0
	done
	return 1
}

cleanup() {
	local p status=$?
	# Only the test's own shell cleans up: a forked copy of it (a subshell that a signal
	# ended before it could exec) must not kill the test's processes or remove its files.
	[ "$BASHPID" = "$LIB_SHELL" ] || exit "$status"
	# A spawn helper takes SIGTERM as "kill everything you started" (its whole tree, orphans
	# included), which it must be given time to do; then SIGKILL for whatever is left.
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	poll_until 2000 eval '! any_alive "${PIDS[@]}"'
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	# A sanitizer's report from any process fails the test, even one that passed.
	if compgen -G "$T/sanitizer*" >/dev/null; then
		echo "FAIL: sanitizer reports:" >&2
		cat "$T"/sanitizer* >&2
		status=1
	fi
	if [ -n "${KEEP:-}" ]; then
		echo "   KEEP: the test's files are in $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$status"
}
LIB_SHELL=$BASHPID
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

pass() {
	echo "ok - $*"
}

note() {
	echo "   $*"
}

# skip REASON: a scenario of the test cannot run here, for REASON. Says so, and records it in
# the file TEST_SKIPS names (set by tests/e2e/run, which counts and lists the skips), so that a
# test that passes is not taken to have shown what it skipped.
skip() {
	echo "   skip: $*"
	[ -z "${TEST_SKIPS:-}" ] || echo "$*" >>"$TEST_SKIPS"
}

# skip_test REASON: the whole test cannot run here: skip, then exit 77, which tests/e2e/run
# reports as SKIPPED (automake's convention), never as passed.
skip_test() {
	skip "$@"
	exit 77
}

now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# poll_until MS COMMAND...: runs COMMAND every 20 ms until it succeeds; returns 1 after MS.
poll_until() {
	local end=$(($(now_ms) + $1))
	shift
	until "$@"; do
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.02
	done
}

# spawn NAME COMMAND...: starts COMMAND under the spawn helper. Sets PID (and SPAWN_PID, the
# helper's own); output goes to $T/NAME.log, the exit to $T/NAME.status. SPAWN_MODE=-r or -k
# makes the helper the tree's reaper (see tests/tools/spawn.c).
spawn() {
	local name=$1
	shift
	rm -f "$T/$name.pid" "$T/$name.status" "$T/$name.port" # nothing from an earlier run
	"$TOOLS/spawn" ${SPAWN_MODE:-} "$T/$name.pid" "$T/$name.status" "$@" >"$T/$name.log" 2>&1 &
	SPAWN_PID=$!
	PIDS+=("$SPAWN_PID")
	poll_until 5000 test -s "$T/$name.pid" || fail "$name did not start"
	PID=$(cat "$T/$name.pid")
	PIDS+=("$PID")
}

# A sanitizer build: the sanitizer's runtime must be loaded ahead of everything else, so it
# is preloaded first; its reports go to files, which fail the test (see cleanup).
SAN_RUNTIME=""
case ${SANITIZE:-} in
*address*) SAN_RUNTIME=$(${CC:-cc} -print-file-name=libasan.so) ;;
*thread*)
	# TSan's runtime preloaded alone crashes uninstrumented programs (sh, python3) at start:
	# it needs an instrumented library loaded to initialise. An empty one goes with it.
	SAN_RUNTIME=$(${CC:-cc} -print-file-name=libtsan.so):$TOOLS/libtsaninit.so
	;;
esac
if [ -n "${SANITIZE:-}" ]; then
	# The servers are not instrumented, and may leak as they please: only lastcall's errors
	# count. (The runtime is preloaded first; verify_asan_link_order=0 for the tests that put
	# the library ahead of everything on purpose.)
	export ASAN_OPTIONS="log_path=$T/sanitizer:detect_leaks=0:verify_asan_link_order=0"
	export UBSAN_OPTIONS="log_path=$T/sanitizer:print_stacktrace=1:halt_on_error=1"
	# io_sync=0: lastcall moves fds under the program (the stand-in) where TSan cannot see it,
	# so its fd-based synchronisation would be wrong; die_after_fork=0: pre-fork servers fork
	# once lastcall's thread runs.
	export TSAN_OPTIONS="log_path=$T/sanitizer:second_deadlock_stack=1:io_sync=0:die_after_fork=0:atexit_sleep_ms=0:suppressions=$ROOT/tests/tsan.supp"
fi

# SPIN_MS: the CPU time above which a server idle through a 2 s drain is taken to spin. A
# spinning thread uses about 2000 ms in that time; ThreadSanitizer multiplies the cost of
# honest work by five or more, so its bound is higher, and still below a spin.
SPIN_MS=300
case ${SANITIZE:-} in
*thread*) SPIN_MS=1600 ;;
esac

# EARLY_PRELOAD: what leads an LD_PRELOAD a test sets itself. TSan's runtime must (loaded after
# libc, as the library's dependency, it crashes the program at start); ASan's loads fine that
# way, and leading there it changed how a process starts under a storm of SIGTERMs (one start
# in test 23 died of SIGSEGV without lastcall).
EARLY_PRELOAD=""
[[ ${SANITIZE:-} = *thread* ]] && EARLY_PRELOAD=$SAN_RUNTIME:

# "${LASTCALL[@]}" COMMAND...: COMMAND with the library preloaded.
LASTCALL=(env "LD_PRELOAD=${SAN_RUNTIME:+$SAN_RUNTIME:}$LIB")

# preloaded LIB: the LD_PRELOAD the command gives the program when it runs with library LIB
# and LD_PRELOAD=$SAN_RUNTIME: LIB comes first, but after a sanitizer's runtime.
preloaded() {
	if [ -n "$SAN_RUNTIME" ]; then
		echo "${SAN_RUNTIME%%:*}:$1${SAN_RUNTIME#"${SAN_RUNTIME%%:*}"}"
	else
		echo "$1"
	fi
}

# "${COMMAND[@]}" ARGS...: the lastcall command, using the library under test. PRELOADED is
# the LD_PRELOAD it gives the program.
export LASTCALL_LIBRARY=$LIB
COMMAND=("$ROOT/bin/lastcall")
[ -n "$SAN_RUNTIME" ] && COMMAND=(env "LD_PRELOAD=$SAN_RUNTIME" "$ROOT/bin/lastcall")
PRELOADED=$(preloaded "$LIB")

# server NAME COMMAND...: spawn, then wait for the port file --port-file $T/NAME.port. Sets PORT.
server() {
	local name=$1
	shift
	spawn "$name" "$@" --port 0 --port-file "$T/$name.port"
	poll_until 5000 test -s "$T/$name.port" || fail "$name did not listen: $(cat "$T/$name.log")"
	PORT=$(cat "$T/$name.port")
}

# wait_status NAME MS: waits for the process to end; sets STATUS ("exit N" or "signal N"),
# ENDED (the exit time, ms), CPU (user+system CPU it used, ms), and under a reaper spawn
# TREE_ALIVE and TREE_ZOMBIES (its descendants left running, or unreaped, when it ended).
wait_status() {
	local a b
	poll_until "$2" test -s "$T/$1.status" || fail "$1 still running after $2 ms"
	read -r a b _ ENDED _ CPU _ TREE_ALIVE TREE_ZOMBIES <"$T/$1.status"
	STATUS="$a $b"
}

# tree_state PID: for a failure's message, one line per thread of PID and of its descendants:
# its state, the system call it is in (/proc/TID/syscall: number and arguments) and its name.
tree_state() {
	local p t
	for p in "$1" $(descendants "$1"); do
		for t in /proc/"$p"/task/*; do
			[ -d "$t" ] || continue
			echo "$p/${t##*/} $(awk '{print $3}' "$t/stat" 2>/dev/null) $(cut -d' ' -f1-3 "$t/syscall" 2>/dev/null) $(cat "$t/comm" 2>/dev/null)"
		done
	done
}

# descendants PID: every process below PID (the children of each of its threads).
descendants() {
	local kid
	for kid in $(cat "/proc/$1"/task/*/children 2>/dev/null); do
		echo "$kid"
		descendants "$kid"
	done
}

# has_descendants PID, no_descendants PID: whether anything, or nothing, is below PID.
has_descendants() {
	[ -n "$(descendants "$1")" ]
}
no_descendants() {
	! has_descendants "$1"
}

# start_requests NAME COUNT CLIENT-ARGS...: starts the client in the background against $PORT
# and waits until COUNT requests are sent and accepted by the server. Sets CLIENT_PID; the
# client's output goes to $T/NAME.client.
start_requests() {
	local name=$1 count=$2
	shift 2
	rm -f "$T/$name.ready"
	"${CLIENT[@]}" --port "$PORT" --count "$count" --ready "$T/$name.ready" "$@" \
		>"$T/$name.client" 2>&1 &
	CLIENT_PID=$!
	poll_until 10000 test -e "$T/$name.ready" || fail "$name: requests not sent"
	wait_accepted "$PORT" "$count" 10000 || fail "$name: requests not accepted"
}

# finish_requests NAME: waits for the client; sets OK and LOST from its summary.
finish_requests() {
	wait "$CLIENT_PID"
	OK=$(summary_field "$T/$1.client" ok)
	LOST=$(($(grep -c '^request ' "$T/$1.client") - OK))
}

# accepted_count PORT: server-side connections on PORT that the program has accepted (all
# established ones, the listener's accept queue being empty).
accepted_count() {
	local queued
	queued=$(ss -Hltn "sport = :$1" | awk '{print $2}')
	[ "${queued:-0}" -eq 0 ] || { echo 0; return; }
	ss -Htn state established "sport = :$1" | wc -l
}

# accepted PORT N: whether the server has accepted N connections.
accepted() {
	[ "$(accepted_count "$1")" -ge "$2" ]
}

# wait_accepted PORT N MS: until the server has accepted N connections.
wait_accepted() {
	poll_until "$3" accepted "$1" "$2"
}

# drains NAME: how many drains lastcall started in the test NAME's processes (its log).
drains() {
	grep -c 'info: draining on' "$T/$1.log"
}

# read_summary LOG [PID]: reads lastcall's key=value drain summary from the file LOG (the first
# one, or PID's) into the associative array SUMMARY: SUMMARY[on] (SIGTERM, ..., or exit), [ms],
# [finished] (connections that finished on their own), [idle] (closed as idle), [deadline]
# (closed at the deadline), [children] (children that ended), [passed] (passed the signal),
# [termed] (sent SIGTERM at the deadline), [killed], [unseen] (found closed without close()).
# Returns 1, SUMMARY empty, if there is none.
declare -A SUMMARY=()
SUMMARY_KEYS="on ms finished idle deadline children passed termed killed unseen"
read_summary() {
	local line
	line=$(grep -m1 "lastcall\[${2:-[0-9]*}\]: [a-z]*: summary: " "$1" 2>/dev/null)
	parse_summary "$1" "$line"
}

# parse_summary WHERE LINE: SUMMARY from one summary line (for read_summary, summary_sum); fails,
# naming WHERE, if a key is missing; returns 1 if LINE is empty.
parse_summary() {
	local kv key
	SUMMARY=()
	[ -n "$2" ] || return 1
	for kv in ${2#*: summary: }; do
		[[ $kv =~ ^[a-z]+=[A-Za-z0-9]+$ ]] && SUMMARY[${kv%%=*}]=${kv#*=}
	done
	for key in $SUMMARY_KEYS; do
		[ -n "${SUMMARY[$key]:-}" ] || fail "$1: unreadable summary (no $key): $2"
	done
}

# summary_get LOG KEY [PID]: one value of the summary read_summary reads; nothing, and status 1,
# if there is none.
summary_get() {
	read_summary "$1" "${3:-}" && echo "${SUMMARY[$2]}"
}

# summaries LOG: how many drain summaries the file LOG has (one per drain that ended, in each
# process that logs to it).
summaries() {
	grep -c 'lastcall\[[0-9]*\]: [a-z]*: summary: ' "$1"
}

# summary_values LOG KEY: KEY of every summary in LOG, one a line.
summary_values() {
	local line
	while read -r line; do
		parse_summary "$1" "$line"
		echo "${SUMMARY[$2]}"
	done < <(grep 'lastcall\[[0-9]*\]: [a-z]*: summary: ' "$1")
}

# summary_sum LOG KEY: KEY summed over every summary in LOG (0 if there is none).
summary_sum() {
	summary_values "$1" "$2" | awk '{n += $1} END {print n + 0}'
}

# drain_summary NAME [PID]: reads lastcall's summary (the first, or PID's) from $T/NAME.log into
# DRAIN_MS, FINISHED (connections that finished on their own), IDLE_CLOSED (closed by lastcall
# as idle) and CUT (closed at the deadline); fails if there is none.
drain_summary() {
	read_summary "$T/$1.log" "${2:-}" ||
		fail "$1: no drain summary${2:+ from pid $2}: $(cat "$T/$1.log")"
	DRAIN_MS=${SUMMARY[ms]} FINISHED=${SUMMARY[finished]} IDLE_CLOSED=${SUMMARY[idle]}
	CUT=${SUMMARY[deadline]}
}

# idle_closed NAME: connections lastcall closed as idle, summed over every process of NAME's log
# that drained (a process tree logs one summary per process).
idle_closed() {
	summary_sum "$T/$1.log" idle
}

# scripts_running PID N: whether N of PID's descendants are CGI scripts in their sleep. A script
# that has not got that far cannot be helped: a SIGTERM between its exec and lastcall's start in
# it (long under a sanitizer) takes the default action, as without lastcall.
scripts_running() {
	local kid comm n=0
	for kid in $(descendants "$1"); do
		{ read -r comm <"/proc/$kid/comm"; } 2>/dev/null && [ "$comm" = sleep ] && n=$((n + 1))
	done
	[ "$n" -ge "$2" ]
}

# free_port: a TCP port on 127.0.0.1 free right now, for servers that cannot take port 0.
free_port() {
	"$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_listening PORT MS: until something listens on 127.0.0.1:PORT.
wait_listening() {
	poll_until "$2" sh -c "ss -Hltn 'sport = :$1' | grep -q ."
}

# lighttpd_conf [--port N] NAME ROOT [LINE...]: writes $T/NAME.conf, lighttpd on 127.0.0.1 at
# port N or a free one (it cannot take port 0) serving ROOT, its errors to $T/NAME.error, each
# LINE added. Sets PORT.
LIGHTTPD=${LIGHTTPD:-$(command -v lighttpd || echo /usr/sbin/lighttpd)}
lighttpd_conf() {
	local name root
	if [ "$1" = --port ]; then
		PORT=$2
		shift 2
	else
		PORT=$(free_port)
	fi
	name=$1 root=$2
	shift 2
	{
		echo "server.document-root = \"$root\""
		echo 'server.bind = "127.0.0.1"'
		echo "server.port = $PORT"
		echo "server.errorlog = \"$T/$name.error\""
		[ $# -eq 0 ] || printf '%s\n' "$@"
	} >"$T/$name.conf"
}

# lighttpd_started NAME: waits until lighttpd NAME listens on PORT and has logged that it
# started, which it does after it set its signal handlers (it listens before).
lighttpd_started() {
	wait_listening "$PORT" 5000 || fail "$1 did not listen: $(cat "$T/$1.log")"
	poll_until 5000 grep -q 'server started' "$T/$1.error" ||
		fail "$1 did not start: $(cat "$T/$1.log")"
}

# delivered PID SIGNUM: the signal is no longer pending for the process (standard signals are
# not queued: a second one sent while the first is pending is merged into it).
delivered() {
	local mask
	mask=$(awk '/^ShdPnd:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 0
	[ -z "$mask" ] || [ $((16#$mask >> ($2 - 1) & 1)) -eq 0 ]
}

# cpu_ms PID: the CPU time PID has used so far, user and system, in ms.
cpu_ms() {
	# utime + stime from /proc/PID/stat (clock ticks: getconf CLK_TCK).
	local f
	read -ra f <"/proc/$1/stat"
	echo $(((f[13] + f[14]) * 1000 / $(getconf CLK_TCK)))
}

# receiver NAME ADDRESS: a systemd notification socket at ADDRESS (a path, or @name for an
# abstract one); the datagrams it gets go to $T/NAME.notify, one per line.
receiver() {
	rm -f "$T/$1.notify" "$T/$1.notify.ready"
	"$PYTHON" "$ROOT/tests/lib/notify_listen.py" "$2" "$T/$1.notify" --seconds 60 &
	PIDS+=("$!")
	poll_until 5000 test -e "$T/$1.notify.ready" || fail "$1: no notification socket"
}

# glibc_only WHAT PROGRAM: whether scenario WHAT, which preloads the library into Debian's
# PROGRAM (python3, node, lighttpd: Debian's programs are linked against glibc), can run
# against this build; if not (a musl build), skips it.
glibc_only() {
	[ "$LIBC" != musl ] && return 0
	skip "$1: Debian's $2 is linked against glibc: a musl build cannot be loaded into it"
	return 1
}

# check WHAT COMMAND...: records a failure in FAILED instead of stopping, so that every scenario
# runs and the test's table shows each one's figures; checked, at the end, fails if any did.
FAILED=()
check() {
	local what=$1
	shift
	"$@" || FAILED+=("$what")
}
checked() {
	[ "${#FAILED[@]}" -eq 0 ] && return
	printf 'FAIL: %s\n' "${FAILED[@]}" >&2
	exit 1
}

# ended NAME MS: waits MS for the process to end, as wait_status does; one still running then is
# a failure (check), and is killed with its descendants (all listed first: none escapes). T0:
# when it was signalled.
ended() {
	local tree
	if ! poll_until "$2" test -s "$T/$1.status"; then
		FAILED+=("$1: still running $(($(now_ms) - T0)) ms after SIGTERM")
		mapfile -t tree < <(descendants "$PID")
		kill -KILL "${tree[@]}" "$PID" 2>/dev/null
	fi
	wait_status "$1" 10000
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# summary_field FILE NAME: a count from the client's summary line.
summary_field() {
	sed -n "s/^summary .*\\b$2=\\([0-9]*\\).*/\\1/p" "$1"
}
