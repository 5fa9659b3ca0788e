#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Bounded load and connection probes for the end-to-end tests.

load:  --workers N threads send GET --path for --duration seconds (at most --max requests
       each), a new connection per request, or with --keepalive reusing one (reconnecting when
       the server closes it). Every request is one line in --out:
           START_MS END_MS OUTCOME
       with times in CLOCK_REALTIME milliseconds (bash's $EPOCHREALTIME clock) and OUTCOME one
       of ok, reset, closed (a clean close before any byte of the reply: safe to retry),
       truncated, refused, timeout, error. A request starts when the server has it: on a new
       connection when the handshake is done (the kernel has queued it), on a kept-alive one
       when its bytes are sent; one whose connection failed, when it failed.
probe: with --probe-every MS, one connection attempt every MS milliseconds, --probe-count
       times, each ending as refused, accepted (the handshake completed), reset or timeout.
"""
import argparse
import socket
import sys
import threading
import time


def now_ms():
    return int(time.time() * 1000)


def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def classify(e):
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, (ConnectionResetError, BrokenPipeError)):
        return "reset"
    if isinstance(e, socket.timeout):
        return "timeout"
    return "error"


class Worker(threading.Thread):
    def __init__(self, a, out, lock):
        super().__init__(daemon=True)
        self.a, self.out, self.lock, self.sock, self.began = a, out, lock, None, None

    def record(self, start, outcome):
        with self.lock:
            self.out.write("%d %d %s\n" % (start, now_ms(), outcome))

    def connect(self):
        s = socket.create_connection((self.a.host, self.a.port), timeout=self.a.timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def one(self):
        """Returns the outcome of one request on self.sock (opened if needed)."""
        a = self.a
        if self.sock is None:
            self.sock = self.connect()
            self.began = now_ms()
        conn = b"keep-alive" if a.keepalive else b"close"
        self.sock.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\nConnection: %s\r\n\r\n"
                          % (a.path.encode(), conn))
        if self.began is None:
            self.began = now_ms()
        data = b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return "closed" if not data else "truncated"
            data += chunk
            end = data.find(b"\r\n\r\n")
            if end >= 0 and len(data) - end - 4 >= content_length(data[:end]):
                return "ok" if data.startswith(b"HTTP/1.1 200") else "error"

    def run(self):
        a = self.a
        stop = time.monotonic() + a.duration
        for _ in range(a.max):
            if time.monotonic() >= stop:
                break
            self.began = None
            try:
                outcome = self.one()
            except OSError as e:
                outcome = classify(e)
            self.record(self.began if self.began is not None else now_ms(), outcome)
            if outcome != "ok" or not a.keepalive:
                if self.sock is not None:
                    self.sock.close()
                self.sock = None
            if outcome in ("refused", "timeout") :
                time.sleep(0.01)  # the server is gone: do not hammer it


def probe(a, out):
    for _ in range(a.probe_count):
        t0 = time.monotonic()
        start = now_ms()
        s = socket.socket(socket.AF_INET6 if ":" in a.host else socket.AF_INET)
        s.settimeout(a.timeout)
        try:
            s.connect((a.host, a.port))
            outcome = "accepted"
        except OSError as e:
            outcome = classify(e)
        finally:
            s.close()
        out.write("%d %d %s\n" % (start, now_ms(), outcome))
        out.flush()
        time.sleep(max(0.0, a.probe_every / 1000 - (time.monotonic() - t0)))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--duration", type=float, default=3)
    p.add_argument("--max", type=int, default=100000, help="requests per worker at most")
    p.add_argument("--keepalive", action="store_true")
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--out", required=True)
    p.add_argument("--probe-every", type=float, default=0, help="ms between probes")
    p.add_argument("--probe-count", type=int, default=20)
    a = p.parse_args()
    with open(a.out, "w") as out:
        if a.probe_every:
            probe(a, out)
            return 0
        lock = threading.Lock()
        workers = [Worker(a, out, lock) for _ in range(a.workers)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(a.duration + a.timeout + 5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
