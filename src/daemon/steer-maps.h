/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manager.h"

/* The map folders of steer links and who owns them: see steer-maps.c. */

/* A load's own folder for its new maps is made by the pin store
 * (nl_pin_steer_stage). */

/* Moves the folder of prog's new maps (if it has one) to the steer folder
 * of link (ino, name), replacing what a crash left there; from then on the
 * folder is the link's. The caller must hold the name, with no link of it
 * running steer. Returns 1 if moved, 0 if prog uses a link's own maps. */
int steer_maps_publish(Manager *m, NlProgram *prog, uint64_t ino, const char *name, NlError *e);

/* A steer link moved to larger maps by the library (steer.h, growth):
 * its new program is recorded as builtin:steer before the link runs it,
 * and the link's record follows it after. An NlSteerGrowHook; userdata is
 * a SteerGrowCtx that the caller keeps for as long as the NlSteer may grow. */
typedef struct SteerGrowCtx {
        Manager *m;
        Link *link;
} SteerGrowCtx;
int steer_maps_grown(int prog_fd, bool switched, void *userdata, NlError *e);
