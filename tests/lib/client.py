#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""HTTP test client for the end-to-end tests.

Opens --count connections at once, sends one GET each and reads the whole reply, then
classifies every request by what the client saw:

  ok         status 200 and the body byte for byte as expected
  reset      ECONNRESET or EPIPE at any point
  truncated  the connection ended before the whole reply arrived
  refused    the connection was refused (ECONNREFUSED)
  corrupt    a whole reply whose body differs from the expected one
  timeout    nothing conclusive within --timeout
  error      anything else (the message says what)

The expected body comes from the path (/delay/MS, /bytes/N, /stream/N/G, / as the example
servers answer) or from --expect-file. A reply with Transfer-Encoding: chunked is decoded (the
body compared is the decoded one; it is truncated if the last, empty chunk never came). With
--upload N the request is a POST whose N-byte body is sent at --upload-rate bytes a second
while the reply is read. With --hold S a keep-alive connection is
kept after its reply, and how the server ends it within S seconds is counted: held_eof (a clean
close), held_reset, held_open. With --send-after FILE every connection is made at once and its
request sent only once FILE exists (and --send-delay seconds more); with --one-by-one a request
is sent only once the reply before it has ended. With --first PATH each connection first gets
PATH, kept alive, and the request counted is its second (--ready-when connected: once the first
reply has come). --ready FILE is written once every request is
in flight: all connections made (--ready-when connected), all requests
sent (--ready-when sent) or every reply has started to arrive (--ready-when first-byte; with
--ready-min K, every request sent and K replies started, for a server that serves one
connection at a time and keeps the others queued). --timing adds to each request's line the
largest gap between two received pieces of its reply, and to the summary paused_ms (the least
of those gaps over the whole replies: every one paused at least that long) and last_at (when
the last whole reply ended, in ms of the realtime clock, as bash's $EPOCHREALTIME).
Prints one line per request and a summary line; exits 0 only if every request was ok.
"""
import argparse
import errno
import os
import socket
import sys
import threading
import time


def expected_body(path, expect_file):
    if expect_file:
        with open(expect_file, "rb") as f:
            return f.read()
    if path.startswith("/delay/"):
        return b"delayed %d\n" % int(path[len("/delay/"):])
    if path.startswith("/bytes/"):
        n = int(path[len("/bytes/"):])
        pattern = bytes(range(ord("a"), ord("z") + 1))
        return (pattern * (n // 26 + 1))[:n]
    if path.startswith("/stream/"):
        n = int(path.split("/")[2])
        return b"".join(b"chunk %d/%d\n" % (i, n) for i in range(n))
    return b"hello\n"


class Request(threading.Thread):
    def __init__(self, args, index, body, started, sent, before):
        super().__init__(daemon=True)
        self.args, self.index, self.body, self.started = args, index, body, started
        self.sent, self.before, self.finished = sent, before, threading.Event()
        self.result, self.detail, self.ms, self.held = "timeout", "", 0.0, None
        self.gap, self.ended = 0.0, None  # largest pause in the reply (ms); its end (time.time())

    def run(self):
        t0 = time.monotonic()
        try:
            self.result, self.detail = self.exchange()
        except ConnectionRefusedError:
            self.result = "refused"
        except (ConnectionResetError, BrokenPipeError):
            self.result = "reset"
        except socket.timeout:
            self.result = "timeout"
        except OSError as e:
            self.result = "reset" if e.errno in (errno.ECONNRESET, errno.EPIPE) else "error"
            self.detail = str(e)
        self.ms = (time.monotonic() - t0) * 1000
        self.finished.set()

    def wait_to_send(self):
        """--send-after, --send-delay, --one-by-one: waits, within --timeout, until it is time."""
        a = self.args
        deadline = time.monotonic() + a.timeout
        while a.send_after and not os.path.exists(a.send_after) and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(a.send_delay)
        if a.one_by_one and self.before:
            self.before.finished.wait(max(0.0, deadline - time.monotonic()))

    def upload(self, s):
        """Sends the POST body slowly; stops quietly when the server has closed."""
        sent, chunk = 0, max(1, int(self.args.upload_rate / 20))
        try:
            while sent < self.args.upload and not self.done.is_set():
                n = min(chunk, self.args.upload - sent)
                s.sendall(b"u" * n)
                sent += n
                time.sleep(n / self.args.upload_rate)
        except OSError:
            pass

    def hold(self, s):
        """After a keep-alive reply: how does the server end the connection?"""
        s.settimeout(self.args.hold)
        try:
            return "held_eof" if not s.recv(1) else "held_data"
        except socket.timeout:
            return "held_open"
        except OSError:
            return "held_reset"

    def read_reply(self, s, timed):
        """Reads one reply: its bytes, where its head ends (-1: no whole head), its
        Content-Length and whether it is chunked. timed: this is the request the client
        reports on (--timing, --ready-when first-byte, --read-rate)."""
        a = self.args
        data = b""
        head_end = -1
        length = None
        chunked = False
        last = None
        while True:
            chunk = s.recv(a.chunk)
            if not chunk:
                break
            now = time.monotonic()
            if timed and last is not None:
                self.gap = max(self.gap, (now - last) * 1000)
            last = now
            if timed and not data and a.ready_when == "first-byte":
                self.started.set()
            data += chunk
            if head_end < 0:
                head_end = data.find(b"\r\n\r\n")
                if head_end >= 0:
                    length = content_length(data[:head_end])
                    chunked = is_chunked(data[:head_end])
            # A chunked reply ends with the last chunk's (and the trailer's) empty line.
            if chunked and data.endswith(b"\r\n\r\n") and dechunk(data[head_end + 4:])[1]:
                break
            if not chunked and length is not None and len(data) - head_end - 4 >= length:
                break
            if timed and a.read_rate:
                time.sleep(len(chunk) / a.read_rate)
        return data, head_end, length, chunked

    def exchange(self):
        a = self.args
        family = socket.AF_INET6 if ":" in a.host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        if a.rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
        self.done = threading.Event()
        with s:
            s.connect((a.host, a.port))
            if a.first:
                s.sendall(("GET %s HTTP/1.1\r\nHost: test\r\nConnection: keep-alive\r\n\r\n"
                           % a.first).encode())
                data, head_end, length, chunked = self.read_reply(s, False)
                if head_end < 0 or b" 200 " not in data[:data.find(b"\r\n")] + b" " or \
                        (length is not None and len(data) - head_end - 4 < length):
                    return "error", "the first request's reply: %r" % data[:80]
            if a.ready_when == "connected":
                self.started.set()
            self.wait_to_send()
            conn = "keep-alive" if a.keepalive or a.hold else "close"
            method, extra = "GET", ""
            if a.upload:
                method, extra = "POST", "Content-Length: %d\r\n" % a.upload
            s.sendall(("%s %s HTTP/1.1\r\nHost: test\r\nConnection: %s\r\n%s\r\n"
                       % (method, a.path, conn, extra)).encode())
            if a.upload:
                threading.Thread(target=self.upload, args=(s,), daemon=True).start()
            self.sent.set()
            if a.ready_when == "sent":
                self.started.set()
            data, head_end, length, chunked = self.read_reply(s, True)
            self.done.set()
            self.ended = time.time()
            if head_end < 0:
                return "truncated", "%d bytes, no complete head" % len(data)
            status = data[:data.find(b"\r\n")]
            body = data[head_end + 4:]
            if chunked:
                body, whole = dechunk(body)
                if not whole:
                    return "truncated", "%d body bytes, chunked, no last chunk" % len(body)
            elif length is not None and len(body) < length:
                return "truncated", "%d of %d body bytes" % (len(body), length)
            if b" 200 " not in status + b" ":
                return "error", status.decode(errors="replace")
            if body != self.body:
                return "corrupt", "%d bytes, expected %d" % (len(body), len(self.body))
            if a.hold:
                if a.ready_when == "replied":
                    self.started.set()
                self.held = self.hold(s)
            return "ok", "%d body bytes" % len(body)


def header(head, wanted):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == wanted:
            return value.strip()
    return None


def content_length(head):
    value = header(head, b"content-length")
    return None if value is None else int(value)


def is_chunked(head):
    value = header(head, b"transfer-encoding")
    return value is not None and value.lower().split(b",")[-1].strip() == b"chunked"


def dechunk(data):
    """The body of a chunked reply so far, and whether it is whole (the last, empty chunk and
    the trailer's end seen). Malformed framing counts as not whole."""
    parts, pos = [], 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return b"".join(parts), False
        try:
            size = int(data[pos:eol].split(b";")[0].strip(), 16)
        except ValueError:
            return b"".join(parts), False
        pos = eol + 2
        if size == 0:
            # Trailer fields, if any, then an empty line.
            while True:
                eol = data.find(b"\r\n", pos)
                if eol < 0:
                    return b"".join(parts), False
                if eol == pos:
                    return b"".join(parts), True
                pos = eol + 2
        parts.append(data[pos:pos + size])
        if len(data) < pos + size + 2:
            return b"".join(parts), False
        pos += size + 2


def timing(reqs):
    """paused_ms: the least of the whole replies' largest gaps; last_at: the end of the last
    whole reply (realtime ms); both 0 when no reply was whole."""
    whole = [r for r in reqs if r.result == "ok"]
    return " paused_ms=%.0f last_at=%.0f" % (
        min((r.gap for r in whole), default=0),
        max((r.ended * 1000 for r in whole), default=0))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--expect-file")
    p.add_argument("--keepalive", action="store_true")
    p.add_argument("--rcvbuf", type=int, default=0, help="SO_RCVBUF, to make reads slow")
    p.add_argument("--read-rate", type=float, default=0, help="bytes per second to read")
    p.add_argument("--chunk", type=int, default=65536)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--ready", help="file to create once every request is in flight")
    p.add_argument("--ready-when", choices=("connected", "sent", "first-byte", "replied"),
                   default="sent")
    p.add_argument("--ready-min", type=int, default=0,
                   help="--ready once all are sent and this many are ready (default: all)")
    p.add_argument("--timing", action="store_true",
                   help="report the largest gap in each reply, paused_ms and last_at")
    p.add_argument("--upload", type=int, default=0, help="POST this many body bytes")
    p.add_argument("--upload-rate", type=float, default=20000, help="body bytes a second")
    p.add_argument("--hold", type=float, default=0, help="keep the connection after the reply")
    p.add_argument("--first", help="on each connection, GET this (keep-alive) first")
    p.add_argument("--send-after", help="connect at once, send once this file exists")
    p.add_argument("--send-delay", type=float, default=0, help="seconds more before sending")
    p.add_argument("--one-by-one", action="store_true",
                   help="send each request once the reply before it has ended")
    a = p.parse_args()

    body = expected_body(a.path, a.expect_file)
    started = [threading.Event() for _ in range(a.count)]
    sent = [threading.Event() for _ in range(a.count)]
    reqs = []
    for i in range(a.count):
        reqs.append(Request(a, i, body, started[i], sent[i], reqs[-1] if reqs else None))
    for r in reqs:
        r.start()
    if a.ready:
        deadline = time.monotonic() + a.timeout
        if a.ready_min:
            for e in sent:
                e.wait(max(0.0, deadline - time.monotonic()))
            while (sum(e.is_set() for e in started) < a.ready_min
                   and time.monotonic() < deadline):
                time.sleep(0.005)
            ready = all(e.is_set() for e in sent) and \
                sum(e.is_set() for e in started) >= a.ready_min
        else:
            for e in started:
                e.wait(max(0.0, deadline - time.monotonic()))
            ready = all(e.is_set() for e in started)
        if ready:
            with open(a.ready + ".tmp", "w") as f:
                f.write("%d\n" % a.count)
            os.rename(a.ready + ".tmp", a.ready)
    for r in reqs:
        r.join(a.timeout + 5)
    counts = {}
    for r in reqs:
        counts[r.result] = counts.get(r.result, 0) + 1
        if r.held:
            counts[r.held] = counts.get(r.held, 0) + 1
        print("request %d: %s %s%s (%.0f ms%s)" % (r.index, r.result, r.detail,
                                                ", then " + r.held if r.held else "", r.ms,
                                                ", largest gap %.0f ms" % r.gap
                                                if a.timing else ""))
    order = ("ok", "reset", "truncated", "refused", "corrupt", "timeout", "error")
    if a.hold:
        order += ("held_eof", "held_reset", "held_open", "held_data")
    print("summary " + " ".join("%s=%d" % (k, counts.get(k, 0)) for k in order)
          + " max_ms=%.0f" % max((r.ms for r in reqs), default=0)
          + (timing(reqs) if a.timing else ""))
    sys.stdout.flush()
    return 0 if counts.get("ok", 0) == a.count else 1


if __name__ == "__main__":
    sys.exit(main())
