/* SPDX-License-Identifier: MIT */
/* parent.h: lastcall-parent, the process `lastcall --restart-on SIGNAL` stays as. It runs the
 * server as a child (a generation), restarts it on the restart signal by starting the next
 * generation with the current one's listeners, and passes every other signal on. parent.c owns
 * the generations and signals; listeners.c the listening sockets, the control sockets and
 * readiness. */
#ifndef LASTCALL_PARENT_H
#define LASTCALL_PARENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A generation: one run of the program. */
enum gen_state {
	G_FREE = 0,
	G_STARTING, /* the next generation: started, not ready yet */
	G_SERVING,  /* the current generation */
	G_DRAINING, /* an old generation, told to stop once the next one served */
	G_ABANDONED /* a next generation that failed: stopped with SIGTERM, then SIGKILL */
};

struct gen {
	enum gen_state state;
	int n;	      /* 1, 2, ... */
	pid_t pid;
	int ctl;      /* the parent's end of its control socket */
	int64_t t0;   /* started (ms, monotonic) */
	int64_t sig_at;	 /* the restart signal that started it (ms) */
	int64_t kill_at; /* ABANDONED: when SIGKILL follows (ms) */
	int status;   /* its wait status, once reaped */
};

int64_t lc_parent_now_ms(void);

/* listeners.c */

/* The owner map's fd (memfd), to pass to every generation. Returns it, or -1 with errno. */
int lc_parent_listeners_init(void);

/* Reads the messages waiting on g's control socket: listeners going up, bind requests. */
void lc_parent_control(struct gen *g);

/* How many listeners the parent holds. */
int lc_parent_listeners(void);

/* Whether g (starting) is ready: every address it inherits is taken up and listened on, and a
 * thread of its process tree waits for connections on one of its listeners. */
bool lc_parent_ready(const struct gen *g);

/* g is ready: it serves its listeners now (owner map); those no one asked for are closed. */
void lc_parent_switch(const struct gen *g);

/* g failed: the listeners it made are closed, those it took are free again. */
void lc_parent_abandon(const struct gen *g);

#endif
