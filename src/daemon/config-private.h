/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config-apply.h"
#include "config.h"
#include "hashmap.h"

/* Shared by config-apply.c, config-read.c, config-bindings.c and
 * config-watch.c. */
struct ConfigApply {
        Manager *m;
        char *root;
        /* The links of the batch being made (manager_attach_many), and the
         * file each comes from, for manager's config_of. */
        const LinkRef *refs;
        const char *const *files;
        size_t n_refs;
        /* config-watch.c */
        sd_event_source *sighup, *inotify, *inotify_parent, *retry;
        char **pending;         /* netns names seen appearing, not yet nsfs */
        size_t n_pending;
        uint64_t pending_since;
};

/* Applies the files to these netns of /run/netns alone (a netns that
 * appeared); nothing is detached. */
int config_apply_netns(ConfigApply *c, char **names, size_t n);

/* One apply (config-apply.c runs it). */

/* One readable file of this apply. */
typedef struct ConfigFile {
        NlConfigLink *link;
        ProgramSpec spec;
        char source[128];       /* an object's program source, once computed */
        int source_r;           /* 0: not computed; 1: computed; < 0: failed */
} ConfigFile;

/* One link a file asks for in one netns. */
typedef struct Want {
        ConfigFile *file;
        char *netns;
        uint64_t ino;
        char key[128];
        bool is_new;            /* missing when the apply began */
} Want;

typedef struct Apply {
        ConfigApply *c;
        bool dry_run;
        ConfigResult *res;
        ConfigFile *files;
        size_t n_files;
        Hashmap *refused;       /* path -> 1: files refused this time */
        Hashmap *wants;         /* link key -> Want */
        Want **order;           /* the wants, in file then netns order */
        size_t n_wants;
        bool only;              /* some netns alone: nothing is detached */
        bool incomplete;        /* a folder could not be read: nothing is detached */
} Apply;

void config_add_error(ConfigResult *r, const char *fmt, ...) _printf_(2, 3);

/* Reading the files and matching them to links (config-read.c). */
int config_read_files(Apply *a);
int config_find_wants(Apply *a, char **only, size_t n_only);
int config_runs_program(Apply *a, ConfigFile *f, const Link *l);

/* A steer link's bindings (config-bindings.c). */
int config_apply_bindings(Apply *a, const Want *w, Link *l);
