#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Line echo servers for conversations: every line a client sends comes back as it is, until
the client closes. Written the way such servers usually are; nothing here knows about lastcall
or handles SIGTERM (it ends the process at once).

  --threading  socketserver.ThreadingTCPServer with daemon threads (the interpreter does not
               wait for them at exit)
  --forking    socketserver.ForkingTCPServer: one forked child per connection
  --exec-cat   fork per connection, and the child execs `cat` with the socket as its stdin
               and stdout (inetd style); the parent reaps in a SIGCHLD handler

Listens on 127.0.0.1, a free port, and writes the port to PORT_FILE (whole, then renamed).

usage: pyconv.py --threading|--forking|--exec-cat PORT_FILE
"""
import os
import signal
import socket
import socketserver
import sys


class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line)


class Threading(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class Forking(socketserver.ForkingTCPServer):
    allow_reuse_address = True


def announce(port_file, port):
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(port_file + ".tmp", port_file)


def reap(_signum, _frame):
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def exec_cat(port_file):
    signal.signal(signal.SIGCHLD, reap)
    with socket.socket() as lsn:
        lsn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsn.bind(("127.0.0.1", 0))
        lsn.listen(128)
        announce(port_file, lsn.getsockname()[1])
        while True:
            conn, _ = lsn.accept()
            if os.fork() == 0:
                lsn.close()
                os.dup2(conn.fileno(), 0)
                os.dup2(conn.fileno(), 1)
                conn.close()
                try:
                    os.execvp("cat", ["cat"])
                finally:
                    os._exit(127)
            conn.close()


def main():
    mode, port_file = sys.argv[1], sys.argv[2]
    if mode == "--exec-cat":
        exec_cat(port_file)
        return
    server = {"--threading": Threading, "--forking": Forking}[mode]
    with server(("127.0.0.1", 0), Echo) as srv:
        announce(port_file, srv.server_address[1])
        srv.serve_forever()


if __name__ == "__main__":
    main()
