#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A program that closes every fd above its own, as daemons and helpers about to exec do.

Listens on 127.0.0.1 (its port to PORT_FILE). On SIGUSR1 it closes every fd above the
listener's with os.closerange() (glibc's close_range() or closefrom()) and prints "closed".
SIGTERM keeps its default action.

usage: closerange.py PORT_FILE
"""
import os
import signal
import socket
import sys


def main():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    done = []

    def usr1(sig, frame):
        os.closerange(s.fileno() + 1, 1 << 20)
        done.append(1)
        print("closed", flush=True)

    signal.signal(signal.SIGUSR1, usr1)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
