/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "names.h"
#include "prog-loader.h"
#include "steer-abi.h"

/*
 * The programs compiled into the binaries as libbpf skeletons.
 *
 * A builtin with per-link state (steer) gets its own maps for every link,
 * pinned in map_dir (<pin-root>/<ino>/steer/<link>/); loading it again with
 * the same map_dir reuses the pinned maps, so an Update keeps the state.
 * Stateless builtins (flow) are loaded once and shared through the cache.
 */
typedef struct NlBuiltin {
        const char *name;
        NlAttachType type;
        bool per_link;
        const char *description;
        const char *prog_name;  /* in its BPF object: anyone's program may be called so too */
} NlBuiltin;

const NlBuiltin *nl_builtin_find(const char *name);
const NlBuiltin *nl_builtin_all(size_t *n);

/* Where a per-link builtin's maps come from. */
typedef enum NlMapsMode {
        NL_MAPS_PIN,    /* those pinned in map_dir; the missing ones made and pinned there */
        NL_MAPS_REUSE,  /* those pinned in map_dir, every one: nothing is made */
        NL_MAPS_NONE,   /* new, pinned nowhere (map_dir unused): they live as long as the
                         * program, until someone pins them (a spare, loader.c) */
} NlMapsMode;

/* map_dir is required for per_link builtins and ignored otherwise. */
int nl_builtin_load(NlProgCache *c, const char *name, NlAttachType type, const char *map_dir,
                    NlProgram **ret, NlError *e);
int nl_builtin_load_maps(NlProgCache *c, const char *name, NlAttachType type, const char *map_dir,
                         NlMapsMode mode, NlProgram **ret, NlError *e);

/* builtin:steer's maps are sized by a tier (steer-abi.h): the maps a load
 * makes are the tier's size, the maps it reuses keep theirs (the program
 * follows whatever sizes its maps have). The other loads make maps of
 * NL_STEER_TIER_DEFAULT. */
#define NL_STEER_TIER_DEFAULT 0
int nl_builtin_load_steer(NlProgCache *c, const char *map_dir, NlMapsMode mode, unsigned tier, NlProgram **ret,
                          NlError *e);

/* The program fd alone, for a loader child: nothing is cached. */
int nl_builtin_load_fd(const char *name, NlAttachType type, const char *map_dir, NlMapsMode mode, NlError *e);
/* The same of builtin:steer with new maps of tier pinned in map_dir (a
 * growth's folder, nl_steer_grow_begin). */
int nl_builtin_load_steer_fd(const char *map_dir, unsigned tier, NlError *e);
/* Whether name is a builtin of that type, with the error naming why not
 * (builtin-table.c, which needs no libbpf); get also returns it. */
int nl_builtin_check(const char *name, NlAttachType type, NlError *e);
int nl_builtin_get(const char *name, NlAttachType type, const NlBuiltin **ret, NlError *e);

/* The builtin a program source the daemon gave ("builtin:steer", as
 * nl_program_source() says) names, or NULL. A running program found again
 * after a restart is known by the daemon's record (builtin-marks.h), never
 * by its program name, which anyone may give theirs. */
const NlBuiltin *nl_builtin_from_source(const char *source);
