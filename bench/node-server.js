// SPDX-License-Identifier: MIT
// node-server.js PORT | --port PORT --port-file FILE: the Node.js server of figures 4 and 8
// (bench/README.md). Node's own HTTP server on 127.0.0.1:PORT (0: any free port, then written
// to FILE, as the example servers do for bench/stop.c) replies "hello\n" to every request, and
// "delayed N\n" N ms after GET /delay/N; keep-alive is Node's default (a request with
// "Connection: close" gets its reply, then the connection ends).
'use strict';
const fs = require('fs');
const http = require('http');

const args = process.argv.slice(2);
let port = Number(args[0]), portFile = null;
for (let i = 0; i + 1 < args.length; i += 2) {
	if (args[i] === '--port')
		port = Number(args[i + 1]);
	else if (args[i] === '--port-file')
		portFile = args[i + 1];
}
if (!Number.isInteger(port) || port < 0 || port > 65535 || (port === 0 && !portFile)) {
	console.error('usage: node-server.js PORT | --port PORT --port-file FILE');
	process.exit(2);
}
// bench/stop.c's requests carry no Host header, which Node otherwise refuses (400).
const server = http.createServer({ requireHostHeader: false }, (req, res) => {
	const delay = /^\/delay\/(\d+)$/.exec(req.url);
	const text = delay ? `delayed ${delay[1]}\n` : 'hello\n';
	// A Content-Length, so the reply is not chunked, as lighttpd's is not.
	const reply = () => {
		res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': text.length });
		res.end(text);
	};
	if (delay)
		setTimeout(reply, Number(delay[1]));
	else
		reply();
});
server.listen(port, '127.0.0.1', () => {
	if (portFile) {
		fs.writeFileSync(`${portFile}.tmp`, `${server.address().port}\n`);
		fs.renameSync(`${portFile}.tmp`, portFile);
	}
});
