#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A server that records the signals it gets, for the restart tests (tests/e2e/36): USR1, HUP
and INT each append their name to OUT; INT then exits with status 7. It listens on 127.0.0.1:PORT
and closes every connection it accepts.

It waits for connections 0.2 s at a time. CPython runs a signal's Python handler only between
system calls: a signal that arrives after its last look and before accept() blocks waits for the
next connection. Twice in the full suite (never in 78 runs of its signal part alone) the server
was still in accept() 15 s after SIGINT, lastcall's drain long done and its handback sent: most
likely that window, which lastcall's handback, about a millisecond after the signal came, hits
more often than a signal at a random time would. The test is about the restart parent passing
signals on.

usage: sigrecord.py OUT PORT
"""
import signal
import socket
import sys


def record(sig, frame):
    with open(sys.argv[1], "a") as f:
        f.write(signal.Signals(sig).name + "\n")
    if sig == signal.SIGINT:
        sys.exit(7)


for s in (signal.SIGUSR1, signal.SIGHUP, signal.SIGINT):
    signal.signal(s, record)
server = socket.create_server(("127.0.0.1", int(sys.argv[2])))
server.settimeout(0.2)
while True:
    try:
        conn, _ = server.accept()
    except TimeoutError:
        continue
    conn.close()
