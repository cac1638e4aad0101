/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "manager.h"
#include "steer-maps.h"
#include "steer.h"

/*
 * The Steering core: which link a Steering call acts on (an sk_lookup link
 * of ours running builtin:steer), its maps, and each change with its log
 * line. The state itself lives in the link's pinned maps (src/lib/steer.h);
 * bus-steering.c only parses, calls these and replies.
 */

/* The maps of the link used last stay open: opening them costs 20 system
 * calls, a third of an AddBinding, and a client usually sends many calls
 * for one link. A link is recognised by its kernel link id, which a detach
 * and attach under the same name changes; a detached link's maps stay open
 * only until the next call names another link. */
typedef struct SteerSetJob SteerSetJob;

typedef struct Steering {
        char key[128];
        uint32_t link_id;
        NlSteer *open;
        /* The link the open maps may grow for (steer-maps.h), set by each
         * steering_open: one call at a time. */
        SteerGrowCtx grow;
        /* SetBindings calls under way (steer-set-job.h). */
        struct SteerSetJob *jobs;
} Steering;

/* Closes the maps kept open. */
void steering_done(Steering *s);

/* The link a call names, with its maps open. */
typedef struct SteerTarget {
        Steering *owner;
        Link *link;
        NlSteer *steer;
} SteerTarget;

/* Finds link name in netns, checks it runs builtin:steer and opens its
 * maps (pinning again map pins removed behind our back), ready to move the
 * link to larger maps when a change needs them (steer_maps_grown). With
 * mutate, the pin root must be usable first, as for every change. */
int steering_open(Steering *s, Manager *m, const char *netns, const char *name, bool mutate, SteerTarget *ret,
                  NlError *e);
/* Closes the target's maps unless they are the ones kept open. */
void steer_target_done(SteerTarget *t);
/* The target's maps, the caller's now (no longer kept open here). */
NlSteer *steer_target_take(SteerTarget *t);

/* One binding as a caller wrote it, not parsed yet. */
typedef struct SteerBindingArgs {
        const char *protocol;
        const char *prefix;
        uint16_t port;
        const char *label;
} SteerBindingArgs;

int steering_add_binding(SteerTarget *t, const SteerBindingArgs *a, NlError *e);
/* a->label is not used. */
int steering_remove_binding(SteerTarget *t, const SteerBindingArgs *a, NlError *e);
/* SetBindings (written by steer-set-job.c): what is said when it starts,
 * the n bindings parsed into *ret (free it; it touches nothing else, so a
 * thread may), and the line said when they replaced the link's. */
void steering_note_set(const SteerTarget *t);
int steering_parse_bindings(const SteerBindingArgs *a, size_t n, NlSteerBinding **ret, NlError *e);
void steering_log_set(const SteerTarget *t, const NlSteerChanges *c);
int steering_register_socket(SteerTarget *t, const char *label, int fd, NlError *e);
int steering_unregister_socket(SteerTarget *t, const char *label, NlError *e);
