#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A server that records the signals it gets, for the restart tests (tests/e2e/36): USR1, HUP
and INT each append their name to OUT; INT then exits with status 7. It listens on 127.0.0.1:PORT
and closes every connection it accepts.

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
while True:
    conn, _ = server.accept()
    conn.close()
