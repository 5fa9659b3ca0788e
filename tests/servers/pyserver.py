#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stdlib socketserver server answering the example servers' little HTTP (/delay/MS, /), and
/upstream/PORT/MS: the reply of 127.0.0.1:PORT to /delay/MS, taken over a new connection, as a
proxy would (its body "upstream cut" if that reply did not come whole).
By default a ThreadingTCPServer whose handler threads are daemon threads, the shortcut of
failure mode 4: at exit the interpreter does not wait for them. With --forking, a
ForkingTCPServer: one child process per connection. With --iterative, a TCPServer: one
connection at a time, the next accepted when the last one closes. Nothing here knows about
lastcall.

usage: pyserver.py [--forking | --iterative] PORT_FILE
"""
import os
import socket
import socketserver
import sys
import time


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            path = line.split()[1].decode() if len(line.split()) > 1 else "/"
            keepalive = line.rstrip().endswith(b"HTTP/1.1")
            while True:
                h = self.rfile.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                if h.lower().startswith(b"connection:"):
                    keepalive = b"keep-alive" in h.lower()
            if path.startswith("/upstream/"):
                body = upstream(*path.split("/")[2:4])
            elif path.startswith("/delay/"):
                ms = int(path[len("/delay/"):])
                time.sleep(ms / 1000)
                body = b"delayed %d\n" % ms
            else:
                body = b"hello\n"
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: %d\r\nConnection: %s\r\n\r\n%s"
                             % (len(body), b"keep-alive" if keepalive else b"close", body))
            if not keepalive:
                return


def upstream(port, ms):
    with socket.create_connection(("127.0.0.1", int(port))) as up:
        up.sendall(b"GET /delay/%d HTTP/1.0\r\n\r\n" % int(ms))
        reply = b""
        while True:
            chunk = up.recv(4096)
            if not chunk:
                break
            reply += chunk
    body = reply.partition(b"\r\n\r\n")[2]
    return body if body == b"delayed %d\n" % int(ms) else b"upstream cut\n"


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class ForkingServer(socketserver.ForkingTCPServer):
    allow_reuse_address = True


class IterativeServer(socketserver.TCPServer):
    allow_reuse_address = True


def main():
    kind = {"--forking": ForkingServer, "--iterative": IterativeServer}.get(sys.argv[1], Server)
    port_file = sys.argv[-1]
    with kind(("127.0.0.1", 0), Handler) as srv:
        with open(port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(port_file + ".tmp", port_file)
        srv.serve_forever()


if __name__ == "__main__":
    main()
