/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "error.h"
#include "steering.h"

/*
 * A SetBindings whose set needs larger maps than its link has (steer.h,
 * growth). Loading the larger program (the verifier, the kernel's BTF)
 * takes 100 to 300 ms: it runs in a child process (load-child.h) while the
 * loop serves every other client, and the call then runs again from the
 * top (sd_bus_enqueue_for_read), as calls that wait for a load do
 * (bus-manager.c): it finds its growth done, moves the link to the new
 * maps and writes its set there. Until then the link takes no other
 * change: those calls are refused, saying why; reads are served.
 */

/* Starts the growth of t's link to tier for msg, which waits without a
 * reply: returns 1, or a negative errno with e set. */
int steer_growing_start(Steering *s, sd_bus_message *msg, SteerTarget *t, unsigned tier, NlError *e);
/* For msg running again: if it waited for a growth, ends it (the link
 * moved to the new maps, or e says why not) and returns 1, or the
 * growth's error; 0 if msg waited for none. */
int steer_growing_resume(Steering *s, sd_bus_message *msg, SteerTarget *t, NlError *e);
/* Fails with e set if a call other than msg grows t's link now. */
int steer_growing_check(Steering *s, sd_bus_message *msg, const SteerTarget *t, NlError *e);
/* Whether msg waits for a growth's load. */
bool steer_growing_is_waiting(Steering *s, sd_bus_message *msg);
/* msg ran again but failed before steer_growing_resume (its link went):
 * its growth goes, with its folder. */
void steer_growing_forget(Steering *s, sd_bus_message *msg);
/* Ends every growth (their children killed) without a reply. */
void steer_growing_drop(Steering *s);
