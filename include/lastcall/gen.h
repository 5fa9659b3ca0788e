/* SPDX-License-Identifier: MIT */
/* gen.h: a generation of a server restarted by lastcall-parent (--restart-on). What passes
 * between the parent and the processes of a generation: the control socket (listeners going up,
 * requests for an inherited listener), and the owner map, a page of shared memory that says
 * which generation serves each listening socket. docs/design.md, "Restarts", has the sequence. */
#ifndef LASTCALL_GEN_H
#define LASTCALL_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lastcall/config.h"

#pragma GCC visibility push(hidden) /* the library's own names: bound locally */

/* "PID,CONTROL_FD,MAP_FD,GENERATION,INHERITED": set by the parent for the process it executes;
 * only a process with that pid uses it (a program the generation executes carries it along with
 * the other LASTCALL_* variables, and must not take itself for the generation). */
#define LC_GEN_ENV "LASTCALL_INTERNAL_CONTROL"

/* Messages on the control socket (AF_UNIX, SOCK_SEQPACKET). From a generation to the parent:
 * LISTEN with the listening socket (SCM_RIGHTS), after each successful listen(); BIND with one
 * end of a fresh socketpair, when the program binds an address the parent may hold. The parent
 * answers a BIND on that socketpair: GIVE with the inherited socket, or NONE. */
enum { LC_GEN_LISTEN = 'L', LC_GEN_BIND = 'B', LC_GEN_GIVE = 'Y', LC_GEN_NONE = 'N' };

struct lc_gen_msg {
	char op;
	int type; /* BIND: the program's socket type (SO_TYPE) */
	socklen_t len;
	struct sockaddr_storage addr; /* BIND: the address asked for */
};

/* The owner map: one entry per listening socket the parent holds. gen is the generation that
 * serves it now; a generation stopping a socket another one serves leaves it alone (no queue
 * taken, no SYN filter, no shutdown). Written by the parent only. */
#define LC_GEN_OWNERS 256
struct lc_gen_owner {
	uint64_t ino; /* the socket's inode; 0: a free entry */
	int32_t gen;
	int32_t unused;
};

/* At start-up (lc_init), after lc_arm_startup: whether this process is a generation the parent
 * executed (LC_GEN_ENV names its pid, a socket and a file). If so it arms at once, then
 * lc_gen_startup() takes its control socket and owner map, so the control socket is a private
 * fd before the program runs. Once, from lc_init(), before main. */
bool lc_gen_claim(lc_getenv_fn get);
void lc_gen_startup(void);

/* Whether this process belongs to a generation that inherited listeners: bind() must ask.
 * Any thread. */
bool lc_gen_inherits(void);

/* bind(): for a TCP address the parent holds a listener for, the program's fd becomes that
 * listener (dup3 onto its number, keeping its close-on-exec flag and file status flags) and 0
 * is returned; otherwise the real bind. Return value and errno as bind(). Program thread. */
int lc_gen_bind(int fd, const struct sockaddr *addr, socklen_t len);

/* listen() succeeded on fd: tell the parent (it keeps a copy for the next generation).
 * A program thread (listen()); errno is preserved. */
void lc_gen_listened(int fd);

/* Whether the listening socket open at fd is served by another generation now.
 * Cleanup thread. */
bool lc_gen_elsewhere(int fd);

/* fd was just given a stand-in, its socket served by another generation: threads still blocked
 * in accept() on the socket itself are interrupted (a trigger signal, which lastcall's handler
 * takes during a drain and whose accept() restarts, now on the stand-in), so none of them takes
 * a connection of the next generation's while this one ends. A thread on a CPU may be about to
 * block there: looked at again, 1 ms apart, 5 times at most. Cleanup thread. */
void lc_gen_unblock(int fd);

#pragma GCC visibility pop

#endif
