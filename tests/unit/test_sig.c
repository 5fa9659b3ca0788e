/* SPDX-License-Identifier: MIT */
/* test_sig: the shadow table. lc_real.sigaction is a fake kernel table, so the test sees what
 * lastcall installs for real and what the program is told; re-delivery is real (the signal is
 * blocked in the test and collected with sigtimedwait). */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastcall/real.h"
#include "lastcall/sig.h"
#include "lastcall/state.h"
#include "lastcall/wake.h"

struct lc_real lc_real;
pid_t lc_pid;
pid_t lc_thread_pid;
pid_t lc_sig_sender;
int lc_armed;
int lc_draining;

static int pokes, master_asks;

void lc_wake_poke(void)
{
	pokes++;
}

/* Asked by the handler whether the process is a master: only for the first signal, and only
 * when the program has a handler of its own. */
static bool master(void)
{
	master_asks++;
	return false;
}

/* The fake kernel: one disposition per signal, as glibc's sigaction would store it. */
static struct sigaction kernel[65];
static int real_calls;

static int fake_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	real_calls++;
	if (sig < 1 || sig > 64 || sig == SIGKILL || sig == SIGSTOP) {
		errno = EINVAL;
		return -1;
	}
	if (old)
		*old = kernel[sig];
	if (act) {
		kernel[sig] = *act;
		kernel[sig].sa_flags |= 0x04000000; /* SA_RESTORER, as glibc adds it */
		kernel[sig].sa_restorer = (void (*)(void))0x1234;
	}
	return 0;
}

static void handler_a(int sig)
{
	(void)sig;
}

static void handler_b(int sig)
{
	(void)sig;
}

static int setup(void **state)
{
	sigset_t block;

	(void)state;
	memset(kernel, 0, sizeof(kernel));
	lc_real.sigaction = fake_sigaction;
	lc_pid = getpid();
	lc_thread_pid = getpid();
	pokes = real_calls = master_asks = 0;
	lc_sig_clear();
	lc_sig_fork_child(); /* resets the counters */
	lc_sig_init((1ULL << SIGTERM) | (1ULL << SIGINT));
	/* Re-delivered signals stay pending here, for sigtimedwait. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	return 0;
}

static int is_ours(int sig)
{
	return (kernel[sig].sa_flags & SA_SIGINFO) && kernel[sig].sa_handler != handler_a &&
	       kernel[sig].sa_handler != handler_b && kernel[sig].sa_handler != SIG_DFL &&
	       kernel[sig].sa_handler != SIG_IGN;
}

static void test_sig_passthrough_before_arm(void **state)
{
	struct sigaction act = { .sa_handler = handler_a }, old;

	(void)state;
	assert_int_equal(lc_sig_action(SIGTERM, &act, &old), 0);
	assert_ptr_equal(old.sa_handler, SIG_DFL);
	assert_ptr_equal(kernel[SIGTERM].sa_handler, handler_a); /* the real table changed */
	assert_ptr_equal(lc_sig_signal(SIGTERM, handler_b, LC_SIG_BSD), handler_a);
	assert_ptr_equal(kernel[SIGTERM].sa_handler, handler_b);
}

static void test_sig_arm_installs_ours_and_keeps_shadow(void **state)
{
	struct sigaction act = { .sa_handler = handler_a }, old;

	(void)state;
	lc_sig_action(SIGTERM, &act, NULL);
	lc_sig_arm(master);
	assert_true(is_ours(SIGTERM));
	assert_true(is_ours(SIGINT));
	assert_true(kernel[SIGTERM].sa_flags & SA_RESTART); /* the program's calls restart */
	assert_true(sigismember(&kernel[SIGTERM].sa_mask, SIGINT));
	/* The program is told its own disposition... */
	assert_int_equal(lc_sig_action(SIGTERM, NULL, &old), 0);
	assert_ptr_equal(old.sa_handler, handler_a);
	assert_int_equal(lc_sig_action(SIGINT, NULL, &old), 0);
	assert_ptr_equal(old.sa_handler, SIG_DFL);
	/* ...and its changes go to the shadow, not the kernel. */
	act.sa_handler = handler_b;
	act.sa_flags = SA_RESETHAND;
	assert_int_equal(lc_sig_action(SIGTERM, &act, &old), 0);
	assert_ptr_equal(old.sa_handler, handler_a);
	assert_true(is_ours(SIGTERM));
	assert_ptr_equal(lc_sig_signal(SIGTERM, SIG_DFL, LC_SIG_BSD), handler_b);
	assert_ptr_equal(lc_sig_signal(SIGTERM, handler_a, LC_SIG_SYSV), SIG_DFL);
	lc_sig_action(SIGTERM, NULL, &old);
	assert_int_equal(old.sa_flags & (SA_RESETHAND | SA_NODEFER), SA_RESETHAND | SA_NODEFER);
}

static void test_sig_ignore_is_respected(void **state)
{
	struct sigaction old;

	(void)state;
	lc_sig_arm(master);
	assert_true(is_ours(SIGTERM));
	/* The program ignores SIGTERM: so does the kernel, and no drain can start from it. */
	assert_ptr_equal(lc_sig_signal(SIGTERM, SIG_IGN, LC_SIG_BSD), SIG_DFL);
	assert_ptr_equal(kernel[SIGTERM].sa_handler, SIG_IGN);
	lc_sig_action(SIGTERM, NULL, &old);
	assert_ptr_equal(old.sa_handler, SIG_IGN);
	/* It takes a handler again: lastcall's goes back under it. */
	assert_ptr_equal(lc_sig_signal(SIGTERM, handler_a, LC_SIG_BSD), SIG_IGN);
	assert_true(is_ours(SIGTERM));
	lc_sig_action(SIGTERM, NULL, &old);
	assert_ptr_equal(old.sa_handler, handler_a);
}

static void test_sig_inherited_ignore_not_armed(void **state)
{
	(void)state;
	kernel[SIGINT].sa_handler = SIG_IGN; /* as nohup or a shell's "&" leaves it */
	lc_sig_init((1ULL << SIGTERM) | (1ULL << SIGINT));
	lc_sig_arm(master);
	assert_ptr_equal(kernel[SIGINT].sa_handler, SIG_IGN);
	assert_true(is_ours(SIGTERM));
}

static void test_sig_signal_styles(void **state)
{
	struct sigaction old;
	sigset_t mask;

	(void)state;
	lc_sig_arm(master);
	lc_sig_signal(SIGTERM, handler_a, LC_SIG_BSD);
	lc_sig_action(SIGTERM, NULL, &old);
	assert_true(old.sa_flags & SA_RESTART);
	assert_true(sigismember(&old.sa_mask, SIGTERM));
	assert_int_equal(lc_sig_interrupt(SIGTERM, 1), 0);
	lc_sig_action(SIGTERM, NULL, &old);
	assert_false(old.sa_flags & SA_RESTART);
	lc_sig_signal(SIGTERM, handler_b, LC_SIG_BSD); /* signal() now omits SA_RESTART too */
	lc_sig_action(SIGTERM, NULL, &old);
	assert_false(old.sa_flags & SA_RESTART);
	lc_sig_interrupt(SIGTERM, 0);
	/* sigset(SIG_HOLD) blocks, sigset(handler) unblocks and reports SIG_HOLD. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &mask, NULL);
	assert_ptr_equal(lc_sig_signal(SIGTERM, SIG_HOLD, LC_SIG_SET), handler_b);
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	assert_true(sigismember(&mask, SIGTERM));
	assert_ptr_equal(lc_sig_signal(SIGTERM, handler_a, LC_SIG_SET), SIG_HOLD);
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	assert_false(sigismember(&mask, SIGTERM));
	assert_true(is_ours(SIGTERM));
	errno = 0;
	assert_ptr_equal(lc_sig_signal(SIGTERM, SIG_ERR, LC_SIG_BSD), SIG_ERR);
	assert_int_equal(errno, EINVAL);
}

/* musl's signal(), bsd_signal() and __sysv_signal() (LC_SIG_RESTART): calls restart, whatever
 * siginterrupt() said before, and the handler stays installed. */
static void test_sig_signal_restart_style(void **state)
{
	struct sigaction old;

	(void)state;
	lc_sig_arm(master);
	assert_int_equal(lc_sig_interrupt(SIGTERM, 1), 0);
	assert_ptr_equal(lc_sig_signal(SIGTERM, handler_a, LC_SIG_RESTART), SIG_DFL);
	lc_sig_action(SIGTERM, NULL, &old);
	assert_ptr_equal(old.sa_handler, handler_a);
	assert_true(old.sa_flags & SA_RESTART);
	assert_false(old.sa_flags & (SA_RESETHAND | SA_NODEFER));
	assert_true(is_ours(SIGTERM));
	lc_sig_interrupt(SIGTERM, 0);
}

static void test_sig_errno_preserved(void **state)
{
	struct sigaction act = { .sa_handler = handler_a };

	(void)state;
	errno = 1234;
	assert_int_equal(lc_sig_action(SIGTERM, &act, NULL), 0);
	assert_int_equal(errno, 1234);
	lc_sig_arm(master);
	assert_int_equal(lc_sig_action(SIGTERM, &act, NULL), 0);
	assert_int_equal(errno, 1234);
}

/* Calls the handler lastcall installed, as the kernel would. */
static void deliver(int sig, pid_t from)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	info.si_signo = sig;
	info.si_code = SI_USER;
	info.si_pid = from;
	info.si_uid = getuid();
	kernel[sig].sa_sigaction(sig, &info, NULL);
}

static void test_sig_handler_records_first_and_counts(void **state)
{
	siginfo_t info;

	(void)state;
	lc_sig_arm(master);
	errno = 77;
	deliver(SIGTERM, 4242);
	assert_int_equal(errno, 77);
	deliver(SIGINT, 4343);
	deliver(SIGTERM, 4444);
	assert_int_equal(pokes, 3);
	assert_int_equal(master_asks, 0); /* SIG_DFL: no handler of the program's, no master */
	assert_int_equal(lc_sig_pending(&info), SIGTERM);
	assert_int_equal(info.si_pid, 4242); /* the first one's siginfo */
	assert_int_equal(lc_sig_sender, 4444); /* and the latest one's sender */
	assert_int_equal(lc_sig_count(SIGTERM), 2);
	assert_int_equal(lc_sig_count(SIGINT), 1);
	lc_sig_clear();
	assert_int_equal(lc_sig_pending(&info), 0);
}

/* With a handler of the program's, the first signal asks whether the process is a master (which
 * holds its workers at once); later ones, a drain being pending, do not. */
static void test_sig_handler_asks_master_once(void **state)
{
	struct sigaction act = { .sa_handler = handler_a };
	siginfo_t info;

	(void)state;
	lc_sig_action(SIGTERM, &act, NULL);
	lc_sig_arm(master);
	deliver(SIGTERM, 4242);
	deliver(SIGTERM, 4343);
	assert_int_equal(master_asks, 1);
	assert_int_equal(lc_sig_pending(&info), SIGTERM); /* still a drain, as for any server */
	lc_sig_clear();
}

static int collect(int sig, siginfo_t *info)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	return sigtimedwait(&set, info, &zero);
}

static void test_sig_handback_restores_and_redelivers(void **state)
{
	struct sigaction act = { .sa_handler = handler_a }, old;
	siginfo_t info, got;

	(void)state;
	act.sa_flags = SA_RESETHAND; /* and no SA_RESTART */
	lc_sig_action(SIGTERM, &act, NULL);
	lc_sig_arm(master);
	memset(&info, 0, sizeof(info));
	info.si_signo = SIGTERM;
	info.si_code = SI_USER;
	info.si_pid = 31337;
	info.si_uid = 4321;
	lc_sig_handback(SIGTERM, &info);
	/* Sent once more, to the process; lastcall's handler is still in place, now with the
	 * program's restart semantics for the calls this delivery interrupts. */
	assert_true(is_ours(SIGTERM));
	assert_false(kernel[SIGTERM].sa_flags & SA_RESTART);
	assert_int_equal(collect(SIGTERM, &got), SIGTERM);
	assert_int_equal(got.si_pid, getpid());
	assert_int_equal(got.si_code, SI_QUEUE);
	/* Someone else's SIGTERM lands first: it joins the one being handed back. */
	deliver(SIGTERM, 4040);
	assert_int_equal(pokes, 0);
	assert_true(is_ours(SIGTERM));
	assert_int_equal(collect(SIGTERM, &info), -1);
	/* The relay lands on a program thread: lastcall passes it on with the original
	 * siginfo. */
	kernel[SIGTERM].sa_sigaction(SIGTERM, &got, NULL);
	assert_int_equal(pokes, 0); /* not mistaken for a new trigger */
	assert_ptr_equal(kernel[SIGTERM].sa_handler, handler_a);
	assert_true(kernel[SIGTERM].sa_flags & SA_RESETHAND);
	assert_int_equal(collect(SIGTERM, &got), SIGTERM);
	assert_int_equal(got.si_pid, 31337);
	assert_int_equal(got.si_uid, 4321);
	/* Handed back for good: later changes go straight to the kernel. */
	lc_sig_signal(SIGTERM, handler_b, LC_SIG_BSD);
	assert_ptr_equal(kernel[SIGTERM].sa_handler, handler_b);
	lc_sig_action(SIGTERM, NULL, &old);
	assert_ptr_equal(old.sa_handler, handler_b);
}

static void test_sig_without_thread_passes_at_once(void **state)
{
	siginfo_t got;

	(void)state;
	lc_sig_signal(SIGTERM, handler_a, LC_SIG_BSD);
	lc_sig_arm(master);
	lc_thread_pid = getpid() + 1; /* as in a fork child before its thread exists */
	deliver(SIGTERM, 5151);
	assert_int_equal(pokes, 0);
	assert_ptr_equal(kernel[SIGTERM].sa_handler, handler_a);
	assert_int_equal(collect(SIGTERM, &got), SIGTERM);
	assert_int_equal(got.si_pid, 5151);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sig_passthrough_before_arm, setup),
		cmocka_unit_test_setup(test_sig_arm_installs_ours_and_keeps_shadow, setup),
		cmocka_unit_test_setup(test_sig_ignore_is_respected, setup),
		cmocka_unit_test_setup(test_sig_inherited_ignore_not_armed, setup),
		cmocka_unit_test_setup(test_sig_signal_styles, setup),
		cmocka_unit_test_setup(test_sig_signal_restart_style, setup),
		cmocka_unit_test_setup(test_sig_errno_preserved, setup),
		cmocka_unit_test_setup(test_sig_handler_records_first_and_counts, setup),
		cmocka_unit_test_setup(test_sig_handler_asks_master_once, setup),
		cmocka_unit_test_setup(test_sig_handback_restores_and_redelivers, setup),
		cmocka_unit_test_setup(test_sig_without_thread_passes_at_once, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
