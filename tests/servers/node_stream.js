// SPDX-License-Identifier: MIT
// A plain Node.js HTTP server that streams its replies with pauses, written the way most Node
// services are: http.createServer and nothing else, no signal handling (SIGTERM ends it at
// once, whatever it is sending). Nothing here knows about lastcall.
//   GET /                    "hello\n"
//   GET /stream/N/G          N chunks, G ms apart, chunk i being the line "chunk i/N\n";
//                            Content-Length set
//   GET /chunked/N/G         the same without Content-Length (Transfer-Encoding: chunked)
//   GET /rate/BYTES/KBPS     BYTES of the /bytes pattern ("abc...xyzabc..."), written in
//                            pieces paced to KBPS kB/s (1 kB = 1024 bytes, a piece every 50 ms)
// It listens on 127.0.0.1, on PORT if given (a restart needs the same port again) or else a free
// port, and writes the port to PORT_FILE (whole, then renamed).
//
// usage: node node_stream.js PORT_FILE [PORT]
'use strict';
const fs = require('fs');
const http = require('http');

const PATTERN = Buffer.from('abcdefghijklmnopqrstuvwxyz');
const PIECE_MS = 50;

function lines(n) {
	const out = [];
	for (let i = 0; i < n; i++)
		out.push(`chunk ${i}/${n}\n`);
	return out;
}

// Writes parts[i] for each i, ms apart, then ends the reply.
function paced(res, parts, ms) {
	let i = 0;
	if (parts.length === 0)
		return res.end();
	const next = () => {
		res.write(parts[i++]);
		if (i < parts.length)
			setTimeout(next, ms);
		else
			res.end();
	};
	next();
}

function stream(res, n, gap, withLength) {
	const parts = lines(n);
	const head = { 'Content-Type': 'text/plain' };
	if (withLength)
		head['Content-Length'] = parts.reduce((sum, s) => sum + s.length, 0);
	res.writeHead(200, head);
	paced(res, parts, gap);
}

// Byte off of the /bytes pattern onwards, n of them.
function pattern(off, n) {
	const out = Buffer.alloc(n);
	for (let i = 0; i < n; i++)
		out[i] = PATTERN[(off + i) % PATTERN.length];
	return out;
}

function rate(res, bytes, kbps) {
	const piece = Math.max(1, Math.round(kbps * 1024 * PIECE_MS / 1000));
	const parts = [];
	for (let off = 0; off < bytes; off += piece)
		parts.push(pattern(off, Math.min(piece, bytes - off)));
	res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes });
	paced(res, parts, PIECE_MS);
}

const server = http.createServer((req, res) => {
	const p = req.url.split('/');
	const a = parseInt(p[2], 10), b = parseInt(p[3], 10);
	if (p[1] === 'stream' && a >= 0 && b >= 0)
		stream(res, a, b, true);
	else if (p[1] === 'chunked' && a >= 0 && b >= 0)
		stream(res, a, b, false);
	else if (p[1] === 'rate' && a >= 0 && b > 0)
		rate(res, a, b);
	else
		res.end('hello\n');
});

server.listen(parseInt(process.argv[3] || '0', 10), '127.0.0.1', () => {
	const file = process.argv[2];
	fs.writeFileSync(file + '.tmp', `${server.address().port}\n`);
	fs.renameSync(file + '.tmp', file);
});
