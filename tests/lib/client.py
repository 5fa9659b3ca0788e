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

The expected body comes from the path (/delay/MS, /bytes/N, / as the example servers answer)
or from --expect-file. With --upload N the request is a POST whose N-byte body is sent at
--upload-rate bytes a second while the reply is read. With --hold S a keep-alive connection is
kept after its reply, and how the server ends it within S seconds is counted: held_eof (a clean
close), held_reset, held_open. --ready FILE is written once every request is in flight: all requests
sent (--ready-when sent) or every reply has started to arrive (--ready-when first-byte).
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
    return b"hello\n"


class Request(threading.Thread):
    def __init__(self, args, index, body, started):
        super().__init__(daemon=True)
        self.args, self.index, self.body, self.started = args, index, body, started
        self.result, self.detail, self.ms, self.held = "timeout", "", 0.0, None

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
            conn = "keep-alive" if a.keepalive or a.hold else "close"
            method, extra = "GET", ""
            if a.upload:
                method, extra = "POST", "Content-Length: %d\r\n" % a.upload
            s.sendall(("%s %s HTTP/1.1\r\nHost: test\r\nConnection: %s\r\n%s\r\n"
                       % (method, a.path, conn, extra)).encode())
            if a.upload:
                threading.Thread(target=self.upload, args=(s,), daemon=True).start()
            if a.ready_when == "sent":
                self.started.set()
            data = b""
            head_end = -1
            length = None
            while True:
                chunk = s.recv(a.chunk)
                if not chunk:
                    break
                if not data and a.ready_when == "first-byte":
                    self.started.set()
                data += chunk
                if head_end < 0:
                    head_end = data.find(b"\r\n\r\n")
                    if head_end >= 0:
                        length = content_length(data[:head_end])
                if length is not None and len(data) - head_end - 4 >= length:
                    break
                if a.read_rate:
                    time.sleep(len(chunk) / a.read_rate)
            self.done.set()
            if head_end < 0:
                return "truncated", "%d bytes, no complete head" % len(data)
            status = data[:data.find(b"\r\n")]
            body = data[head_end + 4:]
            if length is not None and len(body) < length:
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


def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return None


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
    p.add_argument("--ready-when", choices=("sent", "first-byte", "replied"), default="sent")
    p.add_argument("--upload", type=int, default=0, help="POST this many body bytes")
    p.add_argument("--upload-rate", type=float, default=20000, help="body bytes a second")
    p.add_argument("--hold", type=float, default=0, help="keep the connection after the reply")
    a = p.parse_args()

    body = expected_body(a.path, a.expect_file)
    started = [threading.Event() for _ in range(a.count)]
    reqs = [Request(a, i, body, started[i]) for i in range(a.count)]
    for r in reqs:
        r.start()
    if a.ready:
        deadline = time.monotonic() + a.timeout
        for e in started:
            e.wait(max(0.0, deadline - time.monotonic()))
        if all(e.is_set() for e in started):
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
        print("request %d: %s %s%s (%.0f ms)" % (r.index, r.result, r.detail,
                                              ", then " + r.held if r.held else "", r.ms))
    order = ("ok", "reset", "truncated", "refused", "corrupt", "timeout", "error")
    if a.hold:
        order += ("held_eof", "held_reset", "held_open", "held_data")
    print("summary " + " ".join("%s=%d" % (k, counts.get(k, 0)) for k in order)
          + " max_ms=%.0f" % max((r.ms for r in reqs), default=0))
    sys.stdout.flush()
    return 0 if counts.get("ok", 0) == a.count else 1


if __name__ == "__main__":
    sys.exit(main())
