/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "error.h"

/*
 * Loading a BPF object runs libbpf's ELF parser on outside input and the
 * verifier for as long as the program makes it: both happen in a child
 * process. A crash there (a libbpf bug on a hostile object) costs the child,
 * not the daemon, and the daemon keeps serving while it waits. The child
 * hands back only the loaded program's fd (SCM_RIGHTS) and a short note;
 * the program keeps its maps alive in the kernel. The child keeps none of
 * the parent's fds (only its answer socket, and the one fd it is given), so
 * nothing the daemon closes stays alive for as long as a load runs: a
 * client's socket, a netns, a link.
 */

/* The fd number, in the child, of the fd passed to it. */
#define NL_LOAD_CHILD_FD 4
/* What a child may say besides the program (a cache key, say). */
#define NL_LOAD_NOTE_MAX 1024

/* Runs in the child; returns a program fd, with note (NL_LOAD_NOTE_MAX
 * bytes, zeroed) filled as it likes, or a negative errno with e set. */
typedef int (*nl_load_fn)(void *arg, char *note, NlError *e);

/* Forks a child running fn(arg); pass_fd (if >= 0) is its
 * NL_LOAD_CHILD_FD. *ret_sock becomes readable (or hangs up) when the child
 * is done. */
int nl_load_child_start(nl_load_fn fn, void *arg, int pass_fd, pid_t *ret_pid, int *ret_sock, NlError *e);

/* In the child: ends it if it has not called this again with 0 within sec
 * seconds (SIGALRM), as for a read that may never end; the parent gets
 * -ETIMEDOUT. */
void nl_load_child_deadline(unsigned sec);

/* Collects the child's answer: a program fd and its note (if note is not
 * NULL), or its error. Reaps the child, killing it first if it has not
 * answered. Closes sock. */
int nl_load_child_finish(pid_t pid, int sock, int *ret_fd, char *note, NlError *e);

/* Both, waiting for the child. */
int nl_load_child_run(nl_load_fn fn, void *arg, int pass_fd, int *ret_fd, char *note, NlError *e);
