#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in for systemd's notification socket, for the end-to-end tests.

Binds an AF_UNIX datagram socket at ADDRESS (a path, or @name for an abstract socket) with
SO_PASSCRED on, as systemd does, and writes one line per datagram received to OUT:

  pid=<sender pid> <KEY=value>|<KEY=value>|...

(the datagram's newlines shown as |). Writes OUT.ready once bound. Stops after --seconds.
"""
import argparse
import os
import socket
import struct
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("address")
    ap.add_argument("out")
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()

    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    addr = args.address
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    s.bind(addr)
    with open(args.out + ".ready", "w"):
        pass
    end = time.monotonic() + args.seconds
    creds_size = struct.calcsize("3i")
    with open(args.out, "a") as out:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return 0
            s.settimeout(left)
            try:
                data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(creds_size))
            except socket.timeout:
                return 0
            pid = -1
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", payload[:creds_size])[0]
            text = data.decode("utf-8", "replace").replace("\n", "|")
            out.write("pid=%d %s\n" % (pid, text))
            out.flush()


if __name__ == "__main__":
    sys.exit(main())
