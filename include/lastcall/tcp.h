/* SPDX-License-Identifier: MIT */
/* tcp.h: what lastcall asks the kernel about TCP sockets, and the one thing it changes on a
 * listener: a filter that drops new connection attempts while keeping established ones. */
#ifndef LASTCALL_TCP_H
#define LASTCALL_TCP_H

#include <stdbool.h>
#include <stdint.h>

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* Attaches a classic BPF filter to listening socket fd that drops SYNs without ACK (new
 * connection attempts: the clients retry, and get refused once the socket closes) and passes
 * everything else, so handshakes already under way complete. Returns 0, or an errno value:
 * EPERM without CAP_NET_ADMIN on recent kernels, EEXIST if the program has a filter of its own
 * (it is left alone), ENOTSUP for a socket that is not TCP. Cleanup thread. */
int lc_tcp_drop_syns(int fd);

/* Connections towards listening socket fd that are not accepted yet: handshakes under way
 * (SYN_RECV) and those done and queued (one completed with a SYN cookie may be left out); -1 if
 * they cannot be counted. From the listener's reference count in /proc/net/tcp, in proportion to
 * the host's listeners, else from sock_diag, in proportion to all its connections (shim/tcp.c).
 * May change errno. Cleanup thread. */
int lc_tcp_handshakes(int fd);

/* What a connection is doing, from the kernel's view of it (TCP_INFO, one system call). Whether
 * it is idle is the drain's call: how long it has been quiet, and lc_tcp_pending(), are the
 * rest of the answer. */
enum lc_conn_state {
	LC_CONN_BUSY,	  /* a request is being processed: data came after the last reply */
	LC_CONN_ANSWERED, /* used, the server spoke last */
	LC_CONN_FRESH,	  /* never carried a byte from the client yet */
	LC_CONN_OTHER,	  /* not an established TCP connection (Unix socket, closing...) */
};

/* Classifies connection fd; *quiet_ms gets how long no data has crossed it in either direction
 * (in jiffies turned to ms), unless it returns LC_CONN_OTHER. Cleanup thread. */
enum lc_conn_state lc_tcp_classify(int fd, int64_t *quiet_ms);

/* Whether connection fd has bytes the program has not read, or bytes it wrote that have not
 * been sent yet (or this cannot be told). Cleanup thread. */
bool lc_tcp_pending(int fd);

/* Whether connection fd is still delivering what was written to it: bytes the client has not
 * acknowledged yet, and data went out in the last within_ms (the client is still taking it).
 * Cleanup thread. */
bool lc_tcp_delivering(int fd, int64_t within_ms);

#pragma GCC visibility pop

#endif
