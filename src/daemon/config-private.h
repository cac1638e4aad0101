/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config-apply.h"

/* Shared by config-apply.c and config-watch.c. */
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
