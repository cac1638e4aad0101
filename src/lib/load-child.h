/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "error.h"

/*
 * Loading a BPF object runs libbpf's ELF parser on outside input and the
 * verifier for as long as the program makes it: both happen in a child
 * process. A crash there (a libbpf bug on a hostile object) costs the child,
 * not the daemon, and the daemon keeps serving while it waits. The child
 * hands back only the loaded program's fd (SCM_RIGHTS); the program keeps
 * its maps alive in the kernel. The child keeps none of the parent's fds
 * (only its answer socket), so nothing the daemon closes stays alive for as
 * long as a load runs: a client's socket, a netns, a link.
 */

/* Runs in the child; returns a program fd or a negative errno with e set. */
typedef int (*nl_load_fn)(void *arg, NlError *e);

/* Forks a child running fn(arg). *ret_sock becomes readable (or hangs up)
 * when the child is done. */
int nl_load_child_start(nl_load_fn fn, void *arg, pid_t *ret_pid, int *ret_sock, NlError *e);

/* Collects the child's answer: a program fd, or its error. Reaps the child,
 * killing it first if it has not answered. Closes sock. */
int nl_load_child_finish(pid_t pid, int sock, int *ret_fd, NlError *e);

/* Both, waiting for the child. */
int nl_load_child_run(nl_load_fn fn, void *arg, int *ret_fd, NlError *e);
