#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A program that takes an fd number for itself with dup2() while it is being stopped, as a
daemon does when it puts its log on fd 2, or anything on a number it counts as its own.

Listens on 127.0.0.1 (its port to PORT_FILE) and forks a child that exits after CHILD_MS. On
SIGUSR1 it reads a number N from FD_FILE and dup2()s /dev/null onto fd N, printing
"dup2 onto N". Its SIGTERM handler only records the signal; the main thread then reaps the
child, prints "fd N: TARGET" (what fd N is at the end, or the error) and exits 0.

usage: dup2fd.py PORT_FILE FD_FILE CHILD_MS
"""
import os
import signal
import socket
import sys
import time


def main():
    port_file, fd_file, child_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    kid = os.fork()
    if kid == 0:
        time.sleep(child_ms / 1000)
        os._exit(0)
    taken, term = [], []

    def usr1(sig, frame):
        n = int(open(fd_file).read())
        null = os.open("/dev/null", os.O_RDONLY)
        if null != n:  # (a free n is the number open() takes)
            os.dup2(null, n)
            os.close(null)
        taken.append(n)
        print("dup2 onto %d" % n, flush=True)

    signal.signal(signal.SIGUSR1, usr1)
    signal.signal(signal.SIGTERM, lambda sig, frame: term.append(sig))
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(port_file + ".tmp", port_file)
    while not term:
        signal.pause()
    os.waitpid(kid, 0)
    for n in taken:
        try:
            print("fd %d: %s" % (n, os.readlink("/proc/self/fd/%d" % n)), flush=True)
        except OSError as e:
            print("fd %d: %s" % (n, e.strerror), flush=True)


if __name__ == "__main__":
    main()
