/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "error.h"
#include "steering.h"

/*
 * A SetBindings, off the daemon's loop. Writing a set of thousands of
 * bindings costs tens of ms to seconds of system calls, and a set that
 * needs larger maps loads a larger program first (the verifier, the
 * kernel's BTF: 100 to 300 ms): every other client would wait that long.
 * So the call waits without a reply while the work runs elsewhere, the
 * loop serving on:
 *   - the set is written by a thread of its own, on maps nothing else
 *     writes meanwhile (the library call, steer.h, touches nothing but
 *     them);
 *   - if it needs larger maps, the thread writes nothing and the larger
 *     program is loaded in a child process (load-child.h); the link moves
 *     to it on the loop (the growth's records are the Manager's), and the
 *     set is then written by a thread;
 * and after each step the call runs again from the top
 * (sd_bus_enqueue_for_read), as calls that wait for a load do
 * (bus-manager.c), finding its link anew: one detached meanwhile fails it.
 * Until the reply the link takes no other change: those calls, and the
 * configuration's, are refused, saying why; reads are served.
 */

/* Runs msg's SetBindings of the n bindings a on t's link, or the next step
 * of it if it ran before: 1 if it waits (no reply yet), 0 when done (c
 * says what changed), or a negative errno with e set. */
int steer_set_job_run(Steering *s, sd_bus_message *msg, SteerTarget *t, const SteerBindingArgs *a, size_t n,
                      NlSteerChanges *c, NlError *e);
/* A set this small is written on the loop when it can be without waiting
 * (a link's first set: a pod's): a few map writes, cheaper than the
 * thread's start and the call's second run. */
#define STEER_SET_INLINE_MAX 16

/* The first bindings of t's link, made by this very call (Attach's
 * "bindings", bus-parse.h), written on the loop: a new link's first set
 * needs no wait. Returns 0, or a negative errno with e set. */
int steer_set_first(SteerTarget *t, const SteerBindingArgs *a, size_t n, NlError *e);
/* Fails with e set if a SetBindings other than msg changes t's link now. */
int steer_set_job_check(Steering *s, sd_bus_message *msg, const SteerTarget *t, NlError *e);
/* Whether msg waits for a step of its SetBindings. */
bool steer_set_job_is_waiting(Steering *s, sd_bus_message *msg);
/* msg ran again but failed before steer_set_job_run (its link went): its
 * SetBindings ends. */
void steer_set_job_forget(Steering *s, sd_bus_message *msg);
/* Ends every SetBindings without a reply: waits for their threads, kills
 * their children. */
void steer_set_job_drop(Steering *s);
