#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Mixed, bounded HTTP load for the restart tests (tests/e2e/32-restart*.sh).

Three kinds of client run side by side for --duration seconds:
  --new N        threads sending GET / on a new connection each time, --gap ms apart
  --keepalive N  threads reusing one connection, --pause ms between requests (reconnecting
                 when the server closes it, as an HTTP client does)
  --stream N     threads sending GET --stream-path (a reply streamed over about 2 s) on a new
                 connection each time
Every request is one line in --out:  START_MS END_MS KIND OUTCOME PEER
with times in CLOCK_REALTIME ms and OUTCOME one of ok, refused, reset, truncated (the reply was
cut), closed (a kept-alive connection closed cleanly before any byte of the reply: an HTTP
client retries that), timeout, error. PEER is the X-Pid the reply carried, or "-".
"""
import argparse
import socket
import sys
import threading
import time


def now_ms():
    return int(time.time() * 1000)


def head_field(head, name):
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == name:
            return v.strip()
    return None


class Client(threading.Thread):
    def __init__(self, a, kind, path, out, lock):
        super().__init__(daemon=True)
        self.a, self.kind, self.path, self.out, self.lock = a, kind, path, out, lock
        self.sock = None

    def record(self, start, outcome, peer):
        with self.lock:
            self.out.write("%d %d %s %s %s\n" % (start, now_ms(), self.kind, outcome, peer))

    def one(self):
        """Sends one request; returns (outcome, peer)."""
        keep = self.kind == "keepalive"
        fresh = self.sock is None
        if fresh:
            self.sock = socket.create_connection((self.a.host, self.a.port),
                                                 timeout=self.a.timeout)
        conn = b"keep-alive" if keep else b"close"
        self.sock.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\nConnection: %s\r\n\r\n"
                          % (self.path.encode(), conn))
        data = b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                if not data:
                    return ("closed" if keep and not fresh else "truncated"), "-"
                return "truncated", "-"
            data += chunk
            end = data.find(b"\r\n\r\n")
            if end < 0:
                continue
            length = head_field(data[:end], b"content-length")
            if length is None or len(data) - end - 4 < int(length):
                continue
            peer = (head_field(data[:end], b"x-pid") or b"-").decode()
            ok = data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200")
            return ("ok" if ok else "error"), peer

    def run(self):
        a = self.a
        stop = time.monotonic() + a.duration
        for _ in range(a.max):
            if time.monotonic() >= stop:
                break
            start = now_ms()
            try:
                outcome, peer = self.one()
            except ConnectionRefusedError:
                outcome, peer = "refused", "-"
            except (ConnectionResetError, BrokenPipeError):
                outcome, peer = "reset", "-"
            except socket.timeout:
                outcome, peer = "timeout", "-"
            except OSError:
                outcome, peer = "error", "-"
            self.record(start, outcome, peer)
            if outcome != "ok" or self.kind != "keepalive":
                if self.sock is not None:
                    self.sock.close()
                self.sock = None
            if outcome in ("refused", "timeout", "error"):
                time.sleep(0.02)
            elif self.kind == "keepalive":
                time.sleep(a.pause / 1000)
            elif self.kind == "new":
                time.sleep(a.gap / 1000)
        if self.sock is not None:
            self.sock.close()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--new", type=int, default=2)
    p.add_argument("--keepalive", type=int, default=2)
    p.add_argument("--stream", type=int, default=2)
    p.add_argument("--path", default="/")
    p.add_argument("--stream-path", default="/stream/5/500")
    p.add_argument("--pause", type=float, default=300, help="ms between kept-alive requests")
    p.add_argument("--gap", type=float, default=0, help="ms between new connections")
    p.add_argument("--duration", type=float, default=6)
    p.add_argument("--max", type=int, default=5000, help="requests per client at most")
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    lock = threading.Lock()
    with open(a.out, "w") as out:
        clients = [Client(a, "new", a.path, out, lock) for _ in range(a.new)]
        clients += [Client(a, "keepalive", a.path, out, lock) for _ in range(a.keepalive)]
        clients += [Client(a, "stream", a.stream_path, out, lock) for _ in range(a.stream)]
        for c in clients:
            c.start()
        for c in clients:
            c.join(a.duration + a.timeout + 5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
