/* SPDX-License-Identifier: MIT */
/* arm.c: arming a process as a server, at first use, at start-up and at fork. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lastcall/arm.h"
#include "lastcall/children.h"
#include "lastcall/fds.h"
#include "lastcall/intake.h"
#include "lastcall/listener.h"
#include "lastcall/stash.h"
#include "lastcall/linger.h"
#include "lastcall/log.h"
#include "lastcall/master.h"
#include "lastcall/off.h"
#include "lastcall/private.h"
#include "lastcall/real.h"
#include "lastcall/share.h"
#include "lastcall/sig.h"
#include "lastcall/solo.h"
#include "lastcall/spin.h"
#include "lastcall/thread.h"
#include "lastcall/util.h"

static int arm_mu; /* lc_mutex_lock */

/* This process is a fork child of one where lastcall was armed (lc_arm_fork). */
static bool forked;

/* Marks the epoll fds the program created before it became a server. */
static void find_epoll_fds(void)
{
	char link[32], path[64];
	struct lc_dir dir;
	const char *fd;
	ssize_t len;

	if (lc_dir_open(&dir, "/proc/self/fd") < 0)
		return;
	while ((fd = lc_dir_next(&dir, 0))) {
		lc_format(path, sizeof(path), "/proc/self/fd/%s", fd);
		len = readlink(path, link, sizeof(link) - 1);
		if (len > 0 && (link[len] = '\0', strcmp(link, "anon_inode:[eventpoll]") == 0))
			lc_fds_set((int)strtol(fd, 0, 10), LC_FD_EPOLL, 0);
	}
}

/* Who handles the program's closes of each kind of fd (fds.h). */
static void own_kinds(void)
{
	lc_fds_own(LC_FD_CONN, &lc_linger_conn_owner);
	lc_fds_own(LC_FD_LINGER, &lc_linger_owner);
	lc_fds_own(LC_FD_LISTEN, &lc_intake_listener_owner);
	lc_fds_own(LC_FD_STOPPED, &lc_intake_listener_owner);
	lc_fds_own(LC_FD_STASHED, &lc_stash_owner);
}

/* With the lock held. Returns 0, or -1 having turned lastcall off. */
static int arm_locked(void)
{
	int made, err;

	if (!lc_fds) {
		own_kinds();
		if (lc_fds_setup() < 0) {
			lc_turn_off("no fd table", 0);
			return -1;
		}
	}
	lc_share_setup(); /* without it, shared listeners are only ever left open */
	if ((made = lc_private_open()) < 0) {
		lc_turn_off("unable to create the wake pipe", errno);
		return -1;
	}
	/* A fork child has its parent's table, epoll sets marked. */
	if (made && !forked)
		find_epoll_fds();
	if ((err = lc_thread_start())) {
		lc_turn_off("unable to create the cleanup thread", err);
		return -1;
	}
	lc_release(&lc_thread_pid, lc_pid);
	lc_sig_arm(lc_master_check);
	lc_release(&lc_armed, 1);
	if (!lc_acquire(&lc_off))
		lc_release(&lc_hot, lc_fds_n);
	return 0;
}

int lc_arm(void)
{
	int err = errno;

	lc_mutex_lock(&arm_mu);
	if (!lc_armed && !lc_off)
		arm_locked();
	lc_mutex_unlock(&arm_mu);
	errno = err;
	return lc_armed ? 0 : -1;
}

/* A connected TCP socket this process was started with (inetd, CGI with the client socket as
 * stdin and stdout, systemd's Accept=yes): a connection to finish before ending. */
static bool inherited_connection(int fd)
{
	struct sockaddr_storage peer;
	socklen_t n = sizeof(peer);
	int proto = 0, listening = 1;
	socklen_t len = sizeof(proto);

	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
	       proto == IPPROTO_TCP && (len = sizeof(listening)) &&
	       getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && !listening &&
	       getpeername(fd, (struct sockaddr *)&peer, &n) == 0;
}

void lc_arm_startup(void)
{
	int fd, found[64], nfound = 0, i;
	unsigned char type;
	struct lc_dir dir;
	const char *name;

	if (lc_dir_open(&dir, "/proc/self/fd") == 0)
		while ((name = lc_dir_next(&dir, &type)))
			if ((fd = (int)strtol(name, 0, 10)) != dir.fd && nfound < 64 &&
			    type == DT_LNK && inherited_connection(fd))
				found[nfound++] = fd;
	/* Exec'd by a server (a CGI script, a helper command): the server waits for what this
	 * process produces, so a trigger signal that does not come from the server waits too. */
	lc_helper_parent = getppid();
	lc_helper = lc_helper_parent > 1 && lc_children_runs_lastcall(lc_helper_parent);
	if ((nfound == 0 && !lc_helper) || lc_arm() < 0)
		return;
	for (i = 0; i < nfound; i++)
		lc_fds_add_inherited(found[i]);
}

/* The child has a copy of connection fd: closing ours must not end it (see lc_linger_adopt). */
static void mark_forked(int fd, void *arg)
{
	(void)arg;
	lc_or(&lc_fds[fd].flags, LC_FDF_FORKED);
}

pid_t lc_arm_fork(void)
{
	sigset_t old;
	bool listens;
	pid_t pid;
	int err;

	lc_sig_block_triggers(&old);
	pid = lc_solo_fork(lc_real.fork);
	err = errno;
	/* A helper's copy (a shell's subshell: "producer | while read ...") is a helper of its
	 * own: its work is no more visible to lastcall than the shell's. */
	if (pid == 0 && lc_helper)
		lc_helper_parent = getppid();
	if (pid == 0) {
		listens = lc_fds && lc_listeners_count() > 0;
		lc_server_parent = listens ? getppid() : 0;
		if (lc_fds && (lc_fds_count(false) > 0 || listens || lc_helper))
			lc_arm();
	} else if (pid > 0 && lc_fds) {
		lc_fds_each(LC_FD_CONN, mark_forked, 0);
	}
	pthread_sigmask(SIG_SETMASK, &old, 0);
	errno = err;
	return pid;
}

void lc_arm_fork_child(void)
{
	forked = lc_armed; /* the parent found its epoll sets: the table has them */
	lc_armed = 0;
	lc_hot = 0;
	arm_mu = 0;
}
