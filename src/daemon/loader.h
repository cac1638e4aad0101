/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "error.h"
#include "prog-loader.h"

/*
 * The loader: gets programs, from the cache or by loading them in child
 * processes (src/lib/load-child.c) watched on the daemon's event loop. It
 * owns its jobs, their children and event sources; whoever asked for a
 * program that is not ready is told, through its own callback, when the
 * load ends. It knows nothing of links or of the bus: what a per-link
 * program's maps are (new, or a link's own to keep) is said by the caller.
 */

typedef enum ProgramKind {
        PROGRAM_BUILTIN,
        PROGRAM_FD,
        PROGRAM_PATH,
} ProgramKind;

/* A program as a caller names it. */
typedef struct ProgramSpec {
        ProgramKind kind;
        const char *builtin;
        int fd;
        const char *path;
        const char *program;
} ProgramSpec;

#define LOADER_KEY_MAX 512

typedef struct LoadRequest {
        const ProgramSpec *spec;
        NlAttachType type;
        /* For a per-link builtin (steer): the link the program is for, and
         * reuse_dir, the maps of that link to keep (it runs the builtin
         * already: reuse_link_id is its id), or NULL for new maps. */
        uint64_t ino;
        const char *name;
        const char *reuse_dir;
        uint32_t reuse_link_id;
} LoadRequest;

/* A load the caller waits for has ended: prog (borrowed; take a reference
 * to keep it) or error. A per-link program (exclusive) goes to the first
 * caller that takes it (returns true); the others are called with neither
 * prog nor error, and ask again. */
typedef bool (*loader_ready_fn)(void *userdata, const char *key, NlProgram *prog, const NlError *error,
                                bool exclusive);

typedef struct LoaderHooks {
        /* Makes a new, empty folder in netns ino for a load's new maps. */
        int (*stage)(void *userdata, uint64_t ino, char *buf, size_t size);
        /* A per-link load in netns ino ended: its maps' folder went with a
         * program nobody took, or belongs to one now. */
        void (*ended)(void *userdata, uint64_t ino);
        void *userdata;
} LoaderHooks;

typedef struct Loader Loader;

/* event NULL: every load waits for its child. */
int loader_new(sd_event *event, NlProgCache *cache, int marks_fd, int sources_fd, const LoaderHooks *hooks,
               Loader **ret);
Loader *loader_free(Loader *l);

/*
 * Gets the program req names. Returns 0 with *ret (a new reference) if it
 * is ready; -EINPROGRESS if a load runs for it now: key names the load and
 * on_ready(userdata, key, ...) is called once when it ends. Without
 * on_ready the load is waited for. Otherwise a negative errno with e set.
 */
int loader_get(Loader *l, const LoadRequest *req, loader_ready_fn on_ready, void *userdata, NlProgram **ret,
               char key[LOADER_KEY_MAX], NlError *e);

/* How many spare builtin:steer programs to keep loaded (loader.c), at most
 * LOADER_SPARES_MAX; 0: none. Starts loading them. */
#define LOADER_SPARES_MAX 64
void loader_set_spares(Loader *l, unsigned n);

/* userdata goes away: no load calls it any more. */
void loader_forget(Loader *l, void *userdata);
