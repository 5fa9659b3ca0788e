/* SPDX-License-Identifier: MIT */
/* sig.c: the shadow table of the program's dispositions for the trigger signals, lastcall's
 * handler (it records the signal and wakes the cleanup thread), and handing a signal back. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lastcall/sys.h"
#include "lastcall/atomic.h"
#include "lastcall/config.h"
#include "lastcall/log.h"
#include "lastcall/real.h"
#include "lastcall/sig.h"
#include "lastcall/spin.h"
#include "lastcall/state.h"
#include "lastcall/util.h"
#include "lastcall/wake.h"

/* The kernel's flag for a libc-supplied return trampoline; glibc sets it on every sigaction()
 * and reports it back, but does not define it for programs. Same value on x86 and arm. */
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

unsigned long long lc_sig_triggers;
__thread unsigned lc_sig_passed __attribute__((tls_model("initial-exec")));
__thread int lc_sig_passed_restart __attribute__((tls_model("initial-exec")));

static struct sigaction shadow[64]; /* the program's disposition of each trigger signal */
static unsigned long long ours;	    /* bit n: lastcall's handler holds signal n */
static unsigned long long handed;   /* bit n: given back to the program for good */
static unsigned long long intr;	    /* bit n: siginterrupt(n, 1): signal() omits SA_RESTART */
static int armed;		    /* the process is a server: install ours on new handlers */
static bool (*master_check)(void); /* lc_sig_arm()'s: whether this process holds as a master */
static void (*restorer)(void);	    /* libc's sa_restorer, as the kernel reports it */
static int lock_word;

static int handing_back;    /* the signal lastcall is giving back, to pass on when it lands */
static siginfo_t handback_info, relay_info; /* its siginfo; the relay's to a program thread */
static pid_t relayed_tid;   /* the thread the relay reached: the signal waits there for the
			     * program's handler while the program blocks it */
static int pending_sig;	    /* first trigger signal caught and not yet acted on */
static int pending_ready;   /* pending_info is complete */
static siginfo_t pending_info;
static pid_t pending_tid;   /* the thread the kernel delivered it to */
static unsigned counts[64];

/* The table's lock (spin.h). AS-safe. */
LC_EARLY static void lock(sigset_t *old)
{
	lc_spin_lock(&lock_word, old);
}

LC_EARLY static void unlock(const sigset_t *old)
{
	lc_spin_unlock(&lock_word, old);
}

/* Re-delivers sig to this thread with the original siginfo; as it is blocked inside our
 * handler, it arrives the moment the handler returns. AS-safe. */
LC_EARLY static void reraise_here(int sig, siginfo_t *info)
{
	if (lc_syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), sig, info) < 0)
		lc_syscall(SYS_tgkill, getpid(), gettid(), sig);
}

/* No cleanup thread runs in this process (a child that has not become a server, or lastcall
 * is off): the program gets the signal now, as if lastcall were not there. AS-safe. */
LC_EARLY static void pass_now(int sig, siginfo_t *info)
{
	sigset_t mask;

	lock(&mask);
	lc_real.sigaction(sig, &shadow[sig], 0);
	lc_sig_passed_restart = shadow[sig].sa_flags & SA_RESTART;
	/* Our state is shared with the parent in a vfork child: leave it alone there. */
	if (getpid() == lc_pid)
		ours &= ~(1ULL << sig);
	unlock(&mask);
	lc_sig_passed++;
	reraise_here(sig, info);
}

/* Whether info is the relay lc_sig_handback() sent: queued (SI_QUEUE) by this process with the
 * address of handback_info as its value, which nobody else sends. AS-safe. */
LC_EARLY static bool is_relay(const siginfo_t *info)
{
	return info->si_code == SI_QUEUE && info->si_pid == getpid() &&
	       info->si_value.sival_ptr == (void *)&handback_info;
}

/* Whether the program's disposition of sig is a handler of its own. AS-safe. */
LC_EARLY static bool handled(int sig)
{
	sigset_t mask;
	bool r;

	lock(&mask);
	r = shadow[sig].sa_handler != SIG_DFL && shadow[sig].sa_handler != SIG_IGN;
	unlock(&mask);
	return r;
}

/* A trigger signal finding sig handed back, being handed back, or no cleanup thread here: our
 * relay passes the first one on, another sent meanwhile joins it; else it is the program's.
 * handing_back is read after handed (set in that order): one caught as the hand-back began must
 * not pass on ahead of the relay, which would reach the program's handler itself. AS-safe. */
LC_EARLY static void give(int sig, siginfo_t *info)
{
	if (lc_acquire(&handing_back) != sig) {
		pass_now(sig, info);
	} else if (is_relay(info)) {
		lc_release(&relayed_tid, gettid());
		lc_release(&handing_back, 0);
		pass_now(sig, &handback_info);
	}
}

LC_EARLY static void on_signal(int sig, siginfo_t *info, void *uc) /* AS-safe */
{
	int saved = errno;

	(void)uc;
	if (lc_acquire(&handing_back) == sig || (lc_acquire(&handed) >> sig & 1) ||
	    lc_acquire(&lc_thread_pid) != getpid()) {
		give(sig, info);
		errno = saved;
		return;
	}
	/* A master holds its workers at once, before any of them can end (see drain.h). */
	if (!lc_acquire(&pending_sig) && handled(sig) && master_check)
		master_check();
	lc_add(&counts[sig], 1);
	lc_release(&lc_sig_sender, info->si_pid);
	if (lc_cas(&pending_sig, 0, sig)) {
		/* Handed back since the look above (held up on the way): not a second drain's. */
		if (lc_acquire(&handed) >> sig & 1) {
			lc_release(&pending_sig, 0);
			give(sig, info);
			errno = saved;
			return;
		}
		pending_info = *info;
		pending_tid = gettid();
		lc_release(&pending_ready, 1);
	}
	lc_wake_poke();
	errno = saved;
}

/* Records the program's new disposition the way the kernel would report it back: glibc adds
 * SA_RESTORER and its restorer, the kernel drops SIGKILL and SIGSTOP from the mask. */
static void remember(int sig, const struct sigaction *act)
{
	shadow[sig] = *act;
	shadow[sig].sa_flags |= SA_RESTORER;
	shadow[sig].sa_restorer = restorer;
	sigdelset(&shadow[sig].sa_mask, SIGKILL);
	sigdelset(&shadow[sig].sa_mask, SIGSTOP);
}

/* With the lock held: puts our handler in place (restart says whether the calls it interrupts
 * restart) and, the first time, the program's disposition in the shadow. */
LC_EARLY static void install_ours(int sig, int restart)
{
	struct sigaction sa, *old = (ours >> sig & 1) ? 0 : &shadow[sig];

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | restart;
	lc_sig_trigger_set(&sa.sa_mask);
	if (lc_real.sigaction(sig, &sa, old) < 0)
		return;
	ours |= 1ULL << sig;
	if (lc_real.sigaction(sig, 0, &sa) == 0 && (sa.sa_flags & SA_RESTORER)) /* for remember() */
		restorer = sa.sa_restorer;
}

LC_EARLY void lc_sig_trigger_set(sigset_t *set)
{
	int sig;

	sigemptyset(set);
	for (sig = 1; sig < 64; sig++)
		if (lc_sig_is_trigger(sig))
			sigaddset(set, sig);
}

void lc_sig_init(unsigned long long triggers)
{
	int sig;

	lc_sig_triggers = triggers;
	ours = handed = intr = 0;
	armed = 0;
	for (sig = 1; sig < 64; sig++)
		if (lc_sig_is_trigger(sig))
			lc_real.sigaction(sig, 0, &shadow[sig]);
}

int lc_sig_action(int sig, const struct sigaction *act, struct sigaction *old) /* AS-safe */
{
	unsigned long long bit = 1ULL << sig;
	struct sigaction prev;
	sigset_t mask;
	int r = 0, err = errno;

	lock(&mask);
	if (ours & bit) {
		prev = shadow[sig];
		/* The program asks to ignore the signal: so does the kernel, then, and no
		 * drain can start from it (the program said it does not want to stop). */
		if (act && act->sa_handler == SIG_IGN && (r = lc_real.sigaction(sig, act, 0)) == 0)
			ours &= ~bit;
		if (r == 0 && act)
			remember(sig, act);
	} else {
		r = lc_real.sigaction(sig, act, &prev);
		if (r == 0 && act) {
			lc_real.sigaction(sig, 0, &shadow[sig]);
			if (armed && !(handed & bit) && act->sa_handler != SIG_IGN)
				install_ours(sig, SA_RESTART);
		}
	}
	if (r < 0)
		err = errno;
	unlock(&mask);
	if (r == 0 && old)
		*old = prev;
	errno = err;
	return r;
}

/* sigset(): SIG_HOLD blocks the signal; any other disposition also unblocks it. */
static sighandler_t sigset_style(int sig, sighandler_t disp)
{
	struct sigaction act, old;
	sigset_t set, oset;

	sigemptyset(&set);
	sigaddset(&set, sig);
	if (disp == SIG_HOLD) {
		if (sigprocmask(SIG_BLOCK, &set, &oset) < 0)
			return SIG_ERR;
		if (sigismember(&oset, sig))
			return SIG_HOLD;
		return lc_sig_action(sig, 0, &old) < 0 ? SIG_ERR : old.sa_handler;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = disp;
	sigemptyset(&act.sa_mask);
	if (lc_sig_action(sig, &act, &old) < 0 || sigprocmask(SIG_UNBLOCK, &set, &oset) < 0)
		return SIG_ERR;
	return sigismember(&oset, sig) ? SIG_HOLD : old.sa_handler;
}

sighandler_t lc_sig_signal(int sig, sighandler_t handler, enum lc_sig_style style) /* AS-safe */
{
	struct sigaction act, old;

	if (handler == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	if (style == LC_SIG_SET)
		return sigset_style(sig, handler);
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	if (style == LC_SIG_BSD) {
		/* glibc's signal(): the signal is blocked in its handler, and restarts calls
		 * unless siginterrupt() said otherwise. */
		sigaddset(&act.sa_mask, sig);
		act.sa_flags = (lc_load(&intr) >> sig & 1) ? 0 : SA_RESTART;
	} else if (style == LC_SIG_RESTART) {
		act.sa_flags = SA_RESTART; /* musl's signal(), whatever siginterrupt() said */
	} else {
		act.sa_flags = SA_RESETHAND | SA_NODEFER; /* glibc's sysv_signal() */
	}
	return lc_sig_action(sig, &act, &old) < 0 ? SIG_ERR : old.sa_handler;
}

int lc_sig_interrupt(int sig, int flag) /* AS-safe */
{
	struct sigaction act;

	if (lc_sig_action(sig, 0, &act) < 0)
		return -1;
	if (flag) {
		lc_or(&intr, 1ULL << sig);
		act.sa_flags &= ~SA_RESTART;
	} else {
		lc_and(&intr, ~(1ULL << sig));
		act.sa_flags |= SA_RESTART;
	}
	return lc_sig_action(sig, &act, 0);
}

void lc_sig_arm(bool (*master)(void))
{
	sigset_t mask;
	int sig;

	lock(&mask);
	master_check = master;
	armed = 1;
	for (sig = 1; sig < 64; sig++) {
		if (!lc_sig_is_trigger(sig) || (ours | handed) >> sig & 1)
			continue;
		/* Re-read: a raw rt_sigaction syscall may have bypassed the hooks. */
		lc_real.sigaction(sig, 0, &shadow[sig]);
		if (shadow[sig].sa_handler != SIG_IGN)
			install_ours(sig, SA_RESTART);
	}
	unlock(&mask);
}

/* Waits, 100 ms at most, until thread tid sleeps in a system call (/proc/self/task/TID/syscall
 * starts with its number), where the relay interrupts it: a program's handler that only sets a
 * flag then takes effect (docs/design.md, "Handing the signal back"). Cleanup thread. */
static void wait_in_call(pid_t tid)
{
	struct timespec tick = { 0, 500 * 1000 };
	char path[64], first;
	int in, i;

	if (tid == gettid())
		return;
	lc_format(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	for (i = 0; i < 200; i++) {
		if ((in = lc_open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return;
		if (read(in, &first, 1) != 1)
			first = '0';
		lc_real.close(in);
		if (first >= '0' && first <= '9')
			return;
		nanosleep(&tick, 0);
	}
}

void lc_sig_handback(int sig, const siginfo_t *info)
{
	unsigned long long bit = 1ULL << sig;
	bool handler;
	sigset_t mask;
	int relay;

	lock(&mask);
	/* The init of a pid namespace, a container's entry point, never receives a signal it
	 * leaves at SIG_DFL: the kernel drops it. Such a server would run on, drained, until its
	 * supervisor's SIGKILL; it ends now instead, with the status a container runtime reports
	 * for death by that signal. */
	if (shadow[sig].sa_handler == SIG_DFL && getpid() == 1) {
		lc_log(LC_INFO, "pid 1 with no handler for SIG%s, which the kernel would drop: "
				"exiting with status %d", lc_signal_name(sig), 128 + sig);
		_exit(128 + sig);
	}
	handback_info = *info;
	/* Only a thread may queue a signal with its original siginfo (si_pid, si_code) to
	 * itself, so the signal is sent once more: lastcall's handler catches it on a program
	 * thread and passes it on from there (pass_now). For this delivery, the calls it
	 * interrupts restart or fail with EINTR as the program's own handler would make them. */
	relay = (ours & bit) != 0;
	handler = shadow[sig].sa_handler != SIG_DFL && shadow[sig].sa_handler != SIG_IGN;
	if (relay) {
		install_ours(sig, shadow[sig].sa_flags & SA_RESTART);
		lc_release(&handing_back, sig);
	}
	lc_or(&handed, bit);
	unlock(&mask);
	if (!relay) { /* the program took SIG_IGN meanwhile: its disposition decides */
		lc_real.kill(getpid(), sig);
		return;
	}
	/* To the thread the kernel chose the first time: a program that counts on its main
	 * thread seeing EINTR gets exactly that, even while other threads are busy. If that
	 * thread has ended, to the process. */
	memset(&relay_info, 0, sizeof(relay_info));
	relay_info.si_signo = sig;
	relay_info.si_code = SI_QUEUE;
	relay_info.si_pid = getpid();
	relay_info.si_uid = getuid();
	relay_info.si_value.sival_ptr = &handback_info;
	/* A signal that ends the process goes at once: the program must not go on meanwhile. */
	if (pending_tid && handler)
		wait_in_call(pending_tid);
	if ((!pending_tid ||
	     lc_syscall(SYS_rt_tgsigqueueinfo, getpid(), pending_tid, sig, &relay_info) < 0) &&
	    lc_syscall(SYS_rt_sigqueueinfo, getpid(), sig, &relay_info) < 0) {
		lc_release(&handing_back, 0);
		lc_real.kill(getpid(), sig); /* cannot happen; if it did, a plain signal still ends it */
	}
}

void lc_sig_disarm(void)
{
	sigset_t mask;
	int sig;

	lock(&mask);
	for (sig = 1; sig < 64; sig++)
		if (ours >> sig & 1)
			lc_real.sigaction(sig, &shadow[sig], 0);
	ours = 0;
	armed = 0;
	unlock(&mask);
}

bool lc_sig_handed_over(int sig)
{
	char path[64], buf[2048], *p;
	unsigned long long pending = 0;
	ssize_t n;
	int fd;

	if (lc_acquire(&handing_back))
		return false;
	/* Still pending on that thread (SigPnd): the program blocks it until it is ready. */
	lc_format(path, sizeof(path), "/proc/self/task/%d/status",
		  (int)lc_acquire(&relayed_tid));
	if ((fd = lc_open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return true; /* the thread has ended */
	n = read(fd, buf, sizeof(buf) - 1);
	lc_real.close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	if (!(p = strstr(buf, "\nSigPnd:")))
		return true;
	for (p += 9; *p == ' ' || *p == '\t'; p++)
		;
	for (; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'); p++)
		pending = pending << 4 | (unsigned)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
	return !(pending >> (sig - 1) & 1);
}

bool lc_sig_interrupts(void)
{
	sigset_t mask;
	bool r = false;
	int sig;

	lock(&mask);
	for (sig = 1; sig < 64 && !r; sig++)
		r = shadow[sig].sa_handler != SIG_DFL && shadow[sig].sa_handler != SIG_IGN &&
		    !(shadow[sig].sa_flags & SA_RESTART);
	unlock(&mask);
	return r;
}

bool lc_sig_held(void)
{
	return lc_acquire(&pending_sig) != 0;
}

int lc_sig_pending(siginfo_t *info)
{
	if (!lc_acquire(&pending_ready))
		return 0;
	*info = pending_info;
	return lc_load(&pending_sig);
}

void lc_sig_clear(void)
{
	lc_store(&pending_ready, 0);
	lc_release(&pending_sig, 0);
}

unsigned lc_sig_count(int sig)
{
	return sig > 0 && sig < 64 ? lc_load(&counts[sig]) : 0;
}

void lc_sig_fork_child(void)
{
	lock_word = 0;
	pending_sig = 0;
	pending_ready = 0;
	pending_tid = 0;
	handing_back = 0;
	memset(counts, 0, sizeof(counts));
}

void lc_sig_block_triggers(sigset_t *old)
{
	sigset_t set;

	lc_sig_trigger_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, old);
}
