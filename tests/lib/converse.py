#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Conversation client for the end-to-end tests: a line protocol with pauses between exchanges.

Opens --count connections at once; on each, --exchanges times: sends one line, waits for the
server to echo it back, then pauses --gap-ms (none after the last). Then it closes its side
(shutdown for writing) and waits for the server's end-of-file. Every conversation is
classified by what the client saw:

  ok         every line echoed byte for byte, then end-of-file after the client closed
  cut        the server closed the connection before the last echo
  reset      ECONNRESET or EPIPE before the last echo
  refused    the connection was refused (ECONNREFUSED)
  corrupt    an echo that differs from the line sent
  timeout    no echo within --timeout
  error      anything else (the message says what)

--ready FILE is written once every conversation has completed --ready-after exchanges (so a
signal sent then lands in the middle of them). Prints one line per conversation and a summary
line with the counts, the exchanges completed in all, the longest conversation (max_ms) and
when the last one ended (end_ms, CLOCK_REALTIME ms, the clock of bash's $EPOCHREALTIME).
Exits 0 only if every conversation was ok.
"""
import argparse
import errno
import os
import socket
import sys
import threading
import time


class Conversation(threading.Thread):
    def __init__(self, args, index, progress):
        super().__init__(daemon=True)
        self.args, self.index, self.progress = args, index, progress
        self.result, self.detail, self.done, self.ms, self.end = "timeout", "", 0, 0.0, 0.0

    def run(self):
        t0 = time.monotonic()
        try:
            self.result, self.detail = self.converse()
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
        self.end = time.time() * 1000

    def converse(self):
        a = self.args
        s = socket.create_connection((a.host, a.port), timeout=a.timeout)
        with s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pending = b""
            for i in range(a.exchanges):
                if i:
                    time.sleep(a.gap_ms / 1000)
                line = b"conversation %d exchange %d/%d\n" % (self.index, i, a.exchanges)
                s.sendall(line)
                while b"\n" not in pending:
                    data = s.recv(4096)
                    if not data:
                        return "cut", "end-of-file after %d exchanges" % self.done
                    pending += data
                echo, _, pending = pending.partition(b"\n")
                if echo + b"\n" != line:
                    return "corrupt", "exchange %d: %r" % (i, echo[:80])
                self.done += 1
                self.progress.exchanged(self.done)
            s.shutdown(socket.SHUT_WR)
            rest = pending
            while True:
                data = s.recv(4096)
                if not data:
                    break
                rest += data
            if rest:
                return "corrupt", "%d bytes after the last echo" % len(rest)
            return "ok", ""


class Progress:
    """Writes the ready file once every conversation has made --ready-after exchanges."""

    def __init__(self, count, after, path):
        self.lock, self.count, self.after, self.path = threading.Lock(), count, after, path
        self.reached = 0

    def exchanged(self, done):
        if done == self.after:
            self.step()

    def step(self):
        with self.lock:
            self.reached += 1
            if self.reached == self.count and self.path:
                with open(self.path + ".tmp", "w") as f:
                    f.write("%d\n" % self.count)
                os.rename(self.path + ".tmp", self.path)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=8)
    p.add_argument("--exchanges", type=int, default=20)
    p.add_argument("--gap-ms", type=float, default=150)
    p.add_argument("--timeout", type=float, default=30, help="for each echo, seconds")
    p.add_argument("--ready", help="file to create once every conversation is under way")
    p.add_argument("--ready-after", type=int, default=1, help="exchanges made before --ready")
    a = p.parse_args()

    progress = Progress(a.count, a.ready_after, a.ready)
    convs = [Conversation(a, i, progress) for i in range(a.count)]
    for c in convs:
        c.start()
    # Each conversation is bounded: its echoes by --timeout each, its pauses by --gap-ms.
    limit = a.exchanges * (a.timeout + a.gap_ms / 1000) + a.timeout + 5
    for c in convs:
        c.join(limit)
    counts = {}
    for c in convs:
        counts[c.result] = counts.get(c.result, 0) + 1
        print("conversation %d: %s %d/%d exchanges%s (%.0f ms)"
              % (c.index, c.result, c.done, a.exchanges,
                 ", " + c.detail if c.detail else "", c.ms))
    order = ("ok", "cut", "reset", "refused", "corrupt", "timeout", "error")
    print("summary " + " ".join("%s=%d" % (k, counts.get(k, 0)) for k in order)
          + " exchanges=%d max_ms=%.0f end_ms=%.0f"
          % (sum(c.done for c in convs), max((c.ms for c in convs), default=0),
             max((c.end for c in convs), default=0)))
    sys.stdout.flush()
    return 0 if counts.get("ok", 0) == a.count else 1


if __name__ == "__main__":
    sys.exit(main())
