/* SPDX-License-Identifier: MIT */
/* state.c: the process-wide state variables (state.h says who writes each). */
#include "lastcall/state.h"

int lc_ready;
int lc_off;
int lc_armed;
int lc_hot;
int lc_draining;
pid_t lc_pid;
pid_t lc_thread_pid;
int lc_helper;
pid_t lc_helper_parent;
pid_t lc_sig_sender;
pid_t lc_server_parent;
