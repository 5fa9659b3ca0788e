// SPDX-License-Identifier: MIT
// node-server.js PORT: the Node.js server of figure 8 (bench/README.md). Node's own HTTP server
// on 127.0.0.1:PORT replies "hello\n" to every request; keep-alive is Node's default (a request
// with "Connection: close" gets its reply, then the connection ends).
'use strict';
const http = require('http');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
	console.error('usage: node-server.js PORT');
	process.exit(2);
}
http.createServer((req, res) => {
	// A Content-Length, so the reply is not chunked, as lighttpd's is not.
	res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 6 });
	res.end('hello\n');
}).listen(port, '127.0.0.1');
