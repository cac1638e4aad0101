/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manager.h"

/* The map folders of steer links and who owns them: see steer-maps.c. */

/* <root>/<ino>/steer/new@<16 hex digits>: a load's own folder. */
#define STEER_STAGING_PREFIX "new@"

/* Whether a name in <root>/<ino>/steer/ is a load's folder, not a link's. */
bool steer_maps_is_staging(const char *name);

/* Makes a new, empty folder for a load's maps and puts its path in buf. */
int steer_maps_stage(Manager *m, uint64_t ino, char *buf, size_t size);

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
